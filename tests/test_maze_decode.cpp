// Maze path metrics (docs/TASKS.md §8, issue 8): exact and valid paths scored on BFS paths,
// detours, jumps, truncations and foreign tokens; any shortest path is exact in a maze with cycles;
// greedy decoding through the Predictor call (stop, cap, independence of the batch size); iterative
// unmasking (commit order by confidence, passes, batch size); the BFS reference scores 1 under
// both decoders and a corrupted one less (a reversed oracle 0); per-token accuracy of decoded
// paths; a tiny maze benchmark writes the path metrics into results.h5 and the summary table.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "baselines/baseline.h"
#include "eval/evaluate.h"
#include "eval/results.h"
#include "eval/streams.h"
#include "io/h5.h"
#include "run/run_benchmark.h"
#include "tasks/maze_decode.h"
#include "tasks/maze_paths.h"
#include "tasks/maze_task.h"
#include "tasks/token_task.h"
#include "tests/errors.h"
#include "tests/prompts.h"

namespace icl {
namespace {

namespace fs = std::filesystem;
using testing::HasSubstr;

const RngKey kKey{11, stream_id("maze-decode-test")};
constexpr int64_t kMaxN = 8;

Maze maze(int n, int64_t i, double extra = 0.0) {
  Rng rng(kKey, uint64_t(i));
  return generate_maze(n, rng, extra);
}

// The tokens a decoder would generate for `path`, ended by END unless `end` is false.
std::vector<int32_t> tokens_of(const std::vector<int>& path, int n, bool end = true) {
  const MazeTokens t = maze_tokens(kMaxN);
  std::vector<int32_t> out;
  for (int c : path) out.push_back(t.cell(c, n));
  if (end) out.push_back(t.end);
  return out;
}

bool exact(const Maze& m, const std::vector<int32_t>& g) {
  return score_maze_path(m, g, maze_tokens(kMaxN)).exact;
}
bool valid(const Maze& m, const std::vector<int32_t>& g) {
  return score_maze_path(m, g, maze_tokens(kMaxN)).valid;
}
bool first_move(const Maze& m, const std::vector<int32_t>& g) {
  return score_maze_path(m, g, maze_tokens(kMaxN)).first_move;
}

// A maze (a tree) whose BFS path has at least `len` cells and passes a side branch at some cell.
struct Fixture {
  Maze m;
  std::vector<int> path;
  size_t at = 0;  // path[at] has an open neighbour off the path
  int side = -1;
};

Fixture tree_with_branch(int n) {
  for (int64_t i = 0;; ++i) {
    Fixture f{maze(n, i), {}, 0, -1};
    f.path = shortest_path(f.m);
    if (f.path.size() < 4) continue;
    for (size_t k = 1; k + 1 < f.path.size() && f.side < 0; ++k) {
      int nb[4];
      const int c = f.m.neighbours(f.path[k], nb);
      for (int j = 0; j < c; ++j)
        if (nb[j] != f.path[k - 1] && nb[j] != f.path[k + 1]) {
          f.at = k;
          f.side = nb[j];
          break;
        }
    }
    if (f.side >= 0) return f;
  }
}

TEST(MazePathScore, BfsPathsAreExactAndValid) {
  for (int n : {2, 3, 5, 8})
    for (int64_t i = 0; i < 20; ++i) {
      const Maze m = maze(n, i);
      const auto g = tokens_of(shortest_path(m), n);
      EXPECT_TRUE(exact(m, g)) << n << " " << i;
      EXPECT_TRUE(valid(m, g)) << n << " " << i;
      EXPECT_TRUE(first_move(m, g)) << n << " " << i;
    }
}

// first_move: the origin and the BFS path's next cell, whatever follows; a wrong first step (into
// another open neighbour of the origin, or back to the origin) or a wrong origin is not.
TEST(MazePathScore, FirstMoveIsTheOriginAndTheNextCell) {
  const MazeTokens t = maze_tokens(kMaxN);
  int checked = 0;
  for (int64_t i = 0; i < 200 && checked < 20; ++i) {
    const Maze m = maze(6, i);
    const std::vector<int> path = shortest_path(m);
    if (path.size() < 3) continue;
    auto g = tokens_of(path, 6);
    g.resize(2);  // the rest does not matter
    EXPECT_TRUE(first_move(m, g)) << i;
    int nb[4];
    const int c = m.neighbours(path[0], nb);
    for (int j = 0; j < c; ++j)
      if (nb[j] != path[1]) {
        EXPECT_FALSE(first_move(m, tokens_of({path[0], nb[j]}, 6))) << i;
        ++checked;
      }
    EXPECT_FALSE(first_move(m, tokens_of({path[0], path[0]}, 6))) << i;
    EXPECT_FALSE(first_move(m, tokens_of({path[1], path[1]}, 6))) << i;
    EXPECT_FALSE(first_move(m, {t.cell(path[0], 6)})) << i;  // nothing after the origin
  }
  EXPECT_GE(checked, 20);
}

TEST(MazePathScore, DetoursAreValidButNotExact) {
  const Fixture f = tree_with_branch(6);
  std::vector<int> detour(f.path.begin(), f.path.begin() + long(f.at) + 1);
  detour.push_back(f.side);
  detour.insert(detour.end(), f.path.begin() + long(f.at), f.path.end());
  EXPECT_TRUE(valid(f.m, tokens_of(detour, 6)));
  EXPECT_FALSE(exact(f.m, tokens_of(detour, 6)));
  EXPECT_TRUE(first_move(f.m, tokens_of(detour, 6)));  // the detour leaves at path[at], at >= 1
  // Stepping in place is no legal move.
  std::vector<int> stutter = f.path;
  stutter.insert(stutter.begin() + 1, f.path[0]);
  EXPECT_FALSE(valid(f.m, tokens_of(stutter, 6)));
}

TEST(MazePathScore, JumpsTruncationsAndForeignTokensAreNeither) {
  const Fixture f = tree_with_branch(6);
  const auto both = [&](const std::vector<int32_t>& g) { return exact(f.m, g) || valid(f.m, g); };
  std::vector<int> jump = f.path;
  jump.erase(jump.begin() + 1);  // skips a cell: origin to a cell two steps away
  EXPECT_FALSE(both(tokens_of(jump, 6)));
  std::vector<int> through_wall = f.path;
  through_wall[1] = f.side;  // a side neighbour of a later cell, not of the origin in general
  if (!f.m.connected(f.path[0], f.side) || !f.m.connected(f.side, f.path[2])) {
    EXPECT_FALSE(both(tokens_of(through_wall, 6)));
  }
  const std::vector<int> truncated(f.path.begin(), f.path.end() - 1);
  EXPECT_FALSE(both(tokens_of(truncated, 6)));      // stops short of the target
  EXPECT_FALSE(both(tokens_of(f.path, 6, false)));  // never says END
  EXPECT_FALSE(both(tokens_of({}, 6)));             // END at once
  std::vector<int> past = f.path;
  past.push_back(f.path[f.path.size() - 2]);  // walks on after the target
  EXPECT_FALSE(both(tokens_of(past, 6)));
  const MazeTokens t = maze_tokens(kMaxN);
  auto marker = tokens_of(f.path, 6);
  marker.insert(marker.begin() + 1, t.sep);
  EXPECT_FALSE(both(marker));
  auto outside = tokens_of(f.path, 6);
  outside[1] = int32_t(6 * kMaxN + 7);  // row 6, column 7: a cell of a larger grid only
  EXPECT_FALSE(both(outside));
  // What follows END is not part of the path.
  auto tail = tokens_of(f.path, 6);
  tail.push_back(t.sep);
  EXPECT_TRUE(exact(f.m, tail));
}

TEST(MazePathScore, AnyShortestPathIsExactWithCycles) {
  int found = 0;
  for (int64_t i = 0; i < 200 && found < 5; ++i) {
    const Maze m = maze(6, i, 0.4);
    if (count_shortest_paths(m) < 2) continue;
    // Walk towards the target taking the last closer neighbour, not the first as BFS does.
    const std::vector<int> d = maze_distances(m, m.target);
    std::vector<int> other{m.origin};
    while (other.back() != m.target) {
      int nb[4];
      const int k = m.neighbours(other.back(), nb);
      int next = -1;
      for (int j = 0; j < k; ++j)
        if (d[size_t(nb[j])] == d[size_t(other.back())] - 1) next = nb[j];
      other.push_back(next);
    }
    if (other == shortest_path(m)) continue;
    ++found;
    EXPECT_TRUE(exact(m, tokens_of(other, 6))) << i;
    EXPECT_TRUE(exact(m, tokens_of(shortest_path(m), 6))) << i;
  }
  EXPECT_GT(found, 0);
}

// ------------------------------------------------------------------------------------------------
// Decoding through the Predictor call.

class Scripted : public Predictor {
 public:
  // Scores token (last token + step) mod V: a predictor whose answer depends on its input.
  explicit Scripted(int64_t V, int32_t step) : V_(V), step_(step) {}
  std::string label() const override { return "scripted"; }
  std::string name() const override { return "scripted"; }
  const char* kind() const override { return "baseline"; }
  const ParamSet& params() const override { return params_; }
  std::vector<float> predict(const PromptBatch& batch) const override {
    const TokenPrompts& pb = batch.as<TokenPrompts>("test predictor");
    ++calls;
    std::vector<float> out(size_t(pb.batch * pb.seq_len * V_), 0.f);
    for (int64_t i = 0; i < pb.batch * pb.seq_len; ++i)
      out[size_t(i * V_ + (pb.tokens[size_t(i)] + step_) % V_)] = 1.f;
    return out;
  }
  mutable int calls = 0;

 private:
  int64_t V_;
  int32_t step_;
  ParamSet params_;
};

TEST(GreedyDecode, StopsAtTheStopTokenOrTheCapWhateverTheBatchSize) {
  const Scripted counter(10, 1);
  const std::vector<std::vector<int32_t>> prefixes{{0, 3}, {5}, {1, 1, 1, 8}, {9, 9, 7}};
  // From its last token each prefix counts up by one; 7 is the stop token.
  const std::vector<std::vector<int32_t>> want{
      {4, 5, 6, 7}, {6, 7}, {9, 0, 1, 2, 3, 4}, {8, 9, 0, 1, 2, 3}};
  for (int64_t bs : {1, 3, 4, 256}) {
    const auto got = greedy_decode(counter, prefixes, 7, 9, 6, 2, bs);
    EXPECT_EQ(got, want) << "batch size " << bs;
  }
  EXPECT_EQ(greedy_decode(counter, prefixes, 7, 9, 0, 2), std::vector<std::vector<int32_t>>(4));
}

std::unique_ptr<Task> maze_task(const std::string& objective = "next_token", int64_t per_step = 1) {
  return make_task("maze", {{"min_length", "2"},
                            {"max_length", std::to_string(kMaxN)},
                            {"max_n", std::to_string(kMaxN)},
                            {"objective", objective},
                            {"unmask_per_step", std::to_string(per_step)}});
}

TokenPrompts maze_batch(int64_t n, int64_t B, const Task& task) {
  return test::take<TokenPrompts>(task.sample(kKey.sub("batch"), 0, B, n));
}

// The BFS reference with its answer at the origin cut short (END right after the origin) for
// origins whose token is even: those paths are neither exact nor valid.
class CutShort : public Predictor {
 public:
  explicit CutShort(const Predictor& bfs) : bfs_(bfs) {}
  std::string label() const override { return "cut_short"; }
  std::string name() const override { return "cut_short"; }
  const char* kind() const override { return "baseline"; }
  const ParamSet& params() const override { return bfs_.params(); }
  std::vector<float> predict(const PromptBatch& batch) const override {
    const TokenPrompts& pb = batch.as<TokenPrompts>("test predictor");
    std::vector<float> z = bfs_.predict(PromptBatch(pb));
    const MazeTokens t = maze_tokens(kMaxN);
    const int64_t T = pb.seq_len, V = maze_vocab(kMaxN);
    for (int64_t b = 0; b < pb.batch; ++b) {
      const int32_t* row = pb.tokens.data() + b * T;
      const int64_t path = std::find(row, row + T, t.path) - row;
      if (path + 1 < T && row[path + 1] % 2 == 0) z[size_t((b * T + path + 1) * V + t.end)] = 2.f;
    }
    return z;
  }

 private:
  const Predictor& bfs_;
};

TEST(MazePathScores, BfsReferenceIsExactAndACorruptedOneIsNot) {
  const auto bfs = make_baseline("maze_bfs", {});
  const MazeTokens t = maze_tokens(kMaxN);
  const auto task = maze_task();
  for (int64_t n : {2, 4, 7}) {
    const TokenPrompts pb = maze_batch(n, 24, *task);
    const std::vector<float> z = bfs->predict(PromptBatch(pb));
    const int64_t V = maze_vocab(kMaxN);
    for (int64_t b = 0; b < pb.batch; ++b)  // teacher forced: every path token right
      EXPECT_DOUBLE_EQ(scaled_accuracy(pb, b, z.data() + b * pb.seq_len * V, V, V - 2), 1.0);
    for (const PathScore& s : maze_path_scores(*bfs, pb, *task)) {
      EXPECT_TRUE(s.exact) << n;
      EXPECT_TRUE(s.valid) << n;
      EXPECT_EQ(s.token, 1.0) << n;
    }
    const CutShort cut(*bfs);
    const auto scores = maze_path_scores(cut, pb, *task);
    int expected = 0, got = 0;
    for (int64_t b = 0; b < pb.batch; ++b) {
      const int32_t* row = pb.tokens.data() + b * pb.seq_len;
      const bool odd = *(std::find(row, row + pb.seq_len, t.path) + 1) % 2 == 1;
      expected += odd;
      got += scores[size_t(b)].exact;
      EXPECT_EQ(scores[size_t(b)].valid, odd);
      // Cut short: the origin right, then END where the second cell belongs; nothing after END
      // is generated. Per-token accuracy = 1 / (path cells + 1).
      if (!odd) {
        const Maze m = maze_from_tokens(row, pb.seq_len, kMaxN, int(n));
        EXPECT_DOUBLE_EQ(scores[size_t(b)].token, 1.0 / double(shortest_path(m).size() + 1));
      }
    }
    EXPECT_EQ(got, expected) << n;
    EXPECT_LT(got, int(pb.batch)) << n;
  }
}

// The maze task declares its path metrics (Task::extra_metrics) and scores them itself, as
// maze_path_scores does; other tasks declare none.
TEST(MazePathScores, OnlyTheMazeTaskHasThem) {
  const auto maze = maze_task();
  std::vector<std::string> names;
  for (const auto& m : maze->extra_metrics()) names.push_back(m.name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"exact_path", "valid_path", "token_path", "first_move"}));
  const TokenPrompts pb = maze_batch(4, 6, *maze);
  const auto bfs = make_baseline("maze_bfs", {});
  const auto scores = maze->score_extra(*bfs, PromptBatch(pb));
  const auto paths = maze_path_scores(*bfs, pb, *maze);
  ASSERT_EQ(scores.size(), 4u);
  for (int64_t b = 0; b < pb.batch; ++b) {
    EXPECT_EQ(scores[0][size_t(b)], paths[size_t(b)].exact ? 1.0 : 0.0);
    EXPECT_EQ(scores[1][size_t(b)], paths[size_t(b)].valid ? 1.0 : 0.0);
    EXPECT_EQ(scores[2][size_t(b)], paths[size_t(b)].token);
    EXPECT_EQ(scores[3][size_t(b)], paths[size_t(b)].first_move ? 1.0 : 0.0);
    EXPECT_EQ(scores[0][size_t(b)], 1.0) << "BFS decodes every maze exactly";
  }
  EXPECT_TRUE(make_task("parity_check", {})->extra_metrics().empty());
  EXPECT_TRUE(make_task("linear_regression", {})->extra_metrics().empty());
}

// ------------------------------------------------------------------------------------------------
// Iterative unmasking.

// At every masked slot k scores token (number of slots already committed + k·V') with confidence
// rising with k: slots are committed from the last to the first, per_step at a time, and each
// slot's token records at which pass it was committed.
class CountsCommitted : public Predictor {
 public:
  CountsCommitted(int64_t V, int32_t mask, int64_t prefix) : V_(V), mask_(mask), prefix_(prefix) {}
  std::string label() const override { return "counts"; }
  std::string name() const override { return "counts"; }
  const char* kind() const override { return "baseline"; }
  const ParamSet& params() const override { return params_; }
  std::vector<float> predict(const PromptBatch& batch) const override {
    const TokenPrompts& pb = batch.as<TokenPrompts>("test predictor");
    ++calls;
    const int64_t T = pb.seq_len;
    std::vector<float> out(size_t(pb.batch * T * V_), 0.f);
    for (int64_t b = 0; b < pb.batch; ++b) {
      const int32_t* row = pb.tokens.data() + b * T;
      int64_t committed = 0;
      for (int64_t i = prefix_; i < T; ++i) committed += row[i] != mask_ && row[i] != V_ - 1;
      for (int64_t i = prefix_; i < T; ++i)
        out[size_t((b * T + i) * V_ + committed % (V_ - 2))] = float(i);  // sharper further on
    }
    return out;
  }
  mutable int calls = 0;

 private:
  int64_t V_;
  int32_t mask_;
  int64_t prefix_;
  ParamSet params_;
};

TEST(UnmaskDecode, CommitsTheMostConfidentSlotsFirstWhateverTheBatchSize) {
  const int64_t V = 40, slots = 7;
  const int32_t mask = 37, pad = 39;
  const std::vector<std::vector<int32_t>> prefixes{{1, 2}, {3, 4}, {5, 6}};
  for (int64_t per_step : {1, 2, 7, 9})
    for (int64_t bs : {1, 2, 256}) {
      const CountsCommitted p(V, mask, 2);
      const auto got = unmask_decode(p, prefixes, slots, mask, -1, pad, per_step, false, 3, bs);
      // Pass j commits slots 6 − j·per_step down, each with the count before the pass.
      std::vector<int32_t> want(slots);
      for (int64_t k = slots - 1; k >= 0; --k)
        want[size_t(k)] = int32_t((slots - 1 - k) / per_step * per_step);
      for (const auto& g : got) EXPECT_EQ(g, want) << per_step << " " << bs;
      const int64_t passes = (slots + per_step - 1) / per_step;
      EXPECT_EQ(p.calls, passes * ((3 + bs - 1) / bs)) << per_step << " " << bs;
    }
}

// left_to_right commits the first masked slots whatever their confidence; a committed stop ends
// the answer: the slots after it take stop without a pass.
TEST(UnmaskDecode, LeftToRightAndTheStopToken) {
  const int64_t V = 40, slots = 7;
  const int32_t mask = 37, pad = 39;
  const std::vector<std::vector<int32_t>> prefixes{{1, 2}, {3, 4}, {5, 6}};
  for (int64_t per_step : {1, 2, 7})
    for (int64_t bs : {1, 256}) {
      const CountsCommitted p(V, mask, 2);
      const auto got = unmask_decode(p, prefixes, slots, mask, -1, pad, per_step, true, 3, bs);
      std::vector<int32_t> want(slots);
      for (int64_t k = 0; k < slots; ++k) want[size_t(k)] = int32_t(k / per_step * per_step);
      for (const auto& g : got) EXPECT_EQ(g, want) << per_step << " " << bs;
      EXPECT_EQ(p.calls, (slots + per_step - 1) / per_step * ((3 + bs - 1) / bs));
    }
  for (const bool ltr : {true, false}) {
    const CountsCommitted p(V, mask, 2);
    // Pass j commits count j: left to right at slot j, by confidence at slot 6 − j. Left to right
    // the stop (2) lands at slot 2 and ends the answer; by confidence it lands at slot 4, after
    // which nothing is masked, so every slot is still decoded.
    const auto got = unmask_decode(p, prefixes, slots, mask, 2, pad, 1, ltr, 3);
    const std::vector<int32_t> want =
        ltr ? std::vector<int32_t>{0, 1, 2, 2, 2, 2, 2} : std::vector<int32_t>{6, 5, 4, 3, 2, 1, 0};
    for (const auto& g : got) EXPECT_EQ(g, want) << ltr;
    EXPECT_EQ(p.calls, ltr ? 3 : 7);
  }
}

// The BFS answer read backwards (target first): a confident, wrong oracle.
class Reversed : public Predictor {
 public:
  explicit Reversed(const Predictor& bfs) : bfs_(bfs) {}
  std::string label() const override { return "reversed"; }
  std::string name() const override { return "reversed"; }
  const char* kind() const override { return "baseline"; }
  const ParamSet& params() const override { return bfs_.params(); }
  std::vector<float> predict(const PromptBatch& batch) const override {
    const TokenPrompts& pb = batch.as<TokenPrompts>("test predictor");
    std::vector<float> z = bfs_.predict(PromptBatch(pb)), out(z.size(), 0.f);
    const MazeTokens t = maze_tokens(kMaxN);
    const int64_t T = pb.seq_len, V = maze_vocab(kMaxN);
    for (int64_t b = 0; b < pb.batch; ++b) {
      const int32_t* row = pb.tokens.data() + b * T;
      const int64_t cut = std::find(row, row + T, t.path) - row;
      std::vector<int32_t> answer;
      for (int64_t i = cut + 1; i < T; ++i) {
        const float* zi = z.data() + (b * T + i) * V;
        answer.push_back(int32_t(std::max_element(zi, zi + V) - zi));
      }
      const int64_t L = std::find(answer.begin(), answer.end(), t.end) - answer.begin();
      std::reverse(answer.begin(), answer.begin() + L);
      for (int64_t k = 0; k < int64_t(answer.size()); ++k)
        out[size_t((b * T + cut + 1 + k) * V + answer[size_t(k)])] = 1.f;
    }
    return out;
  }

 private:
  const Predictor& bfs_;
};

TEST(MazePathScores, UnmaskingDecodesTheBfsOracleExactlyAndAWrongOneNever) {
  const auto bfs = make_baseline("maze_bfs", {});
  for (const std::string order : {"confidence", "left_to_right"})
    for (int64_t per_step : {1, 4})
      for (const double extra : {0.0, 0.3}) {
        const auto task = make_task("maze", {{"min_length", "2"},
                                             {"max_length", std::to_string(kMaxN)},
                                             {"max_n", std::to_string(kMaxN)},
                                             {"objective", "mlm_u"},
                                             {"extra", std::to_string(extra)},
                                             {"unmask_per_step", std::to_string(per_step)},
                                             {"unmask_order", order}});
        for (int64_t n : {2, 5}) {
          SCOPED_TRACE(fmt::format("{} per_step {} extra {} n {}", order, per_step, extra, n));
          const TokenPrompts pb = maze_batch(n, 16, *task);
          // Teacher forced on the masked slots: all right.
          const std::vector<float> z = bfs->predict(PromptBatch(pb));
          const int64_t V = maze_vocab(kMaxN);
          for (int64_t b = 0; b < pb.batch; ++b)
            EXPECT_DOUBLE_EQ(scaled_accuracy(pb, b, z.data() + b * pb.seq_len * V, V, V - 2), 1.0);
          for (const PathScore& s : maze_path_scores(*bfs, pb, *task)) {
            EXPECT_TRUE(s.exact);
            EXPECT_TRUE(s.valid);
            EXPECT_EQ(s.token, 1.0);
          }
          const Reversed wrong(*bfs);
          for (const PathScore& s : maze_path_scores(wrong, pb, *task)) {
            EXPECT_FALSE(s.exact);
            EXPECT_FALSE(s.valid);
            EXPECT_LT(s.token, 1.0);
          }
        }
      }
}

// ------------------------------------------------------------------------------------------------
// End to end: a tiny maze benchmark.

TEST(MazeBenchmark, WritesPathMetricsByGridSize) {
  const fs::path dir = fs::temp_directory_path() / fmt::format("icl_maze_decode_{}", ::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string cfg_path = (dir / "tiny.yaml").string(), out = (dir / "tiny.h5").string();
  std::ofstream(cfg_path) << "description: tiny maze run for the tests\n"
                             "seed: 2\n"
                             "task: {name: maze, min_length: 3, max_length: 4, max_n: 4}\n"
                             "eval:\n"
                             "  prompts: 12\n"
                             "  bootstrap: 20\n"
                             "  batch_size: 5\n"
                             "  sets:\n"
                             "    held_out: {lengths: [3, 4]}\n"
                             "baselines: [maze_bfs]\n"
                             "model: {name: transformer, n_layer: 1, n_head: 2, n_embd: 8}\n"
                             "train: {steps: 3, batch_size: 4, lr: 1.0e-2, warmup: 1,\n"
                             "        eval_every: 3, eval_prompts: 4, checkpoint_every: 3}\n";
  const ResolvedRun cfg = load_run(cfg_path);
  BenchmarkResult res;
  {
    AtomicH5Output file(out);
    RunOptions ro;
    ro.progress = false;
    res = run_benchmark(cfg, file, ro);
  }
  ASSERT_EQ(res.evals.size(), 1u);
  const std::string table = summary_table(res.evals[0]);
  EXPECT_THAT(table, HasSubstr("maze_bfs exact_path"));
  EXPECT_THAT(table, HasSubstr("transformer valid_path"));

  const h5::Handle f = h5::open_file(out);
  EXPECT_EQ(h5::read<int64_t>(f.id(), "eval/held_out/length"), (std::vector<int64_t>{3, 4}));
  for (const char* metric : {"exact_path", "valid_path"}) {
    const std::string bfs = fmt::format("eval/held_out/maze_bfs/{}/", metric);
    for (const char* k : {"mean", "lo", "hi"})
      EXPECT_EQ(h5::read<double>(f.id(), bfs + k), (std::vector<double>{1.0, 1.0})) << bfs << k;
    const std::string model = fmt::format("eval/held_out/transformer/{}/", metric);
    const auto mean = h5::read<double>(f.id(), model + "mean");
    const auto lo = h5::read<double>(f.id(), model + "lo");
    const auto hi = h5::read<double>(f.id(), model + "hi");
    ASSERT_EQ(mean.size(), 2u);
    for (size_t j = 0; j < 2; ++j) {
      EXPECT_GE(mean[j], 0.0);
      EXPECT_LE(mean[j], 1.0);
      EXPECT_LE(lo[j], mean[j]);
      EXPECT_GE(hi[j], mean[j]);
    }
  }
  // The model's exact paths are a subset of its valid ones, prompt by prompt, so on average too.
  const auto& curves = res.evals[0].curves;
  ASSERT_EQ(curves[0].label, "transformer");
  ASSERT_EQ(curves[0].extra.size(), 4u);
  EXPECT_EQ(curves[0].extra[2].first, "token_path");
  EXPECT_EQ(curves[0].extra[3].first, "first_move");
  // An exact path has its first move right: exact <= first_move, prompt by prompt.
  for (size_t j = 0; j < 2; ++j) {
    EXPECT_LE(curves[0].extra[0].second.mean[j], curves[0].extra[1].second.mean[j]);
    EXPECT_LE(curves[0].extra[0].second.mean[j], curves[0].extra[3].second.mean[j]);
  }
  EXPECT_EQ(h5::read<double>(f.id(), "eval/held_out/maze_bfs/first_move/mean"),
            (std::vector<double>{1.0, 1.0}));
  EXPECT_EQ(h5::read<double>(f.id(), "eval/held_out/maze_bfs/mean"),
            (std::vector<double>{1.0, 1.0}));
  fs::remove_all(dir);
}

// objective mlm_u predicts masked slots from both sides: a causal model is a one-line error naming
// model.causal, at load time.
TEST(MazeBenchmark, MlmuNeedsANonCausalModel) {
  const fs::path dir = fs::temp_directory_path() / fmt::format("icl_maze_causal_{}", ::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string cfg_path = (dir / "mlmu.yaml").string();
  const auto config = [&](const std::string& model) {
    std::ofstream(cfg_path) << "description: mlm_u with a causal model\n"
                               "task: {name: maze, min_length: 3, max_length: 3, max_n: 4, "
                               "objective: mlm_u}\n"
                               "eval: {prompts: 4, sets: {held_out: {lengths: [3]}}}\n"
                               "model: "
                            << model << "\n"
                            << "train: {steps: 1, batch_size: 2}\n";
  };
  for (const std::string model : {"{name: transformer, n_layer: 1, n_head: 2, n_embd: 8}",
                                  "{name: transformer, n_layer: 1, n_head: 2, n_embd: 8, causal: "
                                  "true}",
                                  "{name: recurrent, n_layer: 1, n_embd: 8}"}) {
    config(model);
    const std::string e = test::error_of([&] { load_run(cfg_path); });
    EXPECT_THAT(e, HasSubstr("model.causal")) << model;
    EXPECT_THAT(e, HasSubstr("mlm_u")) << model;
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  }
  config("{name: transformer, n_layer: 1, n_head: 2, n_embd: 8, causal: false}");
  EXPECT_NO_THROW(load_run(cfg_path));
  config("{name: past, n_layer: 1, n_head: 2, n_embd: 8}");
  EXPECT_NO_THROW(load_run(cfg_path));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace icl

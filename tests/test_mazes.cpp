// Mazes (docs/TASKS.md §8): DFS mazes are spanning trees, BFS paths are valid and shortest against
// an independent all-pairs computation, the shortest-path count against brute-force enumeration;
// the mlm_u prompts (masked fraction, both sides of the path visible, nothing revealed,
// determinism).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "core/error.h"
#include "tasks/maze_paths.h"
#include "tasks/maze_task.h"
#include "tasks/token_task.h"
#include "tests/errors.h"
#include "tests/prompts.h"

namespace icl {
namespace {

const RngKey kKey{3, stream_id("maze-test")};

Maze maze(int n, int64_t i, double extra = 0.0) {
  Rng rng(kKey, uint64_t(i));
  return generate_maze(n, rng, extra);
}

// All-pairs distances of the maze's graph by Floyd–Warshall over the connected() relation.
std::vector<int> all_pairs(const Maze& m) {
  const int N = m.cells(), inf = 1 << 20;
  std::vector<int> d(size_t(N * N), inf);
  for (int a = 0; a < N; ++a) {
    d[size_t(a * N + a)] = 0;
    for (int b = 0; b < N; ++b) {
      const bool adjacent = (std::abs(a - b) == 1 && a / m.n == b / m.n) || std::abs(a - b) == m.n;
      if (adjacent && m.connected(a, b)) d[size_t(a * N + b)] = 1;
    }
  }
  for (int k = 0; k < N; ++k)
    for (int a = 0; a < N; ++a)
      for (int b = 0; b < N; ++b)
        d[size_t(a * N + b)] =
            std::min(d[size_t(a * N + b)], d[size_t(a * N + k)] + d[size_t(k * N + b)]);
  return d;
}

TEST(Maze, DfsMazesAreSpanningTrees) {
  for (const int n : {2, 3, 5, 10, 30}) {
    for (int i = 0; i < 40; ++i) {
      const Maze m = maze(n, i);
      EXPECT_EQ(m.passages(), n * n - 1) << n;  // a connected graph with N − 1 edges is a tree
      const std::vector<int> d = maze_distances(m, 0);
      EXPECT_EQ(std::count(d.begin(), d.end(), -1), 0) << "unreachable cell, n=" << n;
      EXPECT_NE(m.origin, m.target);
      // Walls on the border stay closed.
      for (int r = 0; r < n; ++r) EXPECT_FALSE(m.open[size_t(r * n + n - 1)] & 1u);
      for (int c = 0; c < n; ++c) EXPECT_FALSE(m.open[size_t((n - 1) * n + c)] & 2u);
    }
  }
  EXPECT_EQ(maze(10, 4).open, maze(10, 4).open);
  EXPECT_NE(maze(10, 4).open, maze(10, 5).open);
}

TEST(Maze, BfsPathsAreValidAndShortest) {
  for (const double extra : {0.0, 0.3}) {
    for (int i = 0; i < 60; ++i) {
      const Maze m = maze(2 + i % 4, i, extra);
      const std::vector<int> d = all_pairs(m);
      const std::vector<int> p = shortest_path(m);
      ASSERT_TRUE(is_valid_path(m, p));
      EXPECT_EQ(int(p.size()) - 1, d[size_t(m.origin * m.cells() + m.target)]);
      EXPECT_TRUE(is_shortest_path(m, p));
      const std::vector<int> bfs = maze_distances(m, m.origin);
      for (int c = 0; c < m.cells(); ++c)
        EXPECT_EQ(bfs[size_t(c)], d[size_t(m.origin * m.cells() + c)]);
    }
  }
  // Invalid walks are told apart: a jump, a wrong end, a detour.
  const Maze m = maze(5, 1);
  std::vector<int> p = shortest_path(m);
  std::vector<int> jump{m.origin, m.target};
  if (p.size() > 2) {
    EXPECT_FALSE(is_valid_path(m, jump));
  }
  std::vector<int> truncated(p.begin(), p.end() - 1);
  EXPECT_FALSE(is_valid_path(m, truncated));
  std::vector<int> detour = p;
  detour.insert(detour.begin() + 1, {p[1], p[0]});
  EXPECT_TRUE(is_valid_path(m, detour));
  EXPECT_FALSE(is_shortest_path(m, detour));
}

TEST(Maze, ShortestPathCountMatchesEnumeration) {
  int with_cycles = 0;
  for (int i = 0; i < 40; ++i) {
    const Maze m = maze(4, i, 0.4);
    const int target_d = maze_distances(m, m.origin)[size_t(m.target)];
    long long paths = 0;
    std::vector<uint8_t> on(size_t(m.cells()), 0);
    std::function<void(int, int)> walk = [&](int c, int len) {
      if (len > target_d) return;
      if (c == m.target) {
        paths += len == target_d;
        return;
      }
      on[size_t(c)] = 1;
      int nb[4];
      const int k = m.neighbours(c, nb);
      for (int j = 0; j < k; ++j)
        if (!on[size_t(nb[j])]) walk(nb[j], len + 1);
      on[size_t(c)] = 0;
    };
    walk(m.origin, 0);
    EXPECT_EQ(count_shortest_paths(m), paths) << i;
    with_cycles += paths > 1;
    if (m.passages() == 15) {
      EXPECT_EQ(paths, 1);
    }
  }
  EXPECT_GT(with_cycles, 5);  // extra openings do make several shortest paths
  EXPECT_EQ(count_shortest_paths(maze(10, 0)), 1);
}

TEST(MazeTokens, AdjacencyListIsShuffledLikeMazeDatasetsAndTheMazeIsUnchanged) {
  // maze-dataset's tokeniser shuffles the passages' order and each pair's orientation; the maze
  // the tokens describe stays the generated one. adjacency: sorted keeps (a < b, increasing).
  const MazeTokens t = maze_tokens(10);
  const auto pairs = [&](const int32_t* tok, int64_t T) {
    std::vector<std::pair<int32_t, int32_t>> out;
    int64_t i = std::find(tok, tok + T, t.adj) - tok + 1;
    for (; tok[i] != t.origin; i += 3) out.emplace_back(tok[i], tok[i + 1]);
    return out;
  };
  int flipped = 0, total = 0, unsorted = 0;
  for (const std::string order : {"shuffled", "sorted"}) {
    const auto task = make_task("maze", {{"max_n", "10"}, {"adjacency", order}});
    const TokenPrompts pb = test::take<TokenPrompts>(task->sample(kKey, 0, 20, 6));
    for (int64_t b = 0; b < 20; ++b) {
      const int32_t* tok = pb.tokens.data() + b * pb.seq_len;
      Rng rng(kKey, uint64_t(b));
      const Maze g = generate_maze(6, rng, 0.0);
      const Maze m = maze_from_tokens(tok, pb.seq_len, 10, 6);
      EXPECT_EQ(m.open, g.open);
      EXPECT_EQ(m.origin, g.origin);
      EXPECT_EQ(m.target, g.target);
      const auto p = pairs(tok, pb.seq_len);
      ASSERT_EQ(p.size(), 35u);  // a DFS maze on 6×6 is a spanning tree
      if (order == "sorted") {
        EXPECT_TRUE(std::is_sorted(p.begin(), p.end()));
        for (const auto& [a, c] : p) EXPECT_LT(a, c);
        continue;
      }
      unsorted += !std::is_sorted(p.begin(), p.end());
      for (const auto& [a, c] : p) flipped += a > c, ++total;
    }
  }
  EXPECT_EQ(unsorted, 20);
  EXPECT_NEAR(double(flipped) / total, 0.5, 0.06);
}

TEST(MazeTokens, RoundTripAndTheMaskNeverRevealsThePath) {
  for (const double extra : {0.0, 0.3}) {
    const auto task = make_task("maze", {{"max_n", "10"}, {"extra", std::to_string(extra)}});
    const TokenTask& tt = *as_token_task(*task);
    const MazeTokens t = maze_tokens(10);
    for (const int64_t n : {2, 5, 7}) {
      const TokenPrompts pb = test::take<TokenPrompts>(task->sample(kKey, 0, 7, n));
      ASSERT_EQ(pb.seq_len, tt.seq_len(n));
      for (int64_t b = 0; b < 7; ++b) {
        const int32_t* tok = pb.tokens.data() + b * pb.seq_len;
        const int32_t* tgt = pb.targets.data() + b * pb.seq_len;
        const uint8_t* mask = pb.loss_mask.data() + b * pb.seq_len;
        const Maze m = maze_from_tokens(tok, pb.seq_len, 10, int(n));
        // The prompt is the maze generated from prompt b's stream.
        Rng rng(kKey, uint64_t(b));
        const Maze g = generate_maze(int(n), rng, extra);
        EXPECT_EQ(m.open, g.open);
        EXPECT_EQ(m.origin, g.origin);
        EXPECT_EQ(m.target, g.target);
        // tokens → maze → tokens, the adjacency list shuffled by the draws after the maze's.
        std::vector<int32_t> again(size_t(pb.seq_len), tt.pad()), tg(size_t(pb.seq_len), -1);
        std::vector<uint8_t> mk(size_t(pb.seq_len), 0);
        write_maze_tokens(m, t, tt.bos(), true, rng, again.data(), tg.data(), mk.data());
        EXPECT_TRUE(std::equal(again.begin(), again.end(), tok));
        EXPECT_TRUE(std::equal(tg.begin(), tg.end(), tgt));
        // Scored positions start at PATH; the targets spell the BFS path then END, and before
        // PATH no cell appears that is not in the adjacency list, origin or target.
        const int64_t path_at = std::find(tok, tok + pb.seq_len, t.path) - tok;
        std::vector<int> path;
        for (int64_t i = 0; i < pb.seq_len; ++i) {
          if (i < path_at) {
            EXPECT_EQ(mask[i], 0) << i;
          }
          if (!mask[i]) continue;
          if (tgt[i] == t.end) break;
          path.push_back(int(tgt[i] / 10) * int(n) + tgt[i] % 10);
        }
        EXPECT_TRUE(is_shortest_path(m, path));
        EXPECT_EQ(tok[path_at + 1], t.cell(m.origin, int(n)));
      }
    }
  }
  const MazeTokens t = maze_tokens(10);
  const std::vector<int32_t> bad{t.adj, 0, 22, t.sep, t.origin, 0, t.target, 1};
  EXPECT_NE(test::error_of([&] { maze_from_tokens(bad.data(), 8, 10, 5); }).find("not neighbours"),
            std::string::npos);
}

// mlm_u prompts: the prefix and the maze are the next_token prompt's; the answer slots hold the BFS
// path then END, then MASK; exactly the masked slots of the path and its END are scored, show MASK
// and never their answer; the slots after END are never scored; the masked count is uniform on
// 1..L + 1 (a fraction ~ U(0, 1)) for every path length L; masks fall before and after visible
// path cells (predictions ahead and behind); the same stream gives the same prompt.
TEST(MazeTokens, MlmuMasksAUniformFractionOfThePath) {
  const auto task = make_task("maze", {{"max_n", "6"}, {"objective", "mlm_u"}});
  const auto next = make_task("maze", {{"max_n", "6"}});
  const TokenTask& tt = *as_token_task(*task);
  const MazeTokens t = maze_tokens(6);
  const int64_t n = 5, B = 4000, A = maze_answer_slots(n);
  const TokenPrompts pb = test::take<TokenPrompts>(task->sample(kKey, 0, B, n)),
                     nt = test::take<TokenPrompts>(next->sample(kKey, 0, B, n));
  ASSERT_EQ(pb.seq_len, tt.seq_len(n));
  ASSERT_EQ(pb.seq_len, nt.seq_len);
  // count_hist[S][c]: prompts whose path and END fill S slots and that mask c of them.
  std::vector<std::vector<int64_t>> count_hist(size_t(A + 1), std::vector<int64_t>(size_t(A + 1)));
  int64_t ahead = 0, behind = 0;
  for (int64_t b = 0; b < B; ++b) {
    const int32_t* tok = pb.tokens.data() + b * pb.seq_len;
    const int32_t* tgt = pb.targets.data() + b * pb.seq_len;
    const uint8_t* mask = pb.loss_mask.data() + b * pb.seq_len;
    const int32_t* ntok = nt.tokens.data() + b * nt.seq_len;
    const int64_t cut = std::find(tok, tok + pb.seq_len, t.path) - tok;
    ASSERT_EQ(cut + 1 + A, pb.seq_len);  // a DFS maze fills the prompt exactly
    ASSERT_TRUE(std::equal(tok, tok + cut + 1, ntok)) << "the maze differs from next_token's";
    const Maze m = maze_from_tokens(tok, cut, 6, int(n));
    const std::vector<int32_t> answer = maze_answer(m, t);
    const std::vector<int> bfs = shortest_path(m);
    const int64_t L = int64_t(bfs.size()), S = L + 1;
    int64_t masked = 0;
    for (int64_t i = 0; i < pb.seq_len; ++i) {
      if (i <= cut) {
        ASSERT_EQ(mask[i], 0);
        continue;
      }
      const int64_t k = i - cut - 1;
      const int32_t want = k < L ? t.cell(bfs[size_t(k)], int(n)) : t.end;
      ASSERT_EQ(answer[size_t(k)], want);
      if (k >= S) {
        ASSERT_EQ(tok[i], t.mask) << "a slot after END shows a token";
        ASSERT_EQ(mask[i], 0) << "a slot after END is scored";
        ASSERT_EQ(tgt[i], -1);
      } else if (mask[i]) {
        ++masked;
        ASSERT_EQ(tok[i], t.mask) << "a scored slot shows its answer";
        ASSERT_EQ(tgt[i], want);
      } else {
        ASSERT_EQ(tok[i], want);
        ASSERT_EQ(tgt[i], -1);
      }
    }
    ASSERT_GE(masked, 1);
    ASSERT_LE(masked, S);
    ++count_hist[size_t(S)][size_t(masked)];
    // A masked path slot with a visible path cell after it is predicted backwards, one with a
    // visible cell before it forwards.
    for (int64_t k = 0; k < L; ++k) {
      if (!mask[cut + 1 + k]) continue;
      bool before = false, after = false;
      for (int64_t j = 0; j < L; ++j) {
        if (mask[cut + 1 + j]) continue;
        before = before || j < k;
        after = after || j > k;
      }
      ahead += before;
      behind += after;
    }
  }
  // Uniform on 1..S for every S seen at least 300 times: chi-square with S − 1 degrees of freedom
  // stays below dof + 6·sqrt(2·dof) with probability > 0.9999 (its sd is sqrt(2·dof)).
  int64_t groups = 0;
  for (int64_t S = 2; S <= A; ++S) {
    int64_t total = 0;
    for (int64_t c = 1; c <= S; ++c) total += count_hist[size_t(S)][size_t(c)];
    if (total < 300) continue;
    ++groups;
    double chi2 = 0;
    for (int64_t c = 1; c <= S; ++c) {
      const double e = double(total) / double(S), d = double(count_hist[size_t(S)][size_t(c)]) - e;
      chi2 += d * d / e;
    }
    const double dof = double(S - 1);
    EXPECT_LT(chi2, dof + 6.0 * std::sqrt(2.0 * dof)) << "S = " << S;
  }
  EXPECT_GE(groups, 3);
  EXPECT_GT(ahead, B / 4);
  EXPECT_GT(behind, B / 4);
  // Deterministic: the same stream and index give the same prompt, whatever the batch.
  const TokenPrompts again = test::take<TokenPrompts>(task->sample(kKey, 7, 3, n));
  EXPECT_TRUE(
      std::equal(again.tokens.begin(), again.tokens.end(), pb.tokens.begin() + 7 * pb.seq_len));
  EXPECT_TRUE(std::equal(again.loss_mask.begin(), again.loss_mask.end(),
                         pb.loss_mask.begin() + 7 * pb.seq_len));
}

TEST(Maze, BadParametersNameThemselves) {
  EXPECT_NE(test::error_of([] {
              make_task("maze", {{"objective", "next_cell"}});
            }).find("objective"),
            std::string::npos);
  EXPECT_NE(test::error_of([] {
              make_task("maze", {{"unmask_per_step", "0"}});
            }).find("unmask_per_step"),
            std::string::npos);
  EXPECT_NE(test::error_of([] {
              make_task("maze", {{"unmask_order", "random"}});
            }).find("unmask_order"),
            std::string::npos);
  Rng rng(kKey, 0);
  EXPECT_NE(test::error_of([&] { generate_maze(1, rng); }).find("maze.n"), std::string::npos);
  EXPECT_NE(test::error_of([&] { generate_maze(5, rng, 1.5); }).find("maze.extra"),
            std::string::npos);
  EXPECT_NE(test::error_of([] {
              make_task("maze", {{"max_n", "4"}, {"max_length", "5"}});
            }).find("max_length"),
            std::string::npos);
  EXPECT_NE(test::error_of([] {
              make_task("maze", {{"max_n", "8"}})->sample(kKey, 0, 1, 9);
            }).find("grid size"),
            std::string::npos);
  // allow_same lets origin = target; 2×2 mazes over many draws hit it.
  int same = 0;
  for (int i = 0; i < 200; ++i) {
    Rng r(kKey, uint64_t(i));
    const Maze m = generate_maze(2, r, 0.0, true);
    same += m.origin == m.target;
  }
  EXPECT_GT(same, 20);
}

}  // namespace
}  // namespace icl

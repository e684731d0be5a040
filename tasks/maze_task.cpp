// DFS mazes as token prompts (Nolte et al. 2024, docs/TASKS.md §8). The prompt's length is the grid
// size n; cells are tokens r·max_n + c, so a cell keeps its token across grid sizes.
//
//   BOS ADJ (a b SEP)×passages ORIGIN o TARGET t PATH p_0 p_1 .. p_L END
//
// The adjacency list holds every open passage once, in a uniformly random order and each pair in a
// random orientation, as maze-dataset's tokeniser writes it (the reference's data: shuffle_d0 and
// shuffle_d1 of LatticeMaze.as_adj_list), so a model cannot read the maze's structure off the
// order; `adjacency: sorted` writes (a, b) with a < b in increasing order instead. Either way the
// tokens decode back to the maze (maze_from_tokens). The answer is the
// BFS shortest path p_0 = o .. p_L = t: next-token targets sit at PATH and at every path token
// (the next cell, END after the target), and nothing before PATH is scored. Padding follows END up
// to seq_len(n), which bounds the passages (all interior walls when extra openings are on) and the
// path (n² cells).
// Metric: accuracy at the scored positions (per-token accuracy under teacher forcing).
//
// objective mlm_u (MLM-U, Nolte et al. 2024, after Kitouni et al.'s uniform-rate masking): the
// answer is a fixed block of n² + 1 slots after PATH, the path's cells, one END, then slots that
// always show MASK. Only the path and its END are the sequence being modelled: a number of them
// drawn uniformly from 1..L + 1 (a fraction ~ U(0, 1), at least one) is replaced by MASK and
// scored, and the model predicts them from everything else, the visible path cells on both sides
// of them included, i.e. steps ahead of and behind what it sees (the path read forwards and
// backwards). The slots after END are neither shown nor scored, as the padding after a sequence in
// the MLM-U reference implementation is neither attended to nor predicted; showing MASK there
// keeps the path's length hidden (decoding starts from all slots masked) and keeps the loss on the
// path instead of on filler (scored filler, 64% of the answer slots at n = 5, was all a short run
// learned). The prefix never holds a masked slot's token at its slot. Train it with model past
// (the reference's encoder-decoder, which removes the MASK and PAD slots, hidden_tokens(), from
// attention) or a transformer with causal: false (which reads MASK like any other token).
#include <fmt/format.h>

#include <algorithm>

#include "core/error.h"
#include "tasks/maze_decode.h"
#include "tasks/maze_paths.h"
#include "tasks/maze_task.h"
#include "tasks/token_task.h"

namespace icl {
namespace {

class MazeTask final : public TokenTask {
 public:
  MazeTask(const std::string& name, const ParamSet& p)
      : TokenTask(name, p, maze_vocab(p.i("max_n")), maze_vocab(p.i("max_n")) - 2),
        max_n_(p.i("max_n")),
        extra_(p.r("extra")),
        mlmu_(p.s("objective") == "mlm_u"),
        shuffle_(p.s("adjacency") == "shuffled") {
    if (max_length() > max_n_)
      fail("{}.max_length: grids up to max_n = {} have tokens, got {}", name, max_n_, max_length());
    if (min_length() < 2) fail("{}.min_length: a maze needs n >= 2, got {}", name, min_length());
  }

  Metric metric() const override { return Metric::Accuracy; }
  void check_examples(int64_t n) const override {
    if (n < 2 || n > max_n_) fail("{}: grid size n must be in [2, {}], got {}", name(), max_n_, n);
  }

  int64_t seq_len(int64_t n) const override {
    const int64_t walls = extra_ > 0.0 ? 2 * n * (n - 1) : n * n - 1;
    return 2 + 3 * walls + 5 + n * n + 1;
  }

  // A predictor answers a maze only if it can produce the whole path itself (tasks/maze_decode.h).
  std::vector<ExtraMetric> extra_metrics() const override {
    return {{"exact_path", "exact path"},
            {"valid_path", "valid path"},
            {"token_path", "per-token path accuracy"},
            {"first_move", "first move"}};
  }
  std::vector<std::vector<double>> score_extra(const Predictor& p,
                                               const PromptBatch& prompts) const override {
    const TokenPrompts& pb = prompts.as<TokenPrompts>("maze path metrics");
    std::vector<std::vector<double>> out(4, std::vector<double>(size_t(pb.batch)));
    const std::vector<PathScore> paths = maze_path_scores(p, pb, *this);
    for (int64_t b = 0; b < pb.batch; ++b) {
      out[0][size_t(b)] = paths[size_t(b)].exact;
      out[1][size_t(b)] = paths[size_t(b)].valid;
      out[2][size_t(b)] = paths[size_t(b)].token;
      out[3][size_t(b)] = paths[size_t(b)].first_move;
    }
    return out;
  }

  // The raw mazes behind the prompts (each prompt's tokens are a function of its maze, so they are
  // read back from the tokens), for tokenising them differently elsewhere: /maze/open [N, n, n]
  // (bit 0: passage east, bit 1: passage south), /maze/origin and /maze/target [N] (cells r·n + c),
  // /maze/path [N, n²] (the BFS path's cells, −1 after it) and /maze/path_length [N].
  TaskExports exports(const PromptBatch& prompts) const override {
    const TokenPrompts& pb = prompts.as<TokenPrompts>("maze exports");
    const int64_t N = pb.batch, T = pb.seq_len, n = pb.n_examples;
    const MazeTokens t = maze_tokens(max_n_);
    TaskExport open{"maze/open", {N, n, n}, {}, {}}, origin{"maze/origin", {N}, {}, {}},
        target{"maze/target", {N}, {}, {}}, path{"maze/path", {N, n * n}, {}, {}},
        length{"maze/path_length", {N}, {}, {}};
    path.i32.assign(size_t(N * n * n), -1);
    for (int64_t b = 0; b < N; ++b) {
      const int32_t* row = pb.tokens.data() + b * T;
      const Maze m = maze_from_tokens(row, std::find(row, row + T, t.path) - row, max_n_, int(n));
      open.u8.insert(open.u8.end(), m.open.begin(), m.open.end());
      origin.i32.push_back(m.origin);
      target.i32.push_back(m.target);
      const std::vector<int32_t> answer = maze_answer(m, t);
      int32_t L = 0;
      for (; answer[size_t(L)] != t.end; ++L)
        path.i32[size_t(b * n * n + L)] =
            (answer[size_t(L)] / t.max_n) * int32_t(n) + answer[size_t(L)] % t.max_n;
      length.i32.push_back(L);
    }
    return {{open, origin, target, path, length}, {{"maze@n", n}}};
  }
  // /maze/open (uint8) and /maze/path (int32) [N, n, n], origin, target, path_length [N].
  int64_t export_bytes_per_prompt(int64_t n) const override { return n * n * 5 + 12; }

  std::string length_label() const override { return "grid size n"; }
  std::string bidirectional_reason() const override { return mlmu_ ? "task.objective mlm_u" : ""; }
  std::vector<int32_t> hidden_tokens() const override {
    if (!mlmu_) return {};
    return {maze_tokens(max_n_).mask, pad()};
  }

 protected:
  void write_prompt(Rng& rng, int64_t n, int32_t* tokens, int32_t* targets,
                    uint8_t* mask) const override {
    const Maze m = generate_maze(int(n), rng, extra_);
    const MazeTokens t = maze_tokens(max_n_);
    const int64_t i =
        mlmu_ ? write_maze_mlmu_tokens(m, t, bos(), shuffle_, rng, tokens, targets, mask)
              : write_maze_tokens(m, t, bos(), shuffle_, rng, tokens, targets, mask);
    ICL_ASSERT(i <= seq_len(n));
  }

 private:
  int64_t max_n_;
  double extra_;
  bool mlmu_, shuffle_;
};

}  // namespace

int64_t write_maze_prefix(const Maze& m, const MazeTokens& t, int32_t bos, bool shuffle, Rng& rng,
                          int32_t* tokens) {
  const int n = m.n;
  int64_t i = 0;
  tokens[i++] = bos;
  tokens[i++] = t.adj;
  std::vector<std::pair<int, int>> passages;
  for (int c = 0; c < m.cells(); ++c) {
    int nb[4];
    const int k = m.neighbours(c, nb);
    for (int j = 0; j < k; ++j)
      if (nb[j] > c) passages.emplace_back(c, nb[j]);
  }
  if (shuffle) {
    // Fisher–Yates from the back, then one draw per pair for its orientation.
    for (size_t j = passages.size(); j > 1; --j)
      std::swap(passages[j - 1], passages[size_t(rng.below(j))]);
    for (auto& p : passages)
      if (rng.next_u32() & 1u) std::swap(p.first, p.second);
  }
  for (const auto& [a, b] : passages) {
    tokens[i++] = t.cell(a, n);
    tokens[i++] = t.cell(b, n);
    tokens[i++] = t.sep;
  }
  tokens[i++] = t.origin;
  tokens[i++] = t.cell(m.origin, n);
  tokens[i++] = t.target;
  tokens[i++] = t.cell(m.target, n);
  tokens[i++] = t.path;
  return i;
}

std::vector<int32_t> maze_answer(const Maze& m, const MazeTokens& t) {
  std::vector<int32_t> a(size_t(maze_answer_slots(m.n)), t.end);
  const std::vector<int> path = shortest_path(m);
  for (size_t j = 0; j < path.size(); ++j) a[j] = t.cell(path[j], m.n);
  return a;
}

int64_t write_maze_mlmu_tokens(const Maze& m, const MazeTokens& t, int32_t bos, bool shuffle,
                               Rng& rng, int32_t* tokens, int32_t* targets, uint8_t* mask) {
  int64_t i = write_maze_prefix(m, t, bos, shuffle, rng, tokens);
  const std::vector<int32_t> answer = maze_answer(m, t);
  const int64_t A = int64_t(answer.size());
  // The modelled slots: the path's cells and the END after them.
  const int64_t S = std::find(answer.begin(), answer.end(), t.end) - answer.begin() + 1;
  const int64_t masked = std::min<int64_t>(S, 1 + int64_t(rng.uniform() * double(S)));
  // The first `masked` entries of a partial Fisher-Yates shuffle: a uniform subset of that size.
  std::vector<int64_t> slots(static_cast<size_t>(S));
  for (int64_t k = 0; k < S; ++k) slots[size_t(k)] = k;
  for (int64_t k = 0; k < masked; ++k)
    std::swap(slots[size_t(k)], slots[size_t(k + int64_t(rng.below(uint64_t(S - k))))]);
  for (int64_t k = 0; k < A; ++k) tokens[i + k] = k < S ? answer[size_t(k)] : t.mask;
  for (int64_t k = 0; k < masked; ++k) {
    const int64_t at = i + slots[size_t(k)];
    tokens[at] = t.mask;
    targets[at] = answer[size_t(slots[size_t(k)])];
    mask[at] = 1;
  }
  return i + A;
}

int64_t write_maze_tokens(const Maze& m, const MazeTokens& t, int32_t bos, bool shuffle, Rng& rng,
                          int32_t* tokens, int32_t* targets, uint8_t* mask) {
  const int n = m.n;
  int64_t i = write_maze_prefix(m, t, bos, shuffle, rng, tokens);
  const std::vector<int> path = shortest_path(m);
  for (size_t j = 0; j <= path.size(); ++j) {
    // Position i − 1 (PATH or the previous cell) predicts this token.
    const int32_t next = j < path.size() ? t.cell(path[j], n) : t.end;
    targets[i - 1] = next;
    mask[i - 1] = 1;
    tokens[i++] = next;
  }
  return i;
}

int64_t maze_vocab(int64_t max_n) { return max_n * max_n + 7 + 2; }

MazeTokens maze_tokens(int64_t max_n) {
  const int32_t cells = int32_t(max_n * max_n);
  return {int32_t(max_n), cells, cells + 1, cells + 2, cells + 3, cells + 4, cells + 5, cells + 6};
}

MazeObjective maze_objective(const Task& task) {
  ICL_ASSERT(task.name() == "maze");
  return task.params().s("objective") == "mlm_u" ? MazeObjective::MlmU : MazeObjective::NextToken;
}

int64_t maze_unmask_per_step(const Task& task) {
  ICL_ASSERT(task.name() == "maze");
  return task.params().i("unmask_per_step");
}

bool maze_unmask_left_to_right(const Task& task) {
  ICL_ASSERT(task.name() == "maze");
  return task.params().s("unmask_order") == "left_to_right";
}

Maze maze_from_tokens(const int32_t* tokens, int64_t T, int64_t max_n, int n) {
  const MazeTokens t = maze_tokens(max_n);
  auto cell = [&](int32_t tok) {
    const int r = tok / t.max_n, c = tok % t.max_n;
    if (tok < 0 || tok >= t.adj || r >= n || c >= n)
      fail("maze tokens: {} is not a cell of a {}x{} grid", tok, n, n);
    return r * n + c;
  };
  Maze m;
  m.n = n;
  m.open.assign(size_t(n * n), 0);
  int64_t i = 0;
  while (i < T && tokens[i] != t.adj) ++i;
  if (i == T) fail("maze tokens: no adjacency list");
  ++i;
  while (i + 2 < T && tokens[i] != t.origin) {
    const int a = cell(tokens[i]), b = cell(tokens[i + 1]);
    if (tokens[i + 2] != t.sep)
      fail("maze tokens: passage {} {} not followed by a separator", a, b);
    const int lo = std::min(a, b), hi = std::max(a, b);
    if (hi == lo + 1 && hi % n != 0) {
      m.open[size_t(lo)] |= 1u;
    } else if (hi == lo + n) {
      m.open[size_t(lo)] |= 2u;
    } else {
      fail("maze tokens: cells {} and {} are not neighbours", a, b);
    }
    i += 3;
  }
  if (i + 3 >= T || tokens[i] != t.origin || tokens[i + 2] != t.target)
    fail("maze tokens: origin and target missing");
  m.origin = cell(tokens[i + 1]);
  m.target = cell(tokens[i + 3]);
  return m;
}

void register_maze(std::vector<TaskInfo>& r) {
  ParamSpecs p = token_length_params(5, 5);
  p.push_back(ParamSpec::integer("max_n", 30, "largest grid the vocabulary has cells for", 2, 200));
  p.push_back(ParamSpec::real(
      "extra", 0.0, "probability of opening each remaining wall (0: DFS mazes, trees)", 0.0, 1.0));
  p.push_back(ParamSpec::choice(
      "objective", "next_token", {"next_token", "mlm_u"},
      "next_token: the path by next-token prediction, decoded greedily; mlm_u: masked path slots "
      "(rate ~ U(0,1)) for a non-causal model (model.causal: false), decoded by iterative "
      "unmasking"));
  p.push_back(ParamSpec::choice(
      "adjacency", "shuffled", {"shuffled", "sorted"},
      "order of the adjacency list: shuffled pairs in random orientations, as maze-dataset's "
      "tokeniser writes them (the reference's data), or sorted (a < b, increasing)"));
  p.push_back(ParamSpec::integer(
      "unmask_per_step", 1, "mlm_u decoding: answer slots committed per forward pass", 1, 1000000));
  p.push_back(ParamSpec::choice(
      "unmask_order", "confidence", {"confidence", "left_to_right"},
      "mlm_u decoding: which masked slots each pass commits, the most confident ones or the "
      "first ones (left_to_right, as the MLM-U reference code decodes)"));
  r.push_back({"maze",
               "shortest path through a DFS maze on an n×n grid, prompt = adjacency list + origin "
               "+ target, answer = the path (Nolte et al. 2024)",
               std::move(p), [](const std::string& n, const ParamSet& ps) -> std::unique_ptr<Task> {
                 return std::make_unique<MazeTask>(n, ps);
               }});
}

}  // namespace icl

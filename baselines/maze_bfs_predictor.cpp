// The exact solver as a predictor of the maze task (Nolte et al. 2024, docs/TASKS.md §8): the
// reference curve the models' exact-path accuracy is read against. From PATH on, the score at
// position t picks the next cell of a shortest path from the cell at t to the target (the origin
// after PATH, END once the target is reached), so teacher forcing and greedy decoding both follow a
// BFS path. Everything it reads at t (the maze before PATH, the cell at t) lies in tokens 0..t, as
// the Predictor call requires. The grid size is the batch's length and the vocabulary follows from
// BOS = vocab − 2, the first token of every prompt.
// An mlm_u prompt (objective mlm_u: a MASK among the answer slots after PATH) is answered slot by
// slot instead: slot k scores the k-th token of the BFS answer (path cells, then END), whatever
// the slots around it show, so iterative unmasking decodes the BFS path too.
#include <algorithm>
#include <cmath>

#include "baselines/baseline.h"
#include "core/error.h"
#include "tasks/maze_paths.h"
#include "tasks/maze_task.h"

namespace icl {
namespace {

class MazeBfs final : public Baseline {
 public:
  MazeBfs(const ParamSet& p, const std::string& label) : Baseline("maze_bfs", p, label) {}

  std::vector<float> predict(const PromptBatch& batch) const override {
    const TokenPrompts* tp = batch.get<TokenPrompts>();
    if (!tp || tp->batch < 1 || tp->seq_len < 1)
      fail("baseline maze_bfs: answers token prompts of the maze task only");
    const TokenPrompts& pb = *tp;
    const int64_t V = int64_t(pb.tokens[0]) + 2;
    const int64_t max_n = std::llround(std::sqrt(double(std::max<int64_t>(V - 9, 0))));
    if (max_n < 2 || maze_vocab(max_n) != V)
      fail("baseline maze_bfs: a vocabulary of {} tokens is not the maze task's", V);
    const MazeTokens t = maze_tokens(max_n);
    const int64_t B = pb.batch, T = pb.seq_len;
    const int n = int(pb.n_examples);
    std::vector<float> out(size_t(B * T * V), 0.f);
    parallel_for(B, [&](int64_t b) {
      const int32_t* row = pb.tokens.data() + b * T;
      const int64_t cut = std::find(row, row + T, t.path) - row;
      if (cut == T) return;  // nothing to answer before the path starts
      const Maze m = maze_from_tokens(row, cut, max_n, n);
      const std::vector<int> to_target = maze_distances(m, m.target);
      float* z = out.data() + b * T * V;
      if (std::find(row + cut + 1, row + T, t.mask) != row + T) {
        const std::vector<int32_t> answer = maze_answer(m, t);
        for (int64_t k = 0; k < int64_t(answer.size()) && cut + 1 + k < T; ++k)
          z[(cut + 1 + k) * V + answer[size_t(k)]] = 1.f;
        return;
      }
      z[cut * V + t.cell(m.origin, n)] = 1.f;
      for (int64_t i = cut + 1; i < T; ++i) {
        const int32_t tok = row[i];
        const int r = tok / t.max_n, c = tok % t.max_n;
        if (tok < 0 || tok >= t.adj || r >= n || c >= n) break;  // END or padding: path over
        const int cell = r * n + c;
        if (cell == m.target) {
          z[i * V + t.end] = 1.f;
          continue;
        }
        int nb[4];
        const int k = m.neighbours(cell, nb);
        for (int j = 0; j < k; ++j)
          if (to_target[size_t(nb[j])] == to_target[size_t(cell)] - 1) {
            z[i * V + t.cell(nb[j], n)] = 1.f;
            break;
          }
      }
    });
    return out;
  }
};

}  // namespace

void register_maze_bfs(std::vector<BaselineInfo>& r) {
  r.push_back(baseline_info<MazeBfs>(
      "maze_bfs", "breadth-first search: a shortest path through the maze (token task maze)", {}));
}

}  // namespace icl

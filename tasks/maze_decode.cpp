#include "tasks/maze_decode.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "tasks/maze_paths.h"

namespace icl {

namespace {

// The predictor's scores [B, T, V] for the live prompts (B of them), each row its prefix then its
// answer so far, padded to T with `pad`; V is returned in `vocab`.
std::vector<float> score_rows(const Predictor& p, const std::vector<std::vector<int32_t>>& prefixes,
                              const std::vector<std::vector<int32_t>>& out,
                              const std::vector<size_t>& live, int64_t T, int64_t length,
                              int32_t pad, int64_t& vocab) {
  const int64_t B = int64_t(live.size());
  TokenPrompts pb;
  pb.allocate(B, length, T, pad);
  for (int64_t b = 0; b < B; ++b) {
    const size_t i = live[size_t(b)];
    int32_t* row = pb.tokens.data() + b * T;
    std::copy(prefixes[i].begin(), prefixes[i].end(), row);
    std::copy(out[i].begin(), out[i].end(), row + prefixes[i].size());
  }
  std::vector<float> scores = p.predict(PromptBatch(std::move(pb)));
  ICL_ASSERT(B > 0 && int64_t(scores.size()) % (B * T) == 0);
  vocab = int64_t(scores.size()) / (B * T);
  return scores;
}

}  // namespace

std::vector<std::vector<int32_t>> greedy_decode(const Predictor& p,
                                                const std::vector<std::vector<int32_t>>& prefixes,
                                                int32_t stop, int32_t pad, int64_t cap,
                                                int64_t length, int64_t batch_size) {
  ICL_ASSERT(batch_size > 0 && cap >= 0);
  std::vector<std::vector<int32_t>> out(prefixes.size());
  for (size_t first = 0; first < prefixes.size(); first += size_t(batch_size)) {
    const size_t last = std::min(prefixes.size(), first + size_t(batch_size));
    std::vector<size_t> live;
    for (size_t i = first; i < last; ++i) {
      ICL_ASSERT(!prefixes[i].empty());
      live.push_back(i);
    }
    for (int64_t step = 0; step < cap && !live.empty(); ++step) {
      // Only the live prefixes are run, and only as long as the longest of them: finished ones
      // and positions past every prefix would cost a forward pass for nothing.
      int64_t T = 0;
      for (size_t i : live) T = std::max(T, int64_t(prefixes[i].size() + out[i].size()));
      const int64_t B = int64_t(live.size());
      int64_t V = 0;
      const std::vector<float> scores = score_rows(p, prefixes, out, live, T, length, pad, V);
      std::vector<size_t> still;
      for (int64_t b = 0; b < B; ++b) {
        const size_t i = live[size_t(b)];
        const int64_t t = int64_t(prefixes[i].size() + out[i].size()) - 1;
        const float* z = scores.data() + (b * T + t) * V;
        const int32_t next = int32_t(std::max_element(z, z + V) - z);
        out[i].push_back(next);
        if (next != stop) still.push_back(i);
      }
      live = std::move(still);
    }
  }
  return out;
}

std::vector<std::vector<int32_t>> unmask_decode(const Predictor& p,
                                                const std::vector<std::vector<int32_t>>& prefixes,
                                                int64_t slots, int32_t mask, int32_t stop,
                                                int32_t pad, int64_t per_step, bool left_to_right,
                                                int64_t length, int64_t batch_size) {
  ICL_ASSERT(batch_size > 0 && slots >= 0 && per_step > 0);
  std::vector<std::vector<int32_t>> out(prefixes.size(),
                                        std::vector<int32_t>(static_cast<size_t>(slots), mask));
  const auto masked_left = [&](size_t i) {
    return std::find(out[i].begin(), out[i].end(), mask) != out[i].end();
  };
  for (size_t first = 0; first < prefixes.size(); first += size_t(batch_size)) {
    const size_t last = std::min(prefixes.size(), first + size_t(batch_size));
    int64_t T = 0;
    std::vector<size_t> live;
    for (size_t i = first; i < last; ++i) {
      ICL_ASSERT(!prefixes[i].empty());
      T = std::max(T, int64_t(prefixes[i].size()) + slots);
      if (masked_left(i)) live.push_back(i);
    }
    // Only prompts with masked slots left are run: one whose answer ended early costs no passes.
    while (!live.empty()) {
      const int64_t B = int64_t(live.size());
      int64_t V = 0;
      const std::vector<float> scores = score_rows(p, prefixes, out, live, T, length, pad, V);
      std::vector<size_t> still;
      for (int64_t b = 0; b < B; ++b) {
        const size_t i = live[size_t(b)];
        struct Pick {
          double confidence;
          int64_t slot;
          int32_t token;
        };
        std::vector<Pick> picks;
        for (int64_t k = 0; k < slots; ++k) {
          if (out[i][size_t(k)] != mask) continue;
          const float* z = scores.data() + (b * T + int64_t(prefixes[i].size()) + k) * V;
          const int64_t best = std::max_element(z, z + V) - z;
          // Largest softmax probability 1 / Σ exp(z − max), in double so that near-certain
          // slots still order by their margin.
          double sum = 0;
          for (int64_t v = 0; v < V; ++v) sum += std::exp(double(z[v]) - double(z[best]));
          picks.push_back({left_to_right ? 0.0 : 1.0 / sum, k, int32_t(best)});
        }
        const size_t take = std::min(picks.size(), size_t(per_step));
        std::partial_sort(picks.begin(), picks.begin() + std::ptrdiff_t(take), picks.end(),
                          [](const Pick& a, const Pick& c) {
                            return a.confidence != c.confidence ? a.confidence > c.confidence
                                                                : a.slot < c.slot;
                          });
        for (size_t j = 0; j < take; ++j) out[i][size_t(picks[j].slot)] = picks[j].token;
        // The answer ends at its first stop: the masked slots after it are not decoded.
        const auto end = std::find(out[i].begin(), out[i].end(), stop);
        if (end != out[i].end()) std::replace(end, out[i].end(), mask, stop);
        if (masked_left(i)) still.push_back(i);
      }
      live = std::move(still);
    }
  }
  return out;
}

PathScore score_maze_path(const Maze& m, const std::vector<int32_t>& generated,
                          const MazeTokens& t) {
  PathScore s;
  {
    const std::vector<int32_t> answer = maze_answer(m, t);
    const size_t L = size_t(std::find(answer.begin(), answer.end(), t.end) - answer.begin()) + 1;
    size_t right = 0;
    for (size_t k = 0; k < L && k < generated.size(); ++k) right += generated[k] == answer[k];
    s.token = double(right) / double(L);
    s.first_move = generated.size() >= 2 && generated[0] == answer[0] && generated[1] == answer[1];
  }
  const auto end = std::find(generated.begin(), generated.end(), t.end);
  if (end == generated.end()) return s;
  std::vector<int> path;
  for (auto it = generated.begin(); it != end; ++it) {
    const int32_t tok = *it;
    if (tok < 0 || tok >= t.adj) return s;
    const int r = tok / t.max_n, c = tok % t.max_n;
    if (r >= m.n || c >= m.n) return s;
    path.push_back(r * m.n + c);
  }
  s.valid = is_valid_path(m, path);
  s.exact = s.valid && is_shortest_path(m, path);
  return s;
}

std::vector<PathScore> maze_path_scores(const Predictor& p, const TokenPrompts& pb,
                                        const Task& task) {
  const int64_t max_n = task.params().i("max_n");
  ICL_ASSERT(max_n > 0);
  const MazeTokens t = maze_tokens(max_n);
  const int64_t B = pb.batch, T = pb.seq_len, n = pb.n_examples;
  const int32_t pad = int32_t(maze_vocab(max_n) - 1);
  std::vector<std::vector<int32_t>> prefixes(static_cast<size_t>(B));
  std::vector<Maze> mazes;
  for (int64_t b = 0; b < B; ++b) {
    const int32_t* row = pb.tokens.data() + b * T;
    const int64_t cut = std::find(row, row + T, t.path) - row;
    if (cut == T) fail("maze path metrics: prompt {} has no PATH token", b);
    prefixes[size_t(b)].assign(row, row + cut + 1);
    mazes.push_back(maze_from_tokens(row, cut, max_n, int(n)));
  }
  const auto generated =
      maze_objective(task) == MazeObjective::MlmU
          ? unmask_decode(p, prefixes, maze_answer_slots(n), t.mask, t.end, pad,
                          maze_unmask_per_step(task), maze_unmask_left_to_right(task), n)
          : greedy_decode(p, prefixes, t.end, pad, n * n + 1, n);
  std::vector<PathScore> scores;
  for (int64_t b = 0; b < B; ++b)
    scores.push_back(score_maze_path(mazes[size_t(b)], generated[size_t(b)], t));
  return scores;
}

}  // namespace icl

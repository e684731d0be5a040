#include "eval/maze_decode.h"

#include <algorithm>

#include "baselines/maze_bfs.h"
#include "core/error.h"

namespace icl {

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
      PromptBatch pb;
      pb.allocate_tokens(B, length, T, pad);
      for (int64_t b = 0; b < B; ++b) {
        const size_t i = live[size_t(b)];
        int32_t* row = pb.tokens.data() + b * T;
        std::copy(prefixes[i].begin(), prefixes[i].end(), row);
        std::copy(out[i].begin(), out[i].end(), row + prefixes[i].size());
      }
      const std::vector<float> scores = p.predict(pb);
      ICL_ASSERT(B > 0 && int64_t(scores.size()) % (B * T) == 0);
      const int64_t V = int64_t(scores.size()) / (B * T);
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

PathScore score_maze_path(const Maze& m, const std::vector<int32_t>& generated,
                          const MazeTokens& t) {
  const auto end = std::find(generated.begin(), generated.end(), t.end);
  if (end == generated.end()) return {};
  std::vector<int> path;
  for (auto it = generated.begin(); it != end; ++it) {
    const int32_t tok = *it;
    if (tok < 0 || tok >= t.adj) return {};
    const int r = tok / t.max_n, c = tok % t.max_n;
    if (r >= m.n || c >= m.n) return {};
    path.push_back(r * m.n + c);
  }
  PathScore s;
  s.valid = is_valid_path(m, path);
  s.exact = s.valid && is_shortest_path(m, path);
  return s;
}

std::vector<PathScore> maze_path_scores(const Predictor& p, const PromptBatch& pb, int64_t max_n) {
  ICL_ASSERT(pb.encoding == Encoding::Token);
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
  const auto generated = greedy_decode(p, prefixes, t.end, pad, n * n + 1, n);
  std::vector<PathScore> scores;
  for (int64_t b = 0; b < B; ++b)
    scores.push_back(score_maze_path(mazes[size_t(b)], generated[size_t(b)], t));
  return scores;
}

int64_t maze_max_n(const Task& task) {
  return task.name() == "maze" ? task.params().i("max_n") : 0;
}

}  // namespace icl

#include "eval/spectrum.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <numbers>

#include "core/error.h"
#include "core/parallel.h"

namespace icl {

std::vector<double> amplitude_spectrum(const std::vector<double>& g) {
  const int64_t M = int64_t(g.size());
  ICL_ASSERT(M > 0);
  std::vector<double> out(size_t(M / 2 + 1));
  // A direct DFT: M is a few hundred at most and this runs once per prompt.
  for (int64_t m = 0; m <= M / 2; ++m) {
    std::complex<double> s = 0.0;
    for (int64_t j = 0; j < M; ++j)
      s +=
          g[size_t(j)] * std::polar(1.0, -2.0 * std::numbers::pi * double((m * j) % M) / double(M));
    const bool edge = m == 0 || 2 * m == M;
    out[size_t(m)] = std::abs(s) / double(M) * (edge ? 1.0 : 2.0);
  }
  return out;
}

std::vector<std::vector<double>> prediction_spectra(const Task& task,
                                                    const std::vector<const Predictor*>& predictors,
                                                    const RngKey& key, const SpectrumConfig& cfg,
                                                    int64_t batch_size) {
  const int64_t M = cfg.points, C = cfg.context, F = M / 2 + 1;
  std::vector<std::vector<double>> sum(predictors.size(), std::vector<double>(size_t(F), 0.0));
  // Every (prompt, grid point) pair is one prompt of C+1 examples whose last input is the grid
  // point, so any predictor answers it through the ordinary call; about batch_size of them at once.
  const int64_t chunk = std::max<int64_t>(1, batch_size / M);
  for (int64_t first = 0; first < cfg.prompts; first += chunk) {
    const int64_t B = std::min(chunk, cfg.prompts - first);
    const PromptBatch sampled = task.sample(key, first, B, std::max<int64_t>(C, 1));
    const VectorPrompts* sp = sampled.get<VectorPrompts>();
    if (!sp)
      fail("spectrum: needs vector prompts with dx = dy = 1, task {} gives {} prompts", task.name(),
           to_string(sampled.kind()));
    const VectorPrompts& src = *sp;
    if (src.dx != 1 || src.dy != 1)
      fail("spectrum: needs vector prompts with dx = dy = 1, task {} gives dx = {}, dy = {}",
           task.name(), src.dx, src.dy);
    VectorPrompts q;
    q.loss = src.loss;
    q.x_cov = src.x_cov;
    q.allocate(B * M, C + 1, 1, 1, false);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t j = 0; j < M; ++j) {
        const int64_t row = (b * M + j) * (C + 1);
        for (int64_t k = 0; k < C; ++k) {
          q.xs[size_t(row + k)] = *src.x(b, k);
          q.ys[size_t(row + k)] = *src.y(b, k);
        }
        q.xs[size_t(row + C)] = float(cfg.lo + (cfg.hi - cfg.lo) * double(j) / double(M));
        q.ys[size_t(row + C)] = 0.f;  // never seen: the prediction at C uses examples 0..C-1
      }
    const PromptBatch queries(std::move(q));
    for (size_t i = 0; i < predictors.size(); ++i) {
      const std::vector<float> pred = predictors[i]->predict(queries);
      ICL_ASSERT(int64_t(pred.size()) == B * M * (C + 1));
      std::vector<std::vector<double>> amp(static_cast<size_t>(B));
      parallel_for(B, [&](int64_t b) {
        std::vector<double> g(static_cast<size_t>(M));
        for (int64_t j = 0; j < M; ++j) g[size_t(j)] = pred[size_t((b * M + j) * (C + 1) + C)];
        amp[size_t(b)] = amplitude_spectrum(g);
      });
      for (const auto& a : amp)
        for (int64_t m = 0; m < F; ++m) sum[i][size_t(m)] += a[size_t(m)];
    }
  }
  for (auto& s : sum)
    for (auto& v : s) v /= double(cfg.prompts);
  return sum;
}

}  // namespace icl

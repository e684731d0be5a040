// Fourier-series regression of Panwar, Ahuja & Goyal 2024, "In-Context Learning through the
// Bayesian Prism" (ICLR 2024, arXiv 2306.04891; docs/TASKS.md §4.1):
//   fourier_series          f(x) = [a_0 + Σ_{n=1..N} a_n cos(nπx/L) + b_n sin(nπx/L)] / √N,
//                           a, b ~ N(0, 1), x ~ U[−L, L], y = f(x) + noise_std·ε
//   fourier_series_mixture  the same with N ~ U{1..N} drawn per prompt (the union of the classes
//                           with maximum frequency 1..N) and scaled by the prompt's own √N
// Definitions checked against the authors' code (github.com/mdrpanwar/icl-bayesian-prism,
// src/tasks.py FourierSeriesV2 and FourierSeries, src/conf/fourier_series*.yaml): coefficients
// N(0, 1), `standardize` divides by √max_frequency, L = 5, inputs U[−5, 5] (data_kwargs a = −5,
// b = 5, here tied to L). The constant term a_0 follows each class of the authors' code: their
// fixed-N class (FourierSeriesV2) always has it, their mixture class (FourierSeries, registered as
// fourier_series_mixture) has none, its cosines starting at n = 1. So `intercept` defaults to true
// for fourier_series and to false for fourier_series_mixture (docs/TASKS.md §4.1). With the
// scaling, E f(x)² = (N+1)/N at every x (N/N = 1 without the intercept).
//
// Their curriculum ramps max_frequency 1 → 10: `train.curriculum.N` (configs/panwar2024).
//
// truth: [a_0, a_1..a_N, b_1..b_N, N_prompt] with the 1/√N_prompt scaling applied (f(x) =
// truth[0..2N] · features(x), tasks/fourier.h), zero above the prompt's frequency.
// x is rounded to float before f is evaluated, so the stored (x, y) pair is exact up to y's own
// rounding: the Bayesian baselines rely on noiseless data being exactly consistent.
#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "core/error.h"
#include "core/parallel.h"
#include "tasks/fourier.h"
#include "tasks/param_limits.h"
#include "tasks/task.h"

namespace icl {
namespace {

class FourierSeries final : public Task {
 public:
  FourierSeries(const std::string& name, const ParamSet& p, bool mixture)
      : Task(name, p),
        mixture_(mixture),
        n_(p.i("N")),
        L_(p.r("L")),
        noise_(p.r("noise_std")),
        intercept_(p.b("intercept")) {}

  Metric metric() const override { return Metric::SquaredError; }

  PromptBatch sample(const RngKey& key, int64_t first, int64_t batch, int64_t K) const override {
    check_examples(K);
    VectorPrompts pb;
    pb.allocate(batch, K, 1, 1, false);
    pb.truth_dim = 2 * n_ + 2;
    pb.truth.assign(size_t(batch * pb.truth_dim), 0.f);
    const RngKey noise_key = key.sub("noise");
    parallel_for(batch, [&](int64_t b) {
      sample_one(Rng(key, uint64_t(first + b)), Rng(noise_key, uint64_t(first + b)), pb, b);
    });
    return PromptBatch(std::move(pb));
  }

 private:
  void sample_one(Rng rng, Rng noise_rng, VectorPrompts& pb, int64_t b) const {
    // Draw order is part of the format: the prompt's N (mixture only), all 2N+1 coefficients, then
    // the K inputs; the label noise comes from its own stream, one normal per example, drawn only
    // when noise_std > 0 (so noisy and noiseless runs see the same functions and inputs). A prompt
    // with K+1 examples extends the one with K.
    const int64_t np = mixture_ ? 1 + int64_t(rng.below(uint64_t(n_))) : n_;
    const int64_t K = pb.n_examples;
    const size_t pairs = size_t(n_ + 1);  // 2N+1 normals take N+1 Box–Muller pairs
    // The examples in blocks of kLanes, padded: each block's harmonics run in registers.
    constexpr size_t kLanes = 16;
    const size_t Kp = (size_t(K) + kLanes - 1) / kLanes * kLanes;
    // Scratch reused across the prompts a thread generates: no allocation per prompt.
    thread_local std::vector<double> c, coef, s1, c1, y, noise;
    thread_local std::vector<uint32_t> words;
    c.resize(2 * pairs);
    coef.resize(size_t(2 * np + 1));
    for (auto* v : {&s1, &c1, &y}) v->resize(Kp);
    noise.resize(size_t(K));
    // The coefficients' words, then two per input, in one fetch: the words normals(2N+1) and K
    // uniform() calls would take, in that order (an odd count's spare normal is never used).
    words.resize(4 * pairs + 2 * size_t(K));
    rng.next_u32s(words.data(), words.size());
    Rng::normals_from(words.data(), pairs, c.data());
    if (!intercept_) c[0] = 0.0;
    const double scale = 1.0 / std::sqrt(double(np));
    coef[0] = c[0] * scale;  // in the basis of tasks/fourier.h for frequency np
    for (int64_t n = 1; n <= np; ++n) {
      coef[size_t(n)] = c[size_t(n)] * scale;
      coef[size_t(np + n)] = c[size_t(n_ + n)] * scale;
    }
    float* xs = pb.xs.data() + b * K;
    float* ys = pb.ys.data() + b * K;
    // f at all K inputs at once: the base angle's sin/cos, then the harmonics by rotation exactly
    // as fourier_features computes them, so the stored labels are those the Bayesian baselines'
    // features give. x_k = uniform(−L, L).
    const uint32_t* xw = words.data() + 4 * pairs;
    for (int64_t k = 0; k < K; ++k)
      xs[k] = float(-L_ + 2.0 * L_ * Rng::uniform_from(xw[2 * k], xw[2 * k + 1]));
    const double w = std::numbers::pi / L_;
    // |w·x| <= π up to x's rounding to float, inside sincos_pi's Taylor range: the same values.
    // Padding lanes take x = 0 and are never stored.
    for (size_t k = 0; k < size_t(K); ++k) s1[k] = w * double(xs[k]);
    std::fill(s1.begin() + K, s1.end(), 0.0);
#pragma omp simd
    for (size_t k = 0; k < Kp; ++k) sincos_taylor(s1[k], s1[k], c1[k]);
    for (size_t k0 = 0; k0 < Kp; k0 += kLanes) {
      double cn[kLanes], sn[kLanes], yv[kLanes];
      const double* bc = c1.data() + k0;
      const double* bs = s1.data() + k0;
      for (size_t j = 0; j < kLanes; ++j) {
        cn[j] = bc[j];
        sn[j] = bs[j];
        yv[j] = coef[0];
      }
      for (int64_t n = 1; n <= np; ++n) {
        const double a = coef[size_t(n)], bn = coef[size_t(np + n)];
#pragma omp simd
        for (size_t j = 0; j < kLanes; ++j) {
          yv[j] += a * cn[j] + bn * sn[j];
          const double next_c = cn[j] * bc[j] - sn[j] * bs[j];
          sn[j] = sn[j] * bc[j] + cn[j] * bs[j];
          cn[j] = next_c;
        }
      }
      std::copy(yv, yv + kLanes, y.data() + k0);
    }
    if (noise_ > 0.0) {
      noise_rng.normals(noise.data(), noise.size());
      for (size_t k = 0; k < size_t(K); ++k) y[k] += noise_ * noise[k];
    }
    for (int64_t k = 0; k < K; ++k) ys[k] = float(y[size_t(k)]);
    float* t = pb.truth.data() + b * pb.truth_dim;
    for (int64_t n = 0; n <= np; ++n) t[n] = float(coef[size_t(n)]);
    for (int64_t n = 1; n <= np; ++n) t[n_ + n] = float(coef[size_t(np + n)]);
    t[2 * n_ + 1] = float(np);
  }

  bool mixture_;
  int64_t n_;
  double L_, noise_;
  bool intercept_;
};

ParamSpecs fourier_params(bool mixture) {
  return {
      ParamSpec::integer("N", 10,
                         mixture ? "largest maximum frequency; each prompt draws N' ~ U{1..N}"
                                 : "maximum frequency",
                         1, 1000),
      ParamSpec::real("L", 5.0, "half-period: frequencies nπ/L, inputs x ~ U[−L, L]", 1e-9,
                      kMaxScale),
      ParamSpec::real("noise_std", 0.0, "standard deviation of label noise", 0.0, kMaxScale),
      // Per class, as the authors' code: FourierSeriesV2 has a_0, the mixture class FourierSeries
      // has none.
      ParamSpec::boolean("intercept", !mixture,
                         mixture
                             ? "include a constant term a_0 (the authors' mixture class has none)"
                             : "include the constant term a_0 (as the authors' fixed-N class)"),
  };
}

TaskInfo fourier_info(std::string name, std::string summary, bool mixture) {
  return {std::move(name), std::move(summary), fourier_params(mixture),
          [mixture](const std::string& n, const ParamSet& p) -> std::unique_ptr<Task> {
            return std::make_unique<FourierSeries>(n, p, mixture);
          }};
}

}  // namespace

void register_fourier(std::vector<TaskInfo>& r) {
  r.push_back(fourier_info("fourier_series",
                           "Fourier series up to frequency N with N(0,1) coefficients / √N, x ~ "
                           "U[−L, L] (Panwar et al. 2024)",
                           false));
  r.push_back(fourier_info("fourier_series_mixture",
                           "Fourier series with the maximum frequency drawn per prompt from "
                           "U{1..N} (Panwar et al. 2024)",
                           true));
}

}  // namespace icl

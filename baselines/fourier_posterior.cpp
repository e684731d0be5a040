// Baselines for the Fourier-series tasks of Panwar et al. 2024 (tasks/fourier.cpp), all on the
// features of tasks/fourier.h:
//   fourier_least_squares      minimum-norm least squares on the sin/cos features
//   fourier_posterior          posterior mean under the task's prior c ~ N(0, I/N): ridge with
//                              λ = noise_std²·N; without noise its limit, minimum-norm least
//                              squares, which interpolates exactly once k >= 2N+1
//   fourier_mixture_posterior  the posterior mean for fourier_series_mixture: Σ_{N'} P(N'|data)
//                              times the N' posterior mean, P(N'|data) ∝ the marginal likelihood
//                              of the examples under N' (uniform prior over N' = 1..N)
// They know the task only through their own parameters (N, L, intercept, noise_std), which the
// config must set to the task's values: a mismatch makes them a different, worse predictor.
#include <algorithm>
#include <cmath>
#include <limits>

#include "baselines/baseline.h"
#include "baselines/bayes_linear.h"
#include "core/error.h"
#include "tasks/fourier.h"

namespace icl {
namespace {

// Features of every context input and every query of prompt p.
struct FeatureRows {
  MatD ctx, query;  // [K, dim]
};
FeatureRows features(const PromptView& p, int64_t n, double L, bool intercept) {
  const int64_t K = p.pb.n_examples, dim = fourier_dim(n, intercept);
  FeatureRows f{MatD(K, dim), MatD(K, dim)};
  VecD phi;
  for (int64_t k = 0; k < K; ++k) {
    fourier_features(double(*p.pb.x(p.b, k)), n, L, intercept, phi);
    f.ctx.row(k) = phi.transpose();
    fourier_features(double(*p.pb.query_x(p.b, k)), n, L, intercept, phi);
    f.query.row(k) = phi.transpose();
  }
  return f;
}

void check_dx(const PromptView& p, const std::string& name) {
  if (p.pb.dx != 1)
    fail("baseline {}: needs one-dimensional inputs (dx = 1), got dx = {}", name, p.pb.dx);
}

// Minimum-norm least squares refitted for every prefix (complete orthogonal decomposition; the
// feature dimension is at most a few dozen, so the refit is cheap next to the transformer).
void min_norm_curve(const PromptView& p, const FeatureRows& f, float* out) {
  const int64_t K = p.pb.n_examples;
  VecD y(K);
  for (int64_t k = 0; k < K; ++k) y(k) = p.y(k);
  for (int64_t k = 0; k < K; ++k) {
    if (k == 0) {
      out[k] = 0.f;
      continue;
    }
    const Eigen::CompleteOrthogonalDecomposition<MatD> cod(f.ctx.topRows(k));
    const VecD c = cod.solve(y.head(k));
    out[k] = float(f.query.row(k).dot(c));
  }
}

class FourierBaseline : public Baseline {
 public:
  FourierBaseline(const std::string& name, const ParamSet& p, const std::string& label)
      : Baseline(name, p, label), n_(p.i("N")), L_(p.r("L")), intercept_(p.b("intercept")) {}

 protected:
  int64_t n_;
  double L_;
  bool intercept_;
};

class FourierLeastSquares final : public FourierBaseline {
 public:
  FourierLeastSquares(const ParamSet& p, const std::string& label)
      : FourierBaseline("fourier_least_squares", p, label) {}

 private:
  void predict_prompt(const PromptView& p, float* out) const override {
    check_dx(p, name());
    min_norm_curve(p, features(p, n_, L_, intercept_), out);
  }
};

class FourierPosterior final : public FourierBaseline {
 public:
  FourierPosterior(const ParamSet& p, const std::string& label)
      : FourierBaseline("fourier_posterior", p, label), noise_(p.r("noise_std")) {}

 private:
  void predict_prompt(const PromptView& p, float* out) const override {
    check_dx(p, name());
    const FeatureRows f = features(p, n_, L_, intercept_);
    if (noise_ == 0.0) return min_norm_curve(p, f, out);
    BayesRidge post(f.ctx.cols(), noise_ * noise_ * double(n_));  // λ = σ²/τ², τ² = 1/N
    for (int64_t k = 0; k < p.pb.n_examples; ++k) {
      out[k] = float(f.query.row(k).dot(post.mean()));
      post.add(f.ctx.row(k).transpose(), p.y(k));
    }
  }
  double noise_;
};

class FourierMixturePosterior final : public FourierBaseline {
 public:
  FourierMixturePosterior(const ParamSet& p, const std::string& label)
      : FourierBaseline("fourier_mixture_posterior", p, label),
        noise_var_(evidence_noise_var(p, "fourier_mixture_posterior")) {}

 private:
  void predict_prompt(const PromptView& p, float* out) const override {
    check_dx(p, name());
    const FeatureRows f = features(p, n_, L_, intercept_);  // the largest model's features
    const int64_t K = p.pb.n_examples, off = intercept_ ? 1 : 0;
    // Columns of model N' within the largest model's layout: the intercept, cos 1..N', sin 1..N'.
    const auto cols = [&](const MatD& m, int64_t np, int64_t row) {
      VecD v(fourier_dim(np, intercept_));
      if (intercept_) v(0) = m(row, 0);
      v.segment(off, np) = m.row(row).segment(off, np).transpose();
      v.segment(off + np, np) = m.row(row).segment(off + n_, np).transpose();
      return v;
    };
    std::vector<BayesRidge> models;
    for (int64_t np = 1; np <= n_; ++np)
      models.emplace_back(fourier_dim(np, intercept_), noise_var_ * double(np));
    std::vector<double> logw(size_t(n_), 0.0);
    for (int64_t k = 0; k < K; ++k) {
      double top = -std::numeric_limits<double>::infinity();
      for (int64_t i = 0; i < n_; ++i) {
        logw[size_t(i)] = models[size_t(i)].log_evidence(noise_var_);
        top = std::max(top, logw[size_t(i)]);
      }
      double pred = 0.0, total = 0.0;
      for (int64_t i = 0; i < n_; ++i) {
        const double w = std::exp(logw[size_t(i)] - top);
        total += w;
        pred += w * cols(f.query, i + 1, k).dot(models[size_t(i)].mean());
      }
      out[k] = float(pred / total);
      for (int64_t i = 0; i < n_; ++i) models[size_t(i)].add(cols(f.ctx, i + 1, k), p.y(k));
    }
  }
  double noise_var_;
};

// `intercept` defaults as the task the baseline is made for: true for fourier_series, false for
// fourier_series_mixture (whose posterior fourier_mixture_posterior is), as tasks/fourier.cpp.
ParamSpecs fourier_baseline_params(bool noise, bool jitter, bool intercept) {
  ParamSpecs p = {
      ParamSpec::integer("N", 10, "maximum frequency (must match the task's N)", 1, 1000),
      ParamSpec::real("L", 5.0, "half-period (must match the task's L)", 1e-9),
      ParamSpec::boolean("intercept", intercept,
                         "include the constant feature (must match the task)"),
  };
  if (noise)
    p.push_back(ParamSpec::real("noise_std", 0.0,
                                "label noise the prior assumes (must match the task's)", 0.0));
  if (jitter)
    p.push_back(ParamSpec::real(
        "jitter", 1e-10,
        "variance added to noise_std² so noiseless evidence stays finite; must dwarf float32 "
        "rounding of y (~1e-13)",
        0.0));
  return p;
}

}  // namespace

void register_fourier_posterior(std::vector<BaselineInfo>& r) {
  r.push_back(baseline_info<FourierLeastSquares>(
      "fourier_least_squares", "minimum-norm least squares on the Fourier features up to N",
      fourier_baseline_params(false, false, true)));
  r.push_back(baseline_info<FourierPosterior>(
      "fourier_posterior",
      "Bayes posterior mean for fourier_series: ridge on the features with λ = noise_std²·N",
      fourier_baseline_params(true, false, true)));
  r.push_back(baseline_info<FourierMixturePosterior>(
      "fourier_mixture_posterior",
      "Bayes posterior mean for fourier_series_mixture: evidence-weighted over N' = 1..N",
      fourier_baseline_params(true, true, false)));
}

}  // namespace icl

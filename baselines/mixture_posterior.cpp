// Posterior mean for the Gaussian-mixture linear regression of Panwar et al. 2024
// (tasks/gaussian_mixture_regression.cpp): the prior on w is
//   mixing · N(+centre·e_1, Σ) + (1 − mixing) · N(−centre·e_1, Σ),  Σ = diag(centre_std²,
//   w_std²..),
// so the posterior is the mixture of the two Gaussian posteriors, each weighted by its prior
// weight times its evidence p(y | x, component). Each component is Bayesian ridge after writing
// w = m + Σ^{1/2} u, u ~ N(0, I): y − X m = (X Σ^{1/2}) u + noise, with the zero-variance
// coordinates (centre_std = 0) fixed at the mean rather than given an infinite precision.
// The parameters must match the task's (the config passes them; they are not read from the task).
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "baselines/baseline.h"
#include "baselines/bayes_linear.h"
#include "core/error.h"

namespace icl {
namespace {

class GmmPosterior final : public Baseline {
 public:
  GmmPosterior(const ParamSet& p, const std::string& label)
      : Baseline("gmm_posterior", p, label),
        centre_(p.r("centre")),
        centre_std_(p.r("centre_std")),
        w_std_(p.r("w_std")),
        mixing_(p.r("mixing")),
        noise_var_(evidence_noise_var(p, "gmm_posterior")) {}

 private:
  void predict_prompt(const PromptView& p, float* out) const override {
    const int64_t K = p.pb.n_examples, d = p.pb.dx;
    VecD sd = VecD::Constant(d, w_std_);  // prior standard deviations Σ^{1/2}
    sd(0) = centre_std_;
    std::vector<int64_t> free;  // coordinates with prior variance
    for (int64_t i = 0; i < d; ++i)
      if (sd(i) > 0.0) free.push_back(i);
    const int64_t f = int64_t(free.size());
    const std::array<double, 2> sign = {1.0, -1.0}, prior = {mixing_, 1.0 - mixing_};
    std::vector<BayesRidge> comp(2, BayesRidge(f, noise_var_));  // τ² = 1 in u
    VecD x(d), q(d), a(f);
    for (int64_t k = 0; k < K; ++k) {
      p.query_into(k, q);
      double logw[2], pred[2], top = -std::numeric_limits<double>::infinity();
      for (int c = 0; c < 2; ++c) {
        if (prior[size_t(c)] <= 0.0) continue;
        logw[c] = std::log(prior[size_t(c)]) + comp[size_t(c)].log_evidence(noise_var_);
        const VecD u = comp[size_t(c)].mean();
        pred[c] = sign[size_t(c)] * centre_ * q(0);
        for (int64_t j = 0; j < f; ++j) pred[c] += q(free[size_t(j)]) * sd(free[size_t(j)]) * u(j);
        top = std::max(top, logw[c]);
      }
      double num = 0.0, den = 0.0;
      for (int c = 0; c < 2; ++c) {
        if (prior[size_t(c)] <= 0.0) continue;
        const double w = std::exp(logw[c] - top);
        num += w * pred[c];
        den += w;
      }
      out[k] = float(num / den);
      p.x_into(k, x);
      for (int64_t j = 0; j < f; ++j) a(j) = x(free[size_t(j)]) * sd(free[size_t(j)]);
      for (int c = 0; c < 2; ++c) comp[size_t(c)].add(a, p.y(k) - sign[size_t(c)] * centre_ * x(0));
    }
  }
  double centre_, centre_std_, w_std_, mixing_, noise_var_;
};

}  // namespace

void register_mixture_posterior(std::vector<BaselineInfo>& r) {
  r.push_back(baseline_info<GmmPosterior>(
      "gmm_posterior",
      "Bayes posterior mean for gaussian_mixture_regression: evidence-weighted component means",
      {
          ParamSpec::real("centre", 3.0, "component means ±centre·e_1 (must match the task)", 0.0),
          ParamSpec::real("centre_std", 0.0, "std of w_1 around ±centre (must match the task)",
                          0.0),
          ParamSpec::real("w_std", 1.0, "std of w_2..w_d (must match the task)", 0.0),
          ParamSpec::real("mixing", 0.5, "probability of +centre (must match the task)", 0.0, 1.0),
          ParamSpec::real("noise_std", 0.0, "label noise (must match the task)", 0.0),
          ParamSpec::real("jitter", 1e-10,
                          "variance added to noise_std² so noiseless evidence stays finite", 0.0),
      }));
}

}  // namespace icl

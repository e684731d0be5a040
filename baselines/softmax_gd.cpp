// Gradient descent on the softmax-regression objective of the prefix (Li et al. 2024,
// docs/TASKS.md §5), the learner they compare one softmax self-attention layer with.
// Before example k (n = k examples seen) the prefix labels, renormalised, are the paper's target:
// b = y_{<k} / Σ y_{<k}, which equals softmax(A_{<k} x*) exactly for noiseless labels (a softmax
// restricted to a subset and renormalised is the subset's softmax). From x = 0, T steps
//   x ← x − η · n · Aᵀ(diag(f) − f fᵀ)(f − b),   f = softmax(A_{<k} x):
// the factor n makes the step that of the mean squared error on the labels' scale,
// 1/(2n) Σ_i (n f_i − n b_i)², whose gradient at 0 is ≈ −x* for any n, so η = 1 is the natural
// one-step size. The prediction carries the prefix's normaliser over to the query:
//   ŷ_k = exp(a_k·x) · Σ_{i<k} y_i / Σ_{i<k} exp(a_i·x),
// which is y_k exactly when x = x* and the labels are noiseless. With no prefix, or a prefix whose
// labels do not sum to a positive number (noise), it predicts the labels' mean, 1.
#include <cmath>

#include "baselines/baseline.h"
#include "baselines/softmax_objective.h"

namespace icl {
namespace {

class SoftmaxGd final : public Baseline {
 public:
  SoftmaxGd(const ParamSet& p, const std::string& label)
      : Baseline("softmax_gd", p, label), steps_(p.i("steps")), eta_(p.r("lr")) {}

 private:
  void predict_prompt(const PromptView& p, float* out) const override {
    const int64_t d = p.pb.dx, K = p.pb.n_examples;
    MatD A(K, d);
    VecD y(K);
    for (int64_t k = 0; k < K; ++k) {
      A.row(k) = p.x(k).transpose();
      y(k) = p.y(k);
    }
    for (int64_t k = 0; k < K; ++k) {
      const double total = y.head(k).sum();
      if (k == 0 || !(total > 0.0)) {
        out[k] = 1.f;
        continue;
      }
      const auto Ak = A.topRows(k);
      const VecD b = y.head(k) / total;
      VecD x = VecD::Zero(d);
      for (int64_t t = 0; t < steps_; ++t)
        x -= eta_ * double(k) * softmax_regression_gradient(Ak, b, x);
      const VecD z = Ak * x;
      const double q = p.query(k).dot(x), m = std::max(z.maxCoeff(), q);
      double denom = 0;
      for (const double v : z) denom += std::exp(v - m);
      out[k] = float(std::exp(q - m) * total / denom);
    }
  }
  int64_t steps_;
  double eta_;
};

}  // namespace

void register_softmax_gd(std::vector<BaselineInfo>& r) {
  r.push_back(baseline_info<SoftmaxGd>(
      "softmax_gd",
      "T GD steps from 0 on the prefix's softmax-regression loss, then the softmax prediction",
      {ParamSpec::integer("steps", 1, "number of GD steps T", 1, 1e7),
       ParamSpec::real("lr", 1.0, "step size η (on the mean squared error of the labels' scale)",
                       1e-300)}));
}

}  // namespace icl

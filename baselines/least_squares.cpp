// Least squares (minimum-norm while the examples do not determine w) and ridge regression, both
// from the incremental QR: O(d²) per added example instead of a fresh fit per prefix.
#include "baselines/baseline.h"
#include "baselines/incremental_qr.h"
#include "baselines/min_norm_least_squares.h"

namespace icl {
namespace {

// Minimum-norm least squares on the inputs (baselines/min_norm_least_squares.h).
class LeastSquares final : public Baseline {
 public:
  LeastSquares(const ParamSet& p, const std::string& label)
      : Baseline("least_squares", p, label), rcond_(p.r("rcond")) {}

 private:
  void predict_prompt(const PromptView& p, float* out) const override {
    const int64_t K = p.pb.n_examples, d = p.pb.dx;
    MinNormLeastSquares ls(d, rcond_);
    VecD x(d);
    for (int64_t k = 0; k < K; ++k) {
      out[k] = float(ls.predict(p.query_into(k, x)));
      ls.add(p.x_into(k, x), p.y(k));
    }
  }
  double rcond_;
};

// Minimum-norm least squares on the window's stacked inputs φ_k = (x_k, x_{k−1}, …, x_{k−W+1})
// (zeros before the prompt starts): the exact learner of sliding_window_regression, whose labels
// are linear in φ_k. Exact once the examples' φ span the W·d-dimensional space.
class WindowLeastSquares final : public Baseline {
 public:
  WindowLeastSquares(const ParamSet& p, const std::string& label)
      : Baseline("window_least_squares", p, label), window_(p.i("window")), rcond_(p.r("rcond")) {}

 private:
  void predict_prompt(const PromptView& p, float* out) const override {
    const int64_t K = p.pb.n_examples, d = p.pb.dx;
    MinNormLeastSquares ls(window_ * d, rcond_);
    VecD phi(window_ * d), x(d);
    // φ of example k with its own input `own` (the query when predicting, x_k when learning).
    auto stack = [&](int64_t k, const VecD& own) -> const VecD& {
      phi.head(d) = own;
      for (int64_t j = 1; j < window_; ++j)
        phi.segment(j * d, d) = k - j >= 0 ? p.x_into(k - j, x) : VecD::Zero(d).eval();
      return phi;
    };
    VecD own(d);
    for (int64_t k = 0; k < K; ++k) {
      out[k] = float(ls.predict(stack(k, p.query_into(k, own))));
      ls.add(stack(k, p.x_into(k, own)), p.y(k));
    }
  }
  int64_t window_;
  double rcond_;
};

// Ridge: ŵ = argmin ‖Xw − y‖² + λ‖w‖², i.e. least squares on the rows of X stacked on √λ·I.
class Ridge final : public Baseline {
 public:
  Ridge(const ParamSet& p, const std::string& label)
      : Baseline("ridge", p, label), lambda_(p.r("lambda")) {}

 private:
  void predict_prompt(const PromptView& p, float* out) const override {
    const int64_t K = p.pb.n_examples, d = p.pb.dx;
    IncrementalQR qr(d, d, std::sqrt(lambda_));
    VecD w = VecD::Zero(d), x(d);
    for (int64_t k = 0; k < K; ++k) {
      out[k] = float(p.query_into(k, x).dot(w));
      qr.add_row(p.x_into(k, x), p.y(k));
      w = qr.solve();
    }
  }
  double lambda_;
};

}  // namespace

void register_least_squares(std::vector<BaselineInfo>& r) {
  r.push_back(baseline_info<LeastSquares>(
      "least_squares", "minimum-norm least squares on the examples so far (0 with no examples)",
      {ParamSpec::real("rcond", 1e-6, "relative size below which an input adds no new direction",
                       0.0, 1.0)}));
  r.push_back(baseline_info<WindowLeastSquares>(
      "window_least_squares",
      "minimum-norm least squares on the stacked inputs of a sliding window (x_k, …, x_{k−W+1})",
      {ParamSpec::integer("window", 3,
                          "window length W (must match the sliding_window_regression task's)", 1,
                          4096),
       ParamSpec::real("rcond", 1e-6, "relative size below which an input adds no new direction",
                       0.0, 1.0)}));
  r.push_back(baseline_info<Ridge>(
      "ridge", "ridge regression argmin ‖Xw − y‖² + λ‖w‖² (Bayes-optimal with λ = σ²/τ²)",
      {ParamSpec::real("lambda", 0.1, "regularisation strength λ", 1e-300)}));
}

}  // namespace icl

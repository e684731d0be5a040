// Least squares (minimum-norm while the examples do not determine w) and ridge regression, both
// from the incremental QR: O(d²) per added example instead of a fresh fit per prefix.
#include "baselines/baseline.h"
#include "baselines/incremental_qr.h"

namespace icl {
namespace {

// Minimum-norm least squares. The context inputs span a subspace with orthonormal basis Q (d×r);
// in those coordinates the problem has full column rank and its solution c gives ŵ = Q c, the
// minimum-norm minimiser. A new input adds a basis direction when its component outside span(Q)
// exceeds rcond·‖x‖ (inputs are float32, so smaller components are rounding).
class LeastSquares final : public Baseline {
 public:
  LeastSquares(const ParamSet& p, const std::string& label)
      : Baseline("least_squares", p, label), rcond_(p.r("rcond")) {}

 private:
  void predict_prompt(const PromptView& p, float* out) const override {
    const int64_t K = p.pb.n_examples, d = p.pb.dx;
    MatD basis(d, d);  // first r columns: orthonormal basis of the inputs so far
    IncrementalQR qr(d, 0, 0.0);
    VecD x(d), res(d), coords(d), w = VecD::Zero(d);  // w = Q c, the minimum-norm solution
    int64_t r = 0;
    for (int64_t k = 0; k < K; ++k) {
      out[k] = float(p.query_into(k, res).dot(w));
      p.x_into(k, x);
      if (r < d) {  // with a full basis every input is spanned
        const auto q = basis.leftCols(r);
        coords.head(r).noalias() = q.transpose() * x;
        res = x;
        res.noalias() -= q * coords.head(r);
        coords.head(r).noalias() = q.transpose() * res;  // second pass: orthogonal to rounding
        res.noalias() -= q * coords.head(r);
        const double rn = res.norm();
        if (rn > rcond_ * x.norm()) {
          basis.col(r++) = res / rn;
          qr.grow();
        }
      }
      if (r == 0) continue;  // x = 0 so far: nothing to learn from
      coords.head(r).noalias() = basis.leftCols(r).transpose() * x;
      qr.add_row(coords, p.y(k));
      w.noalias() = basis.leftCols(r) * qr.solve().head(r);
    }
  }
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
  r.push_back(baseline_info<Ridge>(
      "ridge", "ridge regression argmin ‖Xw − y‖² + λ‖w‖² (Bayes-optimal with λ = σ²/τ²)",
      {ParamSpec::real("lambda", 0.1, "regularisation strength λ", 1e-300)}));
}

}  // namespace icl

// Gradient descent on the squared loss L(w) = 1/(2N) Σ_i (x_i·w − y_i)², T steps of size η from
// w = 0 (Akyürek et al. 2023). The iterates only depend on the sufficient statistics
// G = Σ x_i x_iᵀ and s = Σ y_i x_i, which are updated once per example; with G/N = U diag(μ) Uᵀ the
// T steps are w_T = Σ_j [(1 − (1 − ημ_j)^T) / μ_j] (u_j·s/N) u_j (→ ηT·(u_j·s/N) when μ_j = 0),
// so a prefix costs O(d³) whatever T.
#include <Eigen/Eigenvalues>
#include <cmath>

#include "baselines/baseline.h"

namespace icl {
namespace {

// (1 − (1 − ημ)^T) / μ, accurate for small ημ.
double gd_filter(double mu, double eta, double steps) {
  const double a = eta * mu;
  if (std::abs(a) < 1e-300) return eta * steps;
  const double one_minus =
      a < 1.0 ? -std::expm1(steps * std::log1p(-a)) : 1.0 - std::pow(1.0 - a, steps);
  return one_minus / mu;
}

class GradientDescent final : public Baseline {
 public:
  GradientDescent(const ParamSet& p, const std::string& label)
      : Baseline("gradient_descent", p, label), steps_(double(p.i("steps"))), eta_(p.r("lr")) {}

 private:
  void predict_prompt(const PromptView& p, float* out) const override {
    const int64_t d = p.pb.dx;
    MatD g = MatD::Zero(d, d);
    VecD s = VecD::Zero(d);
    Eigen::SelfAdjointEigenSolver<MatD> eig(d);
    for (int64_t k = 0; k < p.pb.n_examples; ++k) {
      if (k == 0) {
        out[k] = 0.f;
      } else {
        const double n = double(k);
        eig.compute(g / n);
        const MatD& u = eig.eigenvectors();
        VecD coef = u.transpose() * (s / n);
        for (int64_t j = 0; j < d; ++j) coef(j) *= gd_filter(eig.eigenvalues()(j), eta_, steps_);
        out[k] = float(p.query(k).dot(u * coef));
      }
      const VecD x = p.x(k);
      g.noalias() += x * x.transpose();
      s += p.y(k) * x;
    }
  }
  double steps_, eta_;
};

}  // namespace

void register_gradient_descent(std::vector<BaselineInfo>& r) {
  r.push_back(baseline_info<GradientDescent>(
      "gradient_descent", "T steps of GD with step η on the mean squared loss, from w = 0",
      {ParamSpec::integer("steps", 100, "number of GD steps T", 1, 1e12),
       ParamSpec::real("lr", 0.01, "step size η", 1e-300)}));
}

}  // namespace icl

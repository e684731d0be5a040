#include "baselines/lasso.h"

#include <cmath>

#include "baselines/baseline.h"

namespace icl {

double lasso_duality_gap(const Eigen::MatrixXd& g, const Eigen::VectorXd& s, double yy, double n,
                         double alpha, const Eigen::VectorXd& w) {
  const Eigen::VectorXd gw = g * w;
  const double rr = std::max(yy - 2.0 * w.dot(s) + w.dot(gw), 0.0);  // ‖y − Xw‖²
  const double ry = yy - w.dot(s);                                   // (y − Xw)·y
  const double dual_norm = (s - gw).cwiseAbs().maxCoeff();           // ‖Xᵀ(y − Xw)‖∞
  const double l1 = n * alpha;
  double gap = rr, scale = 1.0;
  if (dual_norm > l1) {
    scale = l1 / dual_norm;
    gap = 0.5 * (rr + rr * scale * scale);
  }
  return gap + l1 * w.lpNorm<1>() - scale * ry;
}

int64_t lasso_coordinate_descent(const Eigen::MatrixXd& g, const Eigen::VectorXd& s, double yy,
                                 double n, double alpha, Eigen::VectorXd& w, int64_t max_sweeps,
                                 double tol) {
  const double thresh = n * alpha;
  Eigen::VectorXd gw = g * w;  // kept current as w changes
  for (int64_t sweep = 1; sweep <= max_sweeps; ++sweep) {
    double moved = 0.0, largest = 0.0;
    for (int64_t j = 0; j < w.size(); ++j) {
      const double gjj = g(j, j);
      double next = 0.0;
      if (gjj > 0.0) {
        const double rho = s(j) - gw(j) + gjj * w(j);
        next = std::copysign(std::max(std::abs(rho) - thresh, 0.0), rho) / gjj;
      }
      const double delta = next - w(j);
      if (delta != 0.0) {
        gw += delta * g.col(j);
        w(j) = next;
        moved = std::max(moved, std::abs(delta));
      }
      largest = std::max(largest, std::abs(next));
    }
    if (largest == 0.0 || moved <= tol * largest || sweep == max_sweeps)
      if (lasso_duality_gap(g, s, yy, n, alpha, w) <= tol * yy) return sweep;
  }
  return max_sweeps;
}

namespace {

class Lasso final : public Baseline {
 public:
  Lasso(const ParamSet& p, const std::string& label)
      : Baseline("lasso", p, label),
        alpha_(p.r("alpha")),
        max_sweeps_(p.i("max_iter")),
        tol_(p.r("tol")) {}

 private:
  void predict_prompt(const PromptView& p, float* out) const override {
    const int64_t d = p.pb.dx;
    MatD g = MatD::Zero(d, d);
    VecD s = VecD::Zero(d), w = VecD::Zero(d);
    double yy = 0.0;
    for (int64_t k = 0; k < p.pb.n_examples; ++k) {
      out[k] = float(p.query(k).dot(w));  // w = 0 before any example
      const VecD x = p.x(k);
      g.noalias() += x * x.transpose();
      s += p.y(k) * x;
      yy += p.y(k) * p.y(k);
      lasso_coordinate_descent(g, s, yy, double(k + 1), alpha_, w, max_sweeps_, tol_);
    }
  }
  double alpha_;
  int64_t max_sweeps_;
  double tol_;
};

}  // namespace

void register_lasso(std::vector<BaselineInfo>& r) {
  r.push_back(baseline_info<Lasso>(
      "lasso", "Lasso 1/(2n)‖y − Xw‖² + α‖w‖₁ by coordinate descent, warm-started per prefix",
      {ParamSpec::real("alpha", 0.01, "L1 strength α (Garg et al.: 1, .1, .01, 1e-3, 1e-4)", 0.0),
       ParamSpec::integer("max_iter", 100000,
                          "maximum coordinate-descent sweeps (Garg et al.: 100000)", 1, 1e12),
       ParamSpec::real("tol", 1e-4,
                       "stop when the duality gap is below tol·‖y‖² (scikit-learn's rule)", 0.0)}));
}

}  // namespace icl

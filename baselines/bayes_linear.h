#pragma once
// Bayesian linear regression y = φ·c + σε, c ~ N(0, τ²I), updated one example at a time: the
// posterior mean is ridge with λ = σ²/τ², and the log evidence log p(y_1..y_k) comes out of the
// same factorisation. Used by the Fourier and Gaussian-mixture posterior baselines.
//
// Keeps R (p×p upper triangular) and z with RᵀR = ΦᵀΦ + λI and Rᵀz = Φᵀy (Givens rotations, as
// baselines/incremental_qr.h), plus rss = min_c ‖y − Φc‖² + λ‖c‖², the squared parts of the rows
// that the rotations leave over. Then, with C = σ²I_k + τ²ΦΦᵀ the covariance of y:
//   yᵀC⁻¹y = rss/σ²,   log|C| = k log σ² + log|ΦᵀΦ + λI| − p log λ,
// so the evidence never forms the k×k matrix and stays accurate when σ² is tiny.
#include <Eigen/Dense>
#include <cmath>
#include <numbers>
#include <string>

#include "core/error.h"
#include "core/params.h"

namespace icl {

// The noise variance a posterior-mixture baseline uses: noise_std² + jitter. Evidence weights of
// noiseless data are degenerate, so a zero total is an error naming the baseline.
inline double evidence_noise_var(const ParamSet& p, const std::string& baseline) {
  const double v = p.r("noise_std") * p.r("noise_std") + p.r("jitter");
  if (v <= 0.0)
    fail("{}: noise_std = 0 needs jitter > 0 (the evidence of noiseless data is degenerate)",
         baseline);
  return v;
}

class BayesRidge {
 public:
  BayesRidge(int64_t p, double lambda)
      : r_(Eigen::MatrixXd::Identity(p, p) * std::sqrt(lambda)),
        z_(Eigen::VectorXd::Zero(p)),
        a_(p),
        lambda_(lambda) {}

  void add(const Eigen::VectorXd& phi, double y) {
    const int64_t p = r_.rows();
    a_ = phi;
    for (int64_t j = 0; j < p; ++j) {
      if (a_(j) == 0.0) continue;
      const double h = std::hypot(r_(j, j), a_(j));
      const double c = r_(j, j) / h, s = a_(j) / h;
      for (int64_t l = j; l < p; ++l) {
        const double rl = r_(j, l), al = a_(l);
        r_(j, l) = c * rl + s * al;
        a_(l) = -s * rl + c * al;
      }
      const double zj = z_(j);
      z_(j) = c * zj + s * y;
      y = -s * zj + c * y;
    }
    rss_ += y * y;
    ++k_;
  }

  // Posterior mean of c (ridge solution).
  Eigen::VectorXd mean() const { return r_.triangularView<Eigen::Upper>().solve(z_); }

  // log p(y_1..y_k) under noise variance σ² = λτ² (the caller's λ fixes the ratio).
  double log_evidence(double noise_var) const {
    const int64_t p = r_.rows();
    double logdet = 0.0;
    for (int64_t j = 0; j < p; ++j) logdet += 2.0 * std::log(std::abs(r_(j, j)));
    return -0.5 * (rss_ / noise_var + double(k_) * std::log(2.0 * std::numbers::pi * noise_var) +
                   logdet - double(p) * std::log(lambda_));
  }

  int64_t examples() const { return k_; }

 private:
  Eigen::MatrixXd r_;
  Eigen::VectorXd z_, a_;
  double lambda_, rss_ = 0.0;
  int64_t k_ = 0;
};

}  // namespace icl

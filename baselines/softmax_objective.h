#pragma once
// The softmax-regression objective of Li et al. 2024 (arXiv 2304.13276, docs/TASKS.md §5):
//   L(x) = ½‖f(x) − b‖²,  f(x) = softmax(Ax) = exp(Ax) / ⟨exp(Ax), 1⟩,  A [n, d], b [n], x [d],
//   ∇L(x) = Aᵀ (diag(f) − f fᵀ)(f − b).
// The tests check the gradient against central finite differences of L; the softmax_gd baseline
// takes its steps along it.
#include <Eigen/Dense>
#include <cmath>

namespace icl {

// f = softmax(A x), shifted by the largest logit so no exp overflows.
// Scalar std::exp: GCC 12 reports Eigen's AVX-512 packet exp as reading uninitialised lanes.
inline Eigen::VectorXd softmax_of(const Eigen::MatrixXd& A, const Eigen::VectorXd& x) {
  Eigen::VectorXd z = A * x;
  const double m = z.maxCoeff();
  for (double& v : z) v = std::exp(v - m);
  return z / z.sum();
}

inline double softmax_regression_loss(const Eigen::MatrixXd& A, const Eigen::VectorXd& b,
                                      const Eigen::VectorXd& x) {
  return 0.5 * (softmax_of(A, x) - b).squaredNorm();
}

inline Eigen::VectorXd softmax_regression_gradient(const Eigen::MatrixXd& A,
                                                   const Eigen::VectorXd& b,
                                                   const Eigen::VectorXd& x) {
  const Eigen::VectorXd f = softmax_of(A, x);
  const Eigen::VectorXd r = f - b;
  // (diag(f) − f fᵀ) r without forming the n×n matrix.
  const Eigen::VectorXd jr = f.cwiseProduct(r) - f * f.dot(r);
  return A.transpose() * jr;
}

}  // namespace icl

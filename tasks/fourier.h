#pragma once
// Fourier-series features shared by the fourier_series tasks (tasks/fourier.cpp) and their Bayesian
// baselines (baselines/fourier_posterior.cpp), so both read one definition of the basis.
//
// Layout for maximum frequency N: [1, cos(πx/L), ..., cos(Nπx/L), sin(πx/L), ..., sin(Nπx/L)],
// 2N+1 entries; without the intercept the leading 1 is left out (2N entries).
#include <Eigen/Dense>
#include <cmath>
#include <cstdint>
#include <numbers>

namespace icl {

inline int64_t fourier_dim(int64_t n_freq, bool intercept) {
  return 2 * n_freq + (intercept ? 1 : 0);
}

// Writes the features of x into out (resized to fourier_dim).
inline void fourier_features(double x, int64_t n_freq, double L, bool intercept,
                             Eigen::VectorXd& out) {
  out.resize(fourier_dim(n_freq, intercept));
  const int64_t off = intercept ? 1 : 0;
  if (intercept) out(0) = 1.0;
  for (int64_t n = 1; n <= n_freq; ++n) {
    const double t = double(n) * std::numbers::pi * x / L;
    out(off + n - 1) = std::cos(t);
    out(off + n_freq + n - 1) = std::sin(t);
  }
}

}  // namespace icl

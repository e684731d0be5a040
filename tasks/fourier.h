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

#include "core/vec_math.h"

namespace icl {

inline int64_t fourier_dim(int64_t n_freq, bool intercept) {
  return 2 * n_freq + (intercept ? 1 : 0);
}

// sincos_taylor within [−π, π] (slightly widened for inputs rounded to float), libm beyond.
inline void sincos_pi(double t, double& s, double& c) {
  if (std::abs(t) <= std::numbers::pi * (1.0 + 1e-6)) {
    sincos_taylor(t, s, c);
  } else {
    s = std::sin(t);
    c = std::cos(t);
  }
}

// Writes the features of x into out (resized to fourier_dim).
inline void fourier_features(double x, int64_t n_freq, double L, bool intercept,
                             Eigen::VectorXd& out) {
  out.resize(fourier_dim(n_freq, intercept));
  const int64_t off = intercept ? 1 : 0;
  if (intercept) out(0) = 1.0;
  if (n_freq == 0) return;
  // cos nθ and sin nθ by rotating (cos θ, sin θ) n − 1 times: one sin/cos pair per x instead of N
  // (the generator's hot loop). Each rotation adds about one rounding, so frequency n is off by
  // ~n·1e-16, far below the float the labels are stored in.
  double s1, c1;
  sincos_pi(std::numbers::pi * x / L, s1, c1);
  double c = c1, s = s1;
  for (int64_t n = 1; n <= n_freq; ++n) {
    out(off + n - 1) = c;
    out(off + n_freq + n - 1) = s;
    const double cn = c * c1 - s * s1;
    s = s * c1 + c * s1;
    c = cn;
  }
}

}  // namespace icl

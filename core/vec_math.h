#pragma once
// sin/cos and log as plain multiply-adds and bit operations, with no branches and no libm calls,
// so loops over many arguments vectorise (libm's calls do not). Used where a generator's time goes
// into transcendental functions: the Fourier features and Box–Muller normals. The results are the
// same on every machine (no dependence on the libm version), within a few 1e-15 of libm's.
#include <bit>
#include <cstdint>
#include <numbers>

namespace icl {

namespace vec_math_detail {
// Taylor coefficients (−1)^j/(2j+1)! of sin and (−1)^j/(2j)! of cos, computed at compile time.
struct Taylor {
  double sin[14], cos[15];
};
constexpr Taylor taylor() {
  Taylor t{};
  double factorial = 1.0;
  for (int n = 0; n <= 28; ++n) {
    if (n > 0) factorial *= double(n);
    const double v = ((n / 2) % 2 ? -1.0 : 1.0) / factorial;
    if (n % 2) {
      t.sin[n / 2] = v;
    } else {
      t.cos[n / 2] = v;
    }
  }
  return t;
}
inline constexpr Taylor kTaylor = taylor();
}  // namespace vec_math_detail

// sin t and cos t from their Taylor series to degree 27 and 28: for |t| <= π the truncation is
// below 1e-16 and the rounding a few 1e-15 (and barely more just past π, where float inputs can
// land).
inline void sincos_taylor(double t, double& s, double& c) {
  const auto& k = vec_math_detail::kTaylor;
  const double u = t * t;
  double ps = k.sin[13], pc = k.cos[14];
  for (int j = 12; j >= 0; --j) ps = ps * u + k.sin[j];
  for (int j = 13; j >= 0; --j) pc = pc * u + k.cos[j];
  s = t * ps;
  c = pc;
}

// ln x for a positive normal double. x = 2^e·m with m in [√½, √2), and
// ln m = 2·atanh(s) = 2·(s + s³/3 + s⁵/5 + ...) with s = (m − 1)/(m + 1), |s| <= 0.1716: the terms
// up to s²¹ leave a relative truncation below 1e-17, so the error is rounding (a few ulp).
inline double log_series(double x) {
  constexpr uint64_t kMantissa = (uint64_t(1) << 52) - 1;
  constexpr uint64_t kOne = uint64_t(1023) << 52;
  const uint64_t bits = std::bit_cast<uint64_t>(x);
  int64_t e = int64_t(bits >> 52) - 1023;
  double m = std::bit_cast<double>((bits & kMantissa) | kOne);  // [1, 2)
  const bool high = m >= std::numbers::sqrt2;
  m = high ? 0.5 * m : m;
  e += high ? 1 : 0;
  const double s = (m - 1.0) / (m + 1.0);
  const double u = s * s;
  double p = 1.0 / 21.0;
  for (int j = 9; j >= 0; --j) p = p * u + 1.0 / double(2 * j + 1);
  return double(e) * std::numbers::ln2 + 2.0 * s * p;
}

}  // namespace icl

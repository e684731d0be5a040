#include "kernels/rope.h"

#include <complex>
#include <vector>

#include <fmt/format.h>

#include "tests/op_harness.h"

namespace icl {
namespace {

// Independent reference: each pair (x_i, x_{i+hd/2}) of a q or k head as the complex number
// x_i + i·x_{i+hd/2}, multiplied by e^{i·t·θ_i}, θ_i = base^(−2i/hd).
std::vector<double> naive_rope(const std::vector<double>& x, int64_t B, int64_t Tn, int64_t C,
                               int64_t H, double base) {
  const int64_t hd = C / H, half = hd / 2;
  std::vector<double> y = x;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < Tn; ++t)
      for (int64_t part = 0; part < 2; ++part)
        for (int64_t h = 0; h < H; ++h)
          for (int64_t i = 0; i < half; ++i) {
            const size_t at = size_t((b * Tn + t) * 3 * C + part * C + h * hd + i);
            const std::complex<double> z(x[at], x[at + size_t(half)]);
            const double angle = double(t) * std::pow(base, -2.0 * double(i) / double(hd));
            const std::complex<double> r = z * std::polar(1.0, angle);
            y[at] = r.real();
            y[at + size_t(half)] = r.imag();
          }
  return y;
}

struct RopeCase {
  int64_t B, Tn, C, H;
  double base = 10000.0;
  std::vector<Shape> inputs() const { return {{B, Tn, 3 * C}}; }
  Shape output() const { return {B, Tn, 3 * C}; }
  template <class T>
  void forward(const std::vector<const T*>& x, T* y, std::vector<T>&) const {
    kern::rope_forward(y, x[0], B, Tn, C, H, base);
  }
  template <class T>
  void backward(const std::vector<const T*>&, const T*, const T* dy, const std::vector<T*>& dx,
                std::vector<T>&) const {
    kern::rope_backward(dx[0], dy, B, Tn, C, H, base);
  }
#ifdef ICL_WITH_CUDA
  void cuda_forward(const CudaContext& cx, const test::DeviceInputs& x, float* y, float*) const {
    cuda::rope_forward(cx, y, x[0], B, Tn, C, H, base);
  }
  void cuda_backward(const CudaContext& cx, const test::DeviceInputs&, const float*,
                     const float* dy, const test::DeviceGrads& dx, float*) const {
    cuda::rope_backward(cx, dx[0], dy, B, Tn, C, H, base);
  }
  // Both sides round the same double angles to float; the rotation's two products and add may be
  // contracted to an FMA on either side: a few ulp. v is copied (added) unrotated.
  test::CudaTolerance cuda_tolerance() const { return {.fwd = 1e-6, .bwd = 1e-6}; }
#endif
};

const std::vector<RopeCase>& cases() {
  static const std::vector<RopeCase> v = {{1, 1, 2, 1},    {3, 7, 12, 3}, {2, 33, 16, 2, 100.0},
                                          {1, 130, 64, 4}, {2, 5, 6, 3},  {1, 9, 40, 2, 500.0}};
  return v;
}

std::string label(const RopeCase& c) {
  return fmt::format("rope B={} T={} C={} H={} base={}", c.B, c.Tn, c.C, c.H, c.base);
}

ICL_OP_TEST(OpRope, Rope) {
  for (const RopeCase& c : cases()) run(c, label(c));
  for (const RopeCase& c :
       {RopeCase{2, 90, 64, 4}, RopeCase{1, 1031, 96, 3, 500.0}, RopeCase{5, 33, 288, 8}})
    run.cuda_only(c, label(c));
}

TEST(OpRope, MatchesComplexRotation) {
  for (const RopeCase& c : cases()) {
    SCOPED_TRACE(label(c));
    Rng rng({3, stream_id(label(c))}, 0);
    std::vector<double> x(size_t(c.B * c.Tn * 3 * c.C));
    for (auto& v : x) v = rng.normal();
    std::vector<double> y(x.size(), std::nan(""));
    kern::rope_forward(y.data(), x.data(), c.B, c.Tn, c.C, c.H, c.base);
    EXPECT_LE(test::rel_err(y, naive_rope(x, c.B, c.Tn, c.C, c.H, c.base)), 1e-13);
  }
}

// The point of RoPE: with the same q and the same k at every position, the score q_t·k_u of every
// head depends on t − u only, and position 0 is left as it was.
TEST(OpRope, ScoresDependOnRelativePositionOnly) {
  const int64_t Tn = 12, C = 8, H = 2, hd = C / H;
  Rng rng({5, stream_id("rope relative")}, 0);
  std::vector<double> row(size_t(3 * C));
  for (auto& v : row) v = rng.normal();
  std::vector<double> x, y(size_t(Tn * 3 * C));
  for (int64_t t = 0; t < Tn; ++t) x.insert(x.end(), row.begin(), row.end());
  kern::rope_forward(y.data(), x.data(), 1, Tn, C, H, 10000.0);
  for (int64_t j = 0; j < 3 * C; ++j) EXPECT_EQ(y[size_t(j)], x[size_t(j)]) << j;
  auto score = [&](int64_t t, int64_t u, int64_t h) {
    double s = 0;
    for (int64_t i = 0; i < hd; ++i)
      s += y[size_t(t * 3 * C + h * hd + i)] * y[size_t(u * 3 * C + C + h * hd + i)];
    return s;
  };
  for (int64_t h = 0; h < H; ++h)
    for (int64_t t = 0; t < Tn; ++t)
      for (int64_t u = 0; u < Tn; ++u) {
        const int64_t d = t - u, t0 = std::max<int64_t>(d, 0), u0 = t0 - d;
        EXPECT_NEAR(score(t, u, h), score(t0, u0, h), 1e-12) << h << " " << t << " " << u;
      }
  // and it does depend on the distance
  EXPECT_GT(std::abs(score(5, 0, 0) - score(0, 0, 0)), 1e-3);
}

}  // namespace
}  // namespace icl

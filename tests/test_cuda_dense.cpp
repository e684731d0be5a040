// What the op harness (tests/op_harness.h) cannot express about the dense ops' CUDA twins; every
// other CUDA-vs-CPU check of linear, add/scale, gelu/relu, LayerNorm, RMSNorm and the fused
// residual-add norms is a case in tests/test_op_linear.cpp or tests/test_op_norms.cpp.
//
//   - TF32 GEMMs (ctx(true)): the harness runs strict fp32. Tolerance 3e-3: tensor cores keep 10
//     mantissa bits of each input, so one product can be off by up to 2·2⁻¹⁰ ≈ 2e-3 relative
//     (in = 1 has a single product per output); sums of many products average this down, so 3e-3
//     leaves a margin while an indexing error (O(1)) still fails. The bias gradient stays a plain
//     fp32 column sum (1e-5), TF32 or not.
//   - Misaligned pointers: every device pointer one float into its allocation (4-byte aligned
//     only), as a tensor inside an arena may be; the harness's buffers are allocations of their
//     own. cuBLASLt's bias epilogue is then never taken.
//   - Optional outputs: the norms' forwards without mean/rstd give the same y (and s) bits.
//   - Aliased gradients: add_backward with da and db the same buffer (y = x + x).
// Outputs start as NaN, accumulated gradients from the same random values on both sides, and
// each check also runs twice for bit-identical results, as in the harness.
#include <gtest/gtest.h>

#ifdef ICL_WITH_CUDA

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/elementwise.h"
#include "kernels/layernorm.h"
#include "kernels/linear.h"
#include "kernels/rmsnorm.h"
#include "tests/cuda_harness.h"

namespace icl {
namespace {

using test::ctx;
using test::DeviceBuffer;
using test::expect_close;
using test::random_vector;
using Outputs = std::vector<std::vector<float>>;

void expect_same_bits(const Outputs& a, const Outputs& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_TRUE(
        a[i].size() == b[i].size() &&
        (a[i].empty() || std::memcmp(a[i].data(), b[i].data(), a[i].size() * sizeof(float)) == 0))
        << what << ": output " << i << " is not bit-identical between two runs";
}

std::vector<double> widen(const std::vector<float>& v) { return {v.begin(), v.end()}; }

std::vector<float> narrow(const std::vector<double>& v) {
  std::vector<float> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = float(v[i]);
  return out;
}

// v·scale + shift, elementwise.
std::vector<float> affine(std::vector<float> v, float scale, float shift) {
  for (auto& x : v) x = x * scale + shift;
  return v;
}

// A device copy of h placed `off` floats into its allocation: off = 1 gives a pointer that is only
// 4-byte aligned, as a tensor inside an arena may be. Without h: n poisoned (NaN) floats.
class Shifted {
 public:
  Shifted(const std::vector<float>& h, size_t off) : off_(off), buf_(h.size() + off) {
    std::vector<float> padded(off, 0.0f);
    padded.insert(padded.end(), h.begin(), h.end());
    if (!padded.empty()) buf_.upload(padded);
  }
  Shifted(size_t n, size_t off) : off_(off), buf_(n + off) {}
  float* get() const { return buf_.get() + off_; }
  std::vector<float> download() const {
    const std::vector<float> h = buf_.download();
    return std::vector<float>(h.begin() + long(off_), h.end());
  }

 private:
  size_t off_;
  DeviceBuffer buf_;
};

// --- linear: TF32, misaligned pointers
// ------------------------------------------------------------

struct LinearShape {
  int64_t N, in, out;
};
constexpr LinearShape kLinearShapes[] = {{1, 1, 1},      {1, 129, 7},      {37, 7, 129},
                                         {37, 1000, 64}, {5248, 256, 129}, {5248, 64, 1000},
                                         {5, 0, 3}};

// Forward and backward at one shape against kern:: in fp64, on ctx(tf32), every device pointer
// shifted by `off` floats. With a bias and off = 0 the forward takes cuBLASLt's bias epilogue when
// in and out are multiples of 4 (37×1000×64, 5248×64×1000 here); every other case exercises the
// GEMM + broadcast path.
void check_linear(bool tf32, const LinearShape& sh, bool bias, size_t off) {
  const auto [N, in, out] = sh;
  const std::string tag = fmt::format("{}x{}x{}", N, in, out);
  SCOPED_TRACE(fmt::format("linear N={} in={} out={} tf32={} bias={} offset={}", N, in, out, tf32,
                           bias, off));
  const double gemm_tol = tf32 ? 3e-3 : 1e-5;
  const CudaContext& c = ctx(tf32);
  const size_t nx = size_t(N * in), nw = size_t(in * out), ny = size_t(N * out);
  const auto x = random_vector(nx, "lin.x." + tag);
  const auto w =
      random_vector(nw, "lin.w." + tag, 1.0 / std::sqrt(double(std::max<int64_t>(in, 1))));
  const auto b = random_vector(size_t(out), "lin.b." + tag);
  const auto dy = random_vector(ny, "lin.dy." + tag);
  const auto dx0 = random_vector(nx, "lin.dx." + tag);
  const auto dw0 = random_vector(nw, "lin.dw." + tag);
  const auto db0 = random_vector(size_t(out), "lin.db." + tag);
  const Shifted x_d(x, off), w_d(w, off), b_d(b, off), dy_d(dy, off);

  const auto xr = widen(x), wr = widen(w), br = widen(b), dyr = widen(dy);
  std::vector<double> y(ny), dx = widen(dx0), dw = widen(dw0), db = widen(db0);
  kern::linear_forward(y.data(), xr.data(), wr.data(), bias ? br.data() : nullptr, N, in, out);
  kern::linear_backward(dx.data(), dw.data(), db.data(), dyr.data(), xr.data(), wr.data(), N, in,
                        out);

  auto run = [&] {
    Shifted y_d(ny, off), dx_d(dx0, off), dw_d(dw0, off), db_d(db0, off);
    cuda::linear_forward(c, y_d.get(), x_d.get(), w_d.get(), bias ? b_d.get() : nullptr, N, in,
                         out);
    cuda::linear_backward(c, dx_d.get(), dw_d.get(), db_d.get(), dy_d.get(), x_d.get(), w_d.get(),
                          N, in, out);
    c.synchronize();
    return Outputs{y_d.download(), dx_d.download(), dw_d.download(), db_d.download()};
  };
  const Outputs r = run();
  expect_close(r[0], narrow(y), gemm_tol, "linear y");
  expect_close(r[1], narrow(dx), gemm_tol, "linear dx");
  expect_close(r[2], narrow(dw), gemm_tol, "linear dW");
  expect_close(r[3], narrow(db), 1e-5, "linear db");  // a plain fp32 column sum, TF32 or not
  expect_same_bits(r, run(), "linear");

  // Each gradient alone (the others null) gives the same bits as with all three.
  if (bias && off == 0) {
    Shifted dx_d(dx0, 0), dw_d(dw0, 0), db_d(db0, 0);
    cuda::linear_backward(c, dx_d.get(), nullptr, nullptr, dy_d.get(), x_d.get(), w_d.get(), N, in,
                          out);
    cuda::linear_backward(c, nullptr, dw_d.get(), nullptr, dy_d.get(), x_d.get(), w_d.get(), N, in,
                          out);
    cuda::linear_backward(c, nullptr, nullptr, db_d.get(), dy_d.get(), x_d.get(), w_d.get(), N, in,
                          out);
    cuda::linear_backward(c, nullptr, nullptr, nullptr, dy_d.get(), x_d.get(), w_d.get(), N, in,
                          out);
    c.synchronize();
    expect_same_bits({r[1], r[2], r[3]}, {dx_d.download(), dw_d.download(), db_d.download()},
                     "linear single gradients");
  }
}

// Strict fp32 with aligned pointers is OpLinear.LinearOnCuda's.
TEST(CudaLinear, StrictFp32MisalignedMatchesCpu) {
  ICL_REQUIRE_GPU();
  for (const auto& sh : kLinearShapes)
    for (const bool bias : {true, false}) check_linear(false, sh, bias, 1);
}

TEST(CudaLinear, Tf32MatchesCpu) {
  ICL_REQUIRE_GPU();
  for (const auto& sh : kLinearShapes)
    for (const bool bias : {true, false})
      for (const size_t off : {size_t(0), size_t(1)}) check_linear(true, sh, bias, off);
}

// Strict fp32 without rows is a case of OpLinear.LinearOnCuda.
TEST(CudaLinear, Tf32NoRowsTouchesNothing) {
  ICL_REQUIRE_GPU();
  const int64_t in = 7, out = 5;
  const auto w = random_vector(size_t(in * out), "lin0.w");
  const auto b = random_vector(size_t(out), "lin0.b");
  const auto dw0 = random_vector(size_t(in * out), "lin0.dw");
  const auto db0 = random_vector(size_t(out), "lin0.db");
  const DeviceBuffer x_d(0), y_d(0), dy_d(0), dx_d(0), w_d(w), b_d(b);
  DeviceBuffer dw_d(dw0), db_d(db0);
  cuda::linear_forward(ctx(true), y_d.get(), x_d.get(), w_d.get(), b_d.get(), 0, in, out);
  cuda::linear_backward(ctx(true), dx_d.get(), dw_d.get(), db_d.get(), dy_d.get(), x_d.get(),
                        w_d.get(), 0, in, out);
  ctx(true).synchronize();
  expect_same_bits({dw_d.download(), db_d.download()}, {dw0, db0}, "linear N=0");
}

// --- add_backward into one buffer twice ---------------------------------------------------------

// y = x + x: the graph hands add_backward the same gradient buffer for both operands, which then
// gets dy twice, as on the CPU (tolerance 0: the same additions).
TEST(CudaElementwise, AddBackwardIntoOneBufferTwice) {
  ICL_REQUIRE_GPU();
  for (const int64_t n : {0, 1, 37, 1000, 36739, 3000017}) {
    SCOPED_TRACE(fmt::format("n={}", n));
    const auto dy = random_vector(size_t(n), fmt::format("ew.alias.dy.{}", n));
    const auto g0 = random_vector(size_t(n), fmt::format("ew.alias.g.{}", n));
    std::vector<float> g = g0;
    kern::add_backward(g.data(), g.data(), dy.data(), n);
    auto run = [&] {
      const DeviceBuffer dy_d(dy);
      DeviceBuffer g_d(g0);
      cuda::add_backward(ctx(), g_d.get(), g_d.get(), dy_d.get(), n);
      ctx().synchronize();
      return g_d.download();
    };
    const auto r = run();
    expect_close(r, g, 0, "add da = db");
    expect_same_bits({r}, {run()}, "add da = db");
  }
}

// --- the norms without statistics ----------------------------------------------------------------

constexpr int64_t kNormRows[] = {1, 37, 5248, 256 * 4097 + 1};
constexpr int64_t kNormCols[] = {1, 3, 7, 64, 129, 256, 1000};
constexpr float kEps = 1e-5f;

// mean and rstd (or rstd) are optional outputs of the forwards (no backward follows): without
// them y, and s of the fused add-norms, are the same bits.
TEST(CudaNorms, ForwardWithoutStatisticsGivesTheSameBits) {
  ICL_REQUIRE_GPU();
  const CudaContext& c = ctx();
  for (const int64_t N : kNormRows)
    for (const int64_t C : kNormCols) {
      if (N * C > 5248 * 1000) continue;  // the many rows with a few columns only
      SCOPED_TRACE(fmt::format("N={} C={}", N, C));
      const std::string tag = fmt::format("{}x{}", N, C);
      const size_t n = size_t(N * C), uc = size_t(C), un = size_t(N);
      const DeviceBuffer x(affine(random_vector(n, "nostats.x." + tag), 2.0f, 1.5f)),
          a(random_vector(n, "nostats.a." + tag)), b(random_vector(n, "nostats.b." + tag)),
          gamma(affine(random_vector(uc, "nostats.gamma." + tag), 0.1f, 1.0f)),
          beta(random_vector(uc, "nostats.beta." + tag, 0.1));
      DeviceBuffer y(n), y0(n), s(n), s0(n), mean(un), rstd(un);
      cuda::layernorm_forward(c, y.get(), mean.get(), rstd.get(), x.get(), gamma.get(), beta.get(),
                              N, C, kEps);
      cuda::layernorm_forward(c, y0.get(), nullptr, nullptr, x.get(), gamma.get(), beta.get(), N, C,
                              kEps);
      c.synchronize();
      expect_same_bits({y.download()}, {y0.download()}, "layernorm without mean/rstd");
      cuda::add_layernorm_forward(c, s.get(), y.get(), mean.get(), rstd.get(), a.get(), b.get(),
                                  gamma.get(), beta.get(), N, C, kEps);
      cuda::add_layernorm_forward(c, s0.get(), y0.get(), nullptr, nullptr, a.get(), b.get(),
                                  gamma.get(), beta.get(), N, C, kEps);
      c.synchronize();
      expect_same_bits({y.download(), s.download()}, {y0.download(), s0.download()},
                       "add_layernorm without mean/rstd");
      cuda::rmsnorm_forward(c, y.get(), rstd.get(), x.get(), gamma.get(), N, C, kEps);
      cuda::rmsnorm_forward(c, y0.get(), nullptr, x.get(), gamma.get(), N, C, kEps);
      c.synchronize();
      expect_same_bits({y.download()}, {y0.download()}, "rmsnorm without rstd");
      cuda::add_rmsnorm_forward(c, s.get(), y.get(), rstd.get(), a.get(), b.get(), gamma.get(), N,
                                C, kEps);
      cuda::add_rmsnorm_forward(c, s0.get(), y0.get(), nullptr, a.get(), b.get(), gamma.get(), N, C,
                                kEps);
      c.synchronize();
      expect_same_bits({y.download(), s.download()}, {y0.download(), s0.download()},
                       "add_rmsnorm without rstd");
    }
}

}  // namespace
}  // namespace icl

#else

TEST(CudaDense, NotBuilt) { GTEST_SKIP() << "CUDA backend not built"; }

#endif

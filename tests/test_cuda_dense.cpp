// CUDA twins of the dense ops (linear, add/scale, gelu/relu, LayerNorm, RMSNorm, the fused
// residual-add norms) against the CPU kern:: functions on the same inputs, at odd shapes. Outputs
// the op overwrites start as NaN (an unwritten element fails); accumulated gradients start from
// the same random values on both sides, so a GPU that overwrote instead of adding fails. Every op
// is also run twice and must give bit-identical results.
//
// Ops that sum (linear, the norms, the column sums) are checked against kern:: instantiated in
// double: the float CPU sums left to right, and over thousands of rows its own rounding (~N·ε of
// a sum of size √N) approaches 1e-5 of the result, which would make the test judge the CPU. Against
// the double reference only the GPU's error counts. Elementwise ops are checked against float.
//
// Tolerances (max |gpu − ref| / max |ref| per tensor):
//   0      single roundings (a + b, s·x, max(x, 0), da += dy): both sides compute the same float.
//   1e-6   dx += s·dy: the GPU may fuse it into one FMA (one rounding instead of two).
//   1e-5   gelu (Eigen's vectorised tanh vs CUDA's tanhf differ by a few ulp); the norms, whose
//          row sums are 32 strided lane sums plus a shuffle tree (emulated in float on these
//          shapes: under 2e-6 even against the float CPU); the column sums (db, dγ, dβ).
//   1e-5   strict fp32 GEMMs (ctx(false)): fp32 accumulation in cuBLAS's blocked order, a few ulp
//          of the partial sums, far below 1e-5 of the largest output.
//   3e-3   TF32 GEMMs (ctx(true)): tensor cores keep 10 mantissa bits of each input, so one
//          product can be off by up to 2·2⁻¹⁰ ≈ 2e-3 relative (in = 1 has a single product per
//          output); sums of many products average this down, so 3e-3 leaves a margin while an
//          indexing error (O(1)) still fails.
#include <gtest/gtest.h>

#ifdef ICL_WITH_CUDA

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <tuple>
#include <vector>

#include "kernels/activation.h"
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

// --- elementwise: add, scale ------------------------------------------------------------------

constexpr int64_t kLengths[] = {0, 1, 37, 1000, 36739, 3000017};  // the last outgrows one grid

TEST(CudaElementwise, AddMatchesCpu) {
  ICL_REQUIRE_GPU();
  for (const int64_t n : kLengths) {
    SCOPED_TRACE(fmt::format("n={}", n));
    const size_t un = size_t(n);
    const auto a = random_vector(un, fmt::format("ew.add.a.{}", n));
    const auto b = random_vector(un, fmt::format("ew.add.b.{}", n));
    const auto dy = random_vector(un, fmt::format("ew.add.dy.{}", n));
    const auto ga0 = random_vector(un, fmt::format("ew.add.ga.{}", n));
    const auto gb0 = random_vector(un, fmt::format("ew.add.gb.{}", n));
    const DeviceBuffer a_d(a), b_d(b), dy_d(dy);

    std::vector<float> y(un), ga = ga0, gb = gb0, gab = ga0;
    kern::add_forward(y.data(), a.data(), b.data(), n);
    kern::add_backward(ga.data(), gb.data(), dy.data(), n);
    kern::add_backward(gab.data(), gab.data(), dy.data(), n);  // y = x + x: one buffer, twice

    auto run = [&] {
      DeviceBuffer y_d(un), ga_d(ga0), gb_d(gb0), gab_d(ga0), ga_only(ga0), gb_only(gb0);
      cuda::add_forward(ctx(), y_d.get(), a_d.get(), b_d.get(), n);
      cuda::add_backward(ctx(), ga_d.get(), gb_d.get(), dy_d.get(), n);
      cuda::add_backward(ctx(), gab_d.get(), gab_d.get(), dy_d.get(), n);
      cuda::add_backward(ctx(), ga_only.get(), nullptr, dy_d.get(), n);
      cuda::add_backward(ctx(), nullptr, gb_only.get(), dy_d.get(), n);
      cuda::add_backward(ctx(), nullptr, nullptr, dy_d.get(), n);
      ctx().synchronize();
      return Outputs{y_d.download(),   ga_d.download(),    gb_d.download(),
                     gab_d.download(), ga_only.download(), gb_only.download()};
    };
    const Outputs r = run();
    expect_close(r[0], y, 0, "add y");
    expect_close(r[1], ga, 0, "add da");
    expect_close(r[2], gb, 0, "add db");
    expect_close(r[3], gab, 0, "add da = db");
    expect_close(r[4], ga, 0, "add da (db null)");
    expect_close(r[5], gb, 0, "add db (da null)");
    expect_same_bits(r, run(), "add");
  }
}

TEST(CudaElementwise, ScaleMatchesCpu) {
  ICL_REQUIRE_GPU();
  for (const int64_t n : kLengths) {
    SCOPED_TRACE(fmt::format("n={}", n));
    const size_t un = size_t(n);
    const float s = 0.3779645f;  // 1/√7
    const auto x = random_vector(un, fmt::format("ew.scale.x.{}", n));
    const auto dy = random_vector(un, fmt::format("ew.scale.dy.{}", n));
    const auto dx0 = random_vector(un, fmt::format("ew.scale.dx.{}", n));
    const DeviceBuffer x_d(x), dy_d(dy);

    std::vector<float> y(un), dx = dx0;
    kern::scale_forward(y.data(), x.data(), s, n);
    kern::scale_backward(dx.data(), dy.data(), s, n);

    auto run = [&] {
      DeviceBuffer y_d(un), dx_d(dx0);
      cuda::scale_forward(ctx(), y_d.get(), x_d.get(), s, n);
      cuda::scale_backward(ctx(), dx_d.get(), dy_d.get(), s, n);
      cuda::scale_backward(ctx(), nullptr, dy_d.get(), s, n);
      ctx().synchronize();
      return Outputs{y_d.download(), dx_d.download()};
    };
    const Outputs r = run();
    expect_close(r[0], y, 0, "scale y");
    expect_close(r[1], dx, 1e-6, "scale dx");
    expect_same_bits(r, run(), "scale");
  }
}

// --- activations: gelu, relu ------------------------------------------------------------------

TEST(CudaActivation, GeluMatchesCpu) {
  ICL_REQUIRE_GPU();
  for (const int64_t n : kLengths) {
    SCOPED_TRACE(fmt::format("n={}", n));
    const size_t un = size_t(n);
    // Spread 3: reaches the tails where tanh saturates and 1 − t² cancels.
    const auto x = random_vector(un, fmt::format("act.gelu.x.{}", n), 3.0);
    const auto dy = random_vector(un, fmt::format("act.gelu.dy.{}", n));
    const auto dx0 = random_vector(un, fmt::format("act.gelu.dx.{}", n));
    const DeviceBuffer x_d(x), dy_d(dy);

    std::vector<float> y(un), dx = dx0;
    kern::gelu_forward(y.data(), x.data(), n);
    kern::gelu_backward(dx.data(), dy.data(), x.data(), n);

    auto run = [&] {
      DeviceBuffer y_d(un), dx_d(dx0);
      cuda::gelu_forward(ctx(), y_d.get(), x_d.get(), n);
      cuda::gelu_backward(ctx(), dx_d.get(), dy_d.get(), x_d.get(), n);
      cuda::gelu_backward(ctx(), nullptr, dy_d.get(), x_d.get(), n);
      ctx().synchronize();
      return Outputs{y_d.download(), dx_d.download()};
    };
    const Outputs r = run();
    expect_close(r[0], y, 1e-5, "gelu y");
    expect_close(r[1], dx, 1e-5, "gelu dx");
    expect_same_bits(r, run(), "gelu");
  }
}

TEST(CudaActivation, ReluMatchesCpu) {
  ICL_REQUIRE_GPU();
  for (const int64_t n : kLengths) {
    SCOPED_TRACE(fmt::format("n={}", n));
    const size_t un = size_t(n);
    auto x = random_vector(un, fmt::format("act.relu.x.{}", n));
    // Exact zeros of both signs: the subgradient at 0 is 0 on both sides.
    for (size_t i = 0; i < un; i += 5) x[i] = (i / 5) % 2 ? 0.0f : -0.0f;
    const auto dy = random_vector(un, fmt::format("act.relu.dy.{}", n));
    const auto dx0 = random_vector(un, fmt::format("act.relu.dx.{}", n));
    const DeviceBuffer x_d(x), dy_d(dy);

    std::vector<float> y(un), dx = dx0;
    kern::relu_forward(y.data(), x.data(), n);
    kern::relu_backward(dx.data(), dy.data(), x.data(), n);

    auto run = [&] {
      DeviceBuffer y_d(un), dx_d(dx0);
      cuda::relu_forward(ctx(), y_d.get(), x_d.get(), n);
      cuda::relu_backward(ctx(), dx_d.get(), dy_d.get(), x_d.get(), n);
      cuda::relu_backward(ctx(), nullptr, dy_d.get(), x_d.get(), n);
      ctx().synchronize();
      return Outputs{y_d.download(), dx_d.download()};
    };
    const Outputs r = run();
    expect_close(r[0], y, 0, "relu y");
    expect_close(r[1], dx, 0, "relu dx");
    expect_same_bits(r, run(), "relu");
  }
}

// --- linear -----------------------------------------------------------------------------------

struct LinearShape {
  int64_t N, in, out;
};
constexpr LinearShape kLinearShapes[] = {{1, 1, 1},      {1, 129, 7},      {37, 7, 129},
                                         {37, 1000, 64}, {5248, 256, 129}, {5248, 64, 1000},
                                         {5, 0, 3}};

// Forward and backward at one shape against kern::, on ctx(tf32). off = 1 shifts every device
// pointer by one float (4-byte alignment only), as for a tensor inside an arena. The forward with
// a bias takes cuBLASLt's bias epilogue only when in and out are multiples of 4 and off = 0
// (37×1000×64, 5248×64×1000 here); every other case exercises the GEMM + broadcast path.
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

TEST(CudaLinear, StrictFp32MatchesCpu) {
  ICL_REQUIRE_GPU();
  for (const auto& sh : kLinearShapes)
    for (const bool bias : {true, false})
      for (const size_t off : {size_t(0), size_t(1)}) check_linear(false, sh, bias, off);
}

TEST(CudaLinear, Tf32MatchesCpu) {
  ICL_REQUIRE_GPU();
  for (const auto& sh : kLinearShapes)
    for (const bool bias : {true, false})
      for (const size_t off : {size_t(0), size_t(1)}) check_linear(true, sh, bias, off);
}

TEST(CudaLinear, NoRowsTouchesNothing) {
  ICL_REQUIRE_GPU();
  const int64_t in = 7, out = 5;
  const auto w = random_vector(size_t(in * out), "lin0.w");
  const auto b = random_vector(size_t(out), "lin0.b");
  const auto dw0 = random_vector(size_t(in * out), "lin0.dw");
  const auto db0 = random_vector(size_t(out), "lin0.db");
  const DeviceBuffer x_d(0), y_d(0), dy_d(0), dx_d(0), w_d(w), b_d(b);
  DeviceBuffer dw_d(dw0), db_d(db0);
  for (const bool tf32 : {false, true}) {
    cuda::linear_forward(ctx(tf32), y_d.get(), x_d.get(), w_d.get(), b_d.get(), 0, in, out);
    cuda::linear_backward(ctx(tf32), dx_d.get(), dw_d.get(), db_d.get(), dy_d.get(), x_d.get(),
                          w_d.get(), 0, in, out);
    ctx(tf32).synchronize();
  }
  expect_same_bits({dw_d.download(), db_d.download()}, {dw0, db0}, "linear N=0");
}

// --- LayerNorm --------------------------------------------------------------------------------

constexpr int64_t kNormRows[] = {1, 37, 5248};
constexpr int64_t kNormCols[] = {1, 7, 64, 129, 256, 1000};
constexpr float kEps = 1e-5f;

void check_layernorm(int64_t N, int64_t C) {
  SCOPED_TRACE(fmt::format("layernorm N={} C={}", N, C));
  const std::string tag = fmt::format("{}x{}", N, C);
  const size_t n = size_t(N * C), uc = size_t(C), un = size_t(N);
  // An offset mean (1.5) so that subtracting μ matters.
  const auto x = affine(random_vector(n, "ln.x." + tag), 2.0f, 1.5f);
  const auto a = random_vector(n, "ln.a." + tag);
  const auto b = random_vector(n, "ln.b." + tag);
  const auto gamma = affine(random_vector(uc, "ln.gamma." + tag), 0.1f, 1.0f);
  const auto beta = random_vector(uc, "ln.beta." + tag, 0.1);
  const auto dy = random_vector(n, "ln.dy." + tag);
  const auto dx0 = random_vector(n, "ln.dx." + tag);
  const auto dg0 = random_vector(uc, "ln.dgamma." + tag);
  const auto db0 = random_vector(uc, "ln.dbeta." + tag);
  const DeviceBuffer x_d(x), a_d(a), b_d(b), g_d(gamma), be_d(beta), dy_d(dy);

  // CPU in double: forward, backward (from the float statistics both sides get), add-then-norm.
  const auto xr = widen(x), gr = widen(gamma), ber = widen(beta), dyr = widen(dy);
  std::vector<double> y(n), mean(un), rstd(un), dx = widen(dx0), dg = widen(dg0), db = widen(db0);
  kern::layernorm_forward(y.data(), mean.data(), rstd.data(), xr.data(), gr.data(), ber.data(), N,
                          C, double(kEps));
  const std::vector<float> mean_f = narrow(mean), rstd_f = narrow(rstd);
  kern::layernorm_backward(dx.data(), dg.data(), db.data(), dyr.data(), xr.data(), gr.data(),
                           widen(mean_f).data(), widen(rstd_f).data(), N, C);
  std::vector<float> s(n);
  kern::add_forward(s.data(), a.data(), b.data(), int64_t(n));
  const auto sr = widen(s);
  std::vector<double> ys(n), mean_s(un), rstd_s(un);
  kern::layernorm_forward(ys.data(), mean_s.data(), rstd_s.data(), sr.data(), gr.data(), ber.data(),
                          N, C, double(kEps));
  const DeviceBuffer mean_d(mean_f), rstd_d(rstd_f);

  auto run = [&] {
    DeviceBuffer y_d(n), m_d(un), r_d(un), y_nostats(n), dx_d(dx0), dg_d(dg0), db_d(db0);
    DeviceBuffer s_d(n), ys_d(n), ms_d(un), rs_d(un), ys_nostats(n), s_nostats(n);
    const CudaContext& c = ctx();
    cuda::layernorm_forward(c, y_d.get(), m_d.get(), r_d.get(), x_d.get(), g_d.get(), be_d.get(), N,
                            C, kEps);
    cuda::layernorm_forward(c, y_nostats.get(), nullptr, nullptr, x_d.get(), g_d.get(), be_d.get(),
                            N, C, kEps);
    cuda::layernorm_backward(c, dx_d.get(), dg_d.get(), db_d.get(), dy_d.get(), x_d.get(),
                             g_d.get(), mean_d.get(), rstd_d.get(), N, C);
    cuda::add_layernorm_forward(c, s_d.get(), ys_d.get(), ms_d.get(), rs_d.get(), a_d.get(),
                                b_d.get(), g_d.get(), be_d.get(), N, C, kEps);
    cuda::add_layernorm_forward(c, s_nostats.get(), ys_nostats.get(), nullptr, nullptr, a_d.get(),
                                b_d.get(), g_d.get(), be_d.get(), N, C, kEps);
    c.synchronize();
    return Outputs{y_d.download(),      m_d.download(),       r_d.download(),
                   dx_d.download(),     dg_d.download(),      db_d.download(),
                   s_d.download(),      ys_d.download(),      ms_d.download(),
                   rs_d.download(),     y_nostats.download(), ys_nostats.download(),
                   s_nostats.download()};
  };
  // y's error is the float error of μ amplified by rstd: a row whose values nearly agree (over a
  // million rows of C = 3, some do) is ill-conditioned in fp32 whatever the summation order. The
  // bound is 1e-5 or C·ε32·max_row(rstd·max|x|), whichever is larger.
  auto y_tol = [&](const std::vector<double>& in, const std::vector<double>& rs) {
    double cond = 0;
    for (int64_t r = 0; r < N; ++r) {
      double m = 0;
      for (int64_t c = 0; c < C; ++c) m = std::max(m, std::abs(in[size_t(r * C + c)]));
      cond = std::max(cond, rs[size_t(r)] * m);
    }
    return std::max(1e-5, 4.0 * double(C) * 0x1p-24 * cond);
  };
  const Outputs r = run();
  expect_close(r[0], narrow(y), y_tol(xr, rstd), "layernorm y");
  expect_close(r[1], mean_f, 1e-5, "layernorm mean");
  expect_close(r[2], rstd_f, 1e-5, "layernorm rstd");
  expect_close(r[3], narrow(dx), 1e-5, "layernorm dx");
  expect_close(r[4], narrow(dg), 1e-5, "layernorm dgamma");
  expect_close(r[5], narrow(db), 1e-5, "layernorm dbeta");
  expect_close(r[6], s, 0, "add_layernorm s");
  expect_close(r[7], narrow(ys), y_tol(sr, rstd_s), "add_layernorm y");
  expect_close(r[8], narrow(mean_s), 1e-5, "add_layernorm mean");
  expect_close(r[9], narrow(rstd_s), 1e-5, "add_layernorm rstd");
  // Without statistics: the same bits for y (and s).
  expect_same_bits({r[10], r[11], r[12]}, {r[0], r[7], r[6]}, "layernorm without mean/rstd");
  expect_same_bits(r, run(), "layernorm");

  // Each gradient alone gives the same bits as with all three.
  DeviceBuffer dx_d(dx0), dg_d(dg0), db_d(db0);
  const CudaContext& c = ctx();
  cuda::layernorm_backward(c, dx_d.get(), nullptr, nullptr, dy_d.get(), x_d.get(), g_d.get(),
                           mean_d.get(), rstd_d.get(), N, C);
  cuda::layernorm_backward(c, nullptr, dg_d.get(), nullptr, dy_d.get(), x_d.get(), g_d.get(),
                           mean_d.get(), rstd_d.get(), N, C);
  cuda::layernorm_backward(c, nullptr, nullptr, db_d.get(), dy_d.get(), x_d.get(), g_d.get(),
                           mean_d.get(), rstd_d.get(), N, C);
  cuda::layernorm_backward(c, nullptr, nullptr, nullptr, dy_d.get(), x_d.get(), g_d.get(),
                           mean_d.get(), rstd_d.get(), N, C);
  c.synchronize();
  expect_same_bits({dx_d.download(), dg_d.download(), db_d.download()}, {r[3], r[4], r[5]},
                   "layernorm single gradients");
}

TEST(CudaLayerNorm, MatchesCpu) {
  ICL_REQUIRE_GPU();
  for (const int64_t N : kNormRows)
    for (const int64_t C : kNormCols) check_layernorm(N, C);
}

// Over 4096 chunks of 256 rows: the parameter-gradient reduction doubles its chunk size.
TEST(CudaLayerNorm, ManyRowsMatchesCpu) {
  ICL_REQUIRE_GPU();
  check_layernorm(256 * 4097 + 1, 3);
}

TEST(CudaLayerNorm, NoRowsTouchesNothing) {
  ICL_REQUIRE_GPU();
  const int64_t C = 9;
  const auto gamma = random_vector(size_t(C), "ln0.gamma"),
             dg0 = random_vector(size_t(C), "ln0.dg");
  const DeviceBuffer none(0), g_d(gamma), be_d(gamma);
  DeviceBuffer dg_d(dg0), db_d(dg0);
  cuda::layernorm_forward(ctx(), none.get(), none.get(), none.get(), none.get(), g_d.get(),
                          be_d.get(), 0, C, kEps);
  cuda::add_layernorm_forward(ctx(), none.get(), none.get(), none.get(), none.get(), none.get(),
                              none.get(), g_d.get(), be_d.get(), 0, C, kEps);
  cuda::layernorm_backward(ctx(), none.get(), dg_d.get(), db_d.get(), none.get(), none.get(),
                           g_d.get(), none.get(), none.get(), 0, C);
  ctx().synchronize();
  expect_same_bits({dg_d.download(), db_d.download()}, {dg0, dg0}, "layernorm N=0");
}

// --- RMSNorm ----------------------------------------------------------------------------------

void check_rmsnorm(int64_t N, int64_t C) {
  SCOPED_TRACE(fmt::format("rmsnorm N={} C={}", N, C));
  const std::string tag = fmt::format("{}x{}", N, C);
  const size_t n = size_t(N * C), uc = size_t(C), un = size_t(N);
  const auto x = affine(random_vector(n, "rms.x." + tag), 2.0f, 0.5f);
  const auto a = random_vector(n, "rms.a." + tag);
  const auto b = random_vector(n, "rms.b." + tag);
  const auto gamma = affine(random_vector(uc, "rms.gamma." + tag), 0.1f, 1.0f);
  const auto dy = random_vector(n, "rms.dy." + tag);
  const auto dx0 = random_vector(n, "rms.dx." + tag);
  const auto dg0 = random_vector(uc, "rms.dgamma." + tag);
  const DeviceBuffer x_d(x), a_d(a), b_d(b), g_d(gamma), dy_d(dy);

  // CPU in double: forward, backward (from the float rstd both sides get), add-then-norm.
  const auto xr = widen(x), gr = widen(gamma), dyr = widen(dy);
  std::vector<double> y(n), rstd(un), dx = widen(dx0), dg = widen(dg0);
  kern::rmsnorm_forward(y.data(), rstd.data(), xr.data(), gr.data(), N, C, double(kEps));
  const std::vector<float> rstd_f = narrow(rstd);
  kern::rmsnorm_backward(dx.data(), dg.data(), dyr.data(), xr.data(), gr.data(),
                         widen(rstd_f).data(), N, C);
  std::vector<float> s(n);
  kern::add_forward(s.data(), a.data(), b.data(), int64_t(n));
  const auto sr = widen(s);
  std::vector<double> ys(n), rstd_s(un);
  kern::rmsnorm_forward(ys.data(), rstd_s.data(), sr.data(), gr.data(), N, C, double(kEps));
  const DeviceBuffer rstd_d(rstd_f);

  auto run = [&] {
    DeviceBuffer y_d(n), r_d(un), y_nostats(n), dx_d(dx0), dg_d(dg0);
    DeviceBuffer s_d(n), ys_d(n), rs_d(un), ys_nostats(n), s_nostats(n);
    const CudaContext& c = ctx();
    cuda::rmsnorm_forward(c, y_d.get(), r_d.get(), x_d.get(), g_d.get(), N, C, kEps);
    cuda::rmsnorm_forward(c, y_nostats.get(), nullptr, x_d.get(), g_d.get(), N, C, kEps);
    cuda::rmsnorm_backward(c, dx_d.get(), dg_d.get(), dy_d.get(), x_d.get(), g_d.get(),
                           rstd_d.get(), N, C);
    cuda::add_rmsnorm_forward(c, s_d.get(), ys_d.get(), rs_d.get(), a_d.get(), b_d.get(), g_d.get(),
                              N, C, kEps);
    cuda::add_rmsnorm_forward(c, s_nostats.get(), ys_nostats.get(), nullptr, a_d.get(), b_d.get(),
                              g_d.get(), N, C, kEps);
    c.synchronize();
    return Outputs{y_d.download(),      r_d.download(),       dx_d.download(),
                   dg_d.download(),     s_d.download(),       ys_d.download(),
                   rs_d.download(),     y_nostats.download(), ys_nostats.download(),
                   s_nostats.download()};
  };
  const Outputs r = run();
  expect_close(r[0], narrow(y), 1e-5, "rmsnorm y");
  expect_close(r[1], rstd_f, 1e-5, "rmsnorm rstd");
  expect_close(r[2], narrow(dx), 1e-5, "rmsnorm dx");
  expect_close(r[3], narrow(dg), 1e-5, "rmsnorm dgamma");
  expect_close(r[4], s, 0, "add_rmsnorm s");
  expect_close(r[5], narrow(ys), 1e-5, "add_rmsnorm y");
  expect_close(r[6], narrow(rstd_s), 1e-5, "add_rmsnorm rstd");
  expect_same_bits({r[7], r[8], r[9]}, {r[0], r[5], r[4]}, "rmsnorm without rstd");
  expect_same_bits(r, run(), "rmsnorm");

  DeviceBuffer dx_d(dx0), dg_d(dg0);
  const CudaContext& c = ctx();
  cuda::rmsnorm_backward(c, dx_d.get(), nullptr, dy_d.get(), x_d.get(), g_d.get(), rstd_d.get(), N,
                         C);
  cuda::rmsnorm_backward(c, nullptr, dg_d.get(), dy_d.get(), x_d.get(), g_d.get(), rstd_d.get(), N,
                         C);
  cuda::rmsnorm_backward(c, nullptr, nullptr, dy_d.get(), x_d.get(), g_d.get(), rstd_d.get(), N, C);
  c.synchronize();
  expect_same_bits({dx_d.download(), dg_d.download()}, {r[2], r[3]}, "rmsnorm single gradients");
}

TEST(CudaRmsNorm, MatchesCpu) {
  ICL_REQUIRE_GPU();
  for (const int64_t N : kNormRows)
    for (const int64_t C : kNormCols) check_rmsnorm(N, C);
}

TEST(CudaRmsNorm, ManyRowsMatchesCpu) {
  ICL_REQUIRE_GPU();
  check_rmsnorm(256 * 4097 + 1, 3);
}

TEST(CudaRmsNorm, NoRowsTouchesNothing) {
  ICL_REQUIRE_GPU();
  const int64_t C = 9;
  const auto gamma = random_vector(size_t(C), "rms0.gamma"),
             dg0 = random_vector(size_t(C), "rms0.dg");
  const DeviceBuffer none(0), g_d(gamma);
  DeviceBuffer dg_d(dg0);
  cuda::rmsnorm_forward(ctx(), none.get(), none.get(), none.get(), g_d.get(), 0, C, kEps);
  cuda::add_rmsnorm_forward(ctx(), none.get(), none.get(), none.get(), none.get(), none.get(),
                            g_d.get(), 0, C, kEps);
  cuda::rmsnorm_backward(ctx(), none.get(), dg_d.get(), none.get(), none.get(), g_d.get(),
                         none.get(), 0, C);
  ctx().synchronize();
  expect_same_bits({dg_d.download()}, {dg0}, "rmsnorm N=0");
}

}  // namespace
}  // namespace icl

#else

TEST(CudaDense, NotBuilt) { GTEST_SKIP() << "CUDA backend not built"; }

#endif

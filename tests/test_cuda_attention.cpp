// CUDA attention (kernels/attention.cu), causal and not, against the CPU kern:: functions.
//
// The reference is kern:: instantiated in double on the same (float) inputs, so the measured error
// is the GPU's own fp32 rounding. Both GPU paths are covered through T: T <= kShortAttention with a
// head that fits in shared memory runs the one-block-per-(b, h) path, longer prompts (and T = 256
// with hd = 128, whose K and V exceed shared memory) the tiled path.
//
// Tolerances (max |gpu − cpu| / max |cpu| per tensor; the summation order differs from the CPU's):
//   out, lse: 1e-5. Each output is a softmax-weighted sum of up to T ~ 1000 values, accumulated in
//     fp32 key by key with online-softmax rescaling and expf (2 ulp), while the reference sums in
//     double; the error grows like √T·2^-24. Measured in an emulation of the kernels: <= 3e-7.
//   dq, dk, dv: 1e-4. dS = P (dP − D) subtracts nearly cancelling O(1) numbers, P and D come from
//     the GPU's own fp32 out and lse, and each gradient sums T such terms. Measured: <= 2e-6.
#include <gtest/gtest.h>

#ifdef ICL_WITH_CUDA

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/attention.h"
#include "tests/cuda_harness.h"

namespace icl {
namespace {

using test::ctx;
using test::DeviceBuffer;
using test::expect_close;
using test::random_vector;

constexpr double kForwardTol = 1e-5;
constexpr double kBackwardTol = 1e-4;

struct Case {
  int64_t B, T, C, H;
};

const char* kind_name(AttentionKind k) { return k == AttentionKind::Softmax ? "softmax" : "relu"; }

std::string label(const char* what, const Case& c, AttentionKind kind, bool causal = true) {
  return std::string(what) + " " + kind_name(kind) + (causal ? "" : " non-causal") +
         " B=" + std::to_string(c.B) + " T=" + std::to_string(c.T) + " C=" + std::to_string(c.C) +
         " H=" + std::to_string(c.H);
}

// Short path (T <= 256 and 2·T·hd floats fit in shared memory) and tiled path, hd from 1 to 256.
const std::vector<Case>& cases() {
  static const std::vector<Case> v = {
      {1, 1, 8, 1},      // hd 8, a single token
      {3, 2, 64, 2},     // hd 32
      {1, 31, 64, 1},    // hd 64
      {3, 82, 300, 3},   // hd 100: padded to 128
      {2, 40, 3, 3},     // hd 1
      {1, 256, 128, 2},  // hd 64 at T = 256: 128 KB of shared memory (opt-in)
      {2, 100, 256, 1},  // hd 256 on the short path (200 KB of shared memory)
      {1, 256, 128, 1},  // hd 128 at T = 256: too big for shared memory -> tiled
      {1, 257, 64, 2},   // hd 32, first tiled length
      {3, 600, 128, 2},  // hd 64
      {1, 1031, 96, 1},  // hd 96: padded to 128
      {2, 513, 24, 3},   // hd 8
      {1, 300, 256, 1},  // hd 256 tiled
      {1, 290, 5, 5},    // hd 1 tiled
  };
  return v;
}

// Random qkv. For ReLU the scores are kept away from the kink at 0 (where fp32 and double could
// disagree on the gate 1[S > 0] and the gradient jumps): in each head the first q and k column is
// z + 2·sign(z), the others z/(2√hd), so |q·k| ≥ 4 − Σ|z z'|/(4 hd) stays far from 0.
std::vector<float> make_qkv(const Case& c, AttentionKind kind, const std::string& name) {
  auto x = random_vector(size_t(c.B * c.T * 3 * c.C), name);
  if (kind == AttentionKind::Relu) {
    const int64_t hd = c.C / c.H;
    const float small = 0.5f / std::sqrt(float(hd));
    for (size_t i = 0; i < x.size(); ++i) {
      const int64_t col = int64_t(i) % (3 * c.C), part = col / c.C, in_head = (col % c.C) % hd;
      if (part == 2) continue;
      x[i] = in_head == 0 ? x[i] + (x[i] < 0 ? -2.f : 2.f) : small * x[i];
    }
  }
  return x;
}

std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }
std::vector<float> to_float(const std::vector<double>& v) { return {v.begin(), v.end()}; }

struct CpuForward {
  std::vector<double> out, lse;
};
CpuForward cpu_forward(const std::vector<float>& qkv, const Case& c, AttentionKind kind,
                       bool causal) {
  CpuForward r;
  r.out.assign(size_t(c.B * c.T * c.C), std::nan(""));
  r.lse.assign(size_t(c.B * c.H * c.T), std::nan(""));  // ReLU leaves it unwritten
  const auto x = to_double(qkv);
  kern::attention_forward(r.out.data(), r.lse.data(), x.data(), c.B, c.T, c.C, c.H, kind, causal);
  return r;
}

TEST(CudaAttention, ForwardMatchesCpu) {
  ICL_REQUIRE_GPU();
  for (bool causal : {true, false})
    for (AttentionKind kind : {AttentionKind::Softmax, AttentionKind::Relu})
      for (const Case& c : cases()) {
        const std::string what = label("forward", c, kind, causal);
        SCOPED_TRACE(what);
        const auto qkv = make_qkv(c, kind, what);
        const CpuForward ref = cpu_forward(qkv, c, kind, causal);
        DeviceBuffer d_qkv(qkv), out(ref.out.size()), lse(ref.lse.size());
        cuda::attention_forward(ctx(), out.get(), lse.get(), d_qkv.get(), c.B, c.T, c.C, c.H, kind,
                                causal);
        ctx().synchronize();
        const auto gpu_out = out.download();
        expect_close(gpu_out, to_float(ref.out), kForwardTol, what + " out");
        // Softmax writes lse; ReLU must leave the buffer untouched (NaN on both sides).
        expect_close(lse.download(), to_float(ref.lse), kForwardTol, what + " lse");

        // Without lse (no backward follows) the output is the same, bit for bit.
        DeviceBuffer out2(ref.out.size());
        cuda::attention_forward(ctx(), out2.get(), nullptr, d_qkv.get(), c.B, c.T, c.C, c.H, kind,
                                causal);
        ctx().synchronize();
        EXPECT_EQ(
            std::memcmp(out2.download().data(), gpu_out.data(), gpu_out.size() * sizeof(float)), 0)
            << what << ": output changes when lse is not requested";
      }
}

// Causality across the two paths: the first 256 rows of a 257-token prompt (tiled path) equal the
// output of those 256 tokens alone (short path), up to rounding.
TEST(CudaAttention, ShortAndTiledPathsAgree) {
  ICL_REQUIRE_GPU();
  for (AttentionKind kind : {AttentionKind::Softmax, AttentionKind::Relu}) {
    const Case lng{2, cuda::kShortAttention + 1, 96, 3}, sht{1, cuda::kShortAttention, 96, 3};
    const auto qkv = make_qkv(lng, kind, label("paths", lng, kind));
    DeviceBuffer d_long(qkv), out_long(size_t(lng.B * lng.T * lng.C));
    cuda::attention_forward(ctx(), out_long.get(), nullptr, d_long.get(), lng.B, lng.T, lng.C,
                            lng.H, kind);
    const auto all = out_long.download();
    for (int64_t b = 0; b < lng.B; ++b) {
      const auto first = qkv.begin() + b * lng.T * 3 * lng.C;
      const std::vector<float> prefix(first, first + sht.T * 3 * sht.C);
      DeviceBuffer d_short(prefix), out_short(size_t(sht.T * sht.C));
      cuda::attention_forward(ctx(), out_short.get(), nullptr, d_short.get(), sht.B, sht.T, sht.C,
                              sht.H, kind);
      const auto a = all.begin() + b * lng.T * lng.C;
      expect_close(out_short.download(), std::vector<float>(a, a + sht.T * sht.C), kForwardTol,
                   std::string("short vs tiled ") + kind_name(kind) + " b=" + std::to_string(b));
    }
  }
}

struct BackwardRun {
  std::vector<float> dqkv, out, lse;
};

// GPU forward then backward, dqkv starting from `dqkv0`; lse is passed only for softmax.
BackwardRun gpu_backward(const std::vector<float>& qkv, const std::vector<float>& dout,
                         const std::vector<float>& dqkv0, const Case& c, AttentionKind kind,
                         bool causal = true) {
  const bool softmax = kind == AttentionKind::Softmax;
  DeviceBuffer d_qkv(qkv), d_dout(dout), d_dqkv(dqkv0), out(size_t(c.B * c.T * c.C)),
      lse(size_t(c.B * c.H * c.T));
  float* lse_p = softmax ? lse.get() : nullptr;
  cuda::attention_forward(ctx(), out.get(), lse_p, d_qkv.get(), c.B, c.T, c.C, c.H, kind, causal);
  cuda::attention_backward(ctx(), d_dqkv.get(), d_dout.get(), out.get(), lse_p, d_qkv.get(), c.B,
                           c.T, c.C, c.H, kind, causal);
  ctx().synchronize();
  return {d_dqkv.download(), out.download(), lse.download()};
}

TEST(CudaAttention, BackwardMatchesCpu) {
  ICL_REQUIRE_GPU();
  for (bool causal : {true, false})
    for (AttentionKind kind : {AttentionKind::Softmax, AttentionKind::Relu})
      for (const Case& c : cases()) {
        const std::string what = label("backward", c, kind, causal);
        SCOPED_TRACE(what);
        const auto qkv = make_qkv(c, kind, what);
        const auto dout = random_vector(size_t(c.B * c.T * c.C), what + " dout");
        // The gradient accumulates (+=): both sides start from the same random values.
        const auto dqkv0 = random_vector(qkv.size(), what + " dqkv0");

        const CpuForward f = cpu_forward(qkv, c, kind, causal);
        auto ref = to_double(dqkv0);
        const auto x = to_double(qkv), dy = to_double(dout);
        kern::attention_backward(ref.data(), dy.data(), f.out.data(), f.lse.data(), x.data(), c.B,
                                 c.T, c.C, c.H, kind, causal);

        const BackwardRun g = gpu_backward(qkv, dout, dqkv0, c, kind, causal);
        // Compared part by part (dq, dk, dv), each against its own scale.
        const int64_t rows = c.B * c.T, C = c.C;
        for (int64_t part = 0; part < 3; ++part) {
          std::vector<float> gpu, cpu;
          for (int64_t r = 0; r < rows; ++r)
            for (int64_t i = 0; i < C; ++i) {
              const size_t k = size_t(r * 3 * C + part * C + i);
              gpu.push_back(g.dqkv[k]);
              cpu.push_back(float(ref[k]));
            }
          expect_close(gpu, cpu, kBackwardTol,
                       what + (part == 0   ? " dq"
                               : part == 1 ? " dk"
                                           : " dv"));
        }
        // The kernel added into dqkv rather than overwriting it: the gradient itself (result minus
        // start) matches too, which fails if the start values were dropped.
        std::vector<float> gdiff(qkv.size()), cdiff(qkv.size());
        for (size_t k = 0; k < qkv.size(); ++k) {
          gdiff[k] = g.dqkv[k] - dqkv0[k];
          cdiff[k] = float(ref[k] - double(dqkv0[k]));
        }
        expect_close(gdiff, cdiff, kBackwardTol, what + " dqkv increment");
      }
}

TEST(CudaAttention, Deterministic) {
  ICL_REQUIRE_GPU();
  for (bool causal : {true, false})
    for (AttentionKind kind : {AttentionKind::Softmax, AttentionKind::Relu})
      for (const Case& c : {Case{3, 82, 300, 3}, Case{2, 777, 128, 2}, Case{1, 256, 256, 4}}) {
        const std::string what = label("determinism", c, kind, causal);
        const auto qkv = make_qkv(c, kind, what);
        const auto dout = random_vector(size_t(c.B * c.T * c.C), what + " dout");
        const auto dqkv0 = random_vector(qkv.size(), what + " dqkv0");
        const BackwardRun a = gpu_backward(qkv, dout, dqkv0, c, kind, causal);
        const BackwardRun b = gpu_backward(qkv, dout, dqkv0, c, kind, causal);
        EXPECT_EQ(std::memcmp(a.out.data(), b.out.data(), a.out.size() * sizeof(float)), 0) << what;
        EXPECT_EQ(std::memcmp(a.lse.data(), b.lse.data(), a.lse.size() * sizeof(float)), 0) << what;
        EXPECT_EQ(std::memcmp(a.dqkv.data(), b.dqkv.data(), a.dqkv.size() * sizeof(float)), 0)
            << what;
      }
}

// A null dqkv means "no gradient wanted": nothing is launched, nothing is touched.
TEST(CudaAttention, NullGradientAndEmptyShapes) {
  ICL_REQUIRE_GPU();
  const Case c{2, 9, 12, 3};
  const auto qkv = make_qkv(c, AttentionKind::Softmax, "null grad qkv");
  const auto dout = random_vector(size_t(c.B * c.T * c.C), "null grad dout");
  DeviceBuffer d_qkv(qkv), d_dout(dout), out(size_t(c.B * c.T * c.C)), lse(size_t(c.B * c.H * c.T));
  cuda::attention_forward(ctx(), out.get(), lse.get(), d_qkv.get(), c.B, c.T, c.C, c.H,
                          AttentionKind::Softmax);
  cuda::attention_backward(ctx(), nullptr, d_dout.get(), out.get(), lse.get(), d_qkv.get(), c.B,
                           c.T, c.C, c.H, AttentionKind::Softmax);
  ctx().synchronize();
  EXPECT_EQ(std::memcmp(d_qkv.download().data(), qkv.data(), qkv.size() * sizeof(float)), 0);

  // B = 0 or T = 0: nothing to do, no launch (the pointers are never read).
  for (AttentionKind kind : {AttentionKind::Softmax, AttentionKind::Relu}) {
    cuda::attention_forward(ctx(), nullptr, nullptr, nullptr, 0, 5, 12, 3, kind);
    cuda::attention_forward(ctx(), nullptr, nullptr, nullptr, 2, 0, 12, 3, kind);
    cuda::attention_backward(ctx(), nullptr, nullptr, nullptr, nullptr, nullptr, 0, 5, 12, 3, kind);
    cuda::attention_backward(ctx(), nullptr, nullptr, nullptr, nullptr, nullptr, 2, 0, 12, 3, kind);
  }
  ctx().synchronize();
}

TEST(CudaAttention, RejectsHeadDimensionAbove256) {
  ICL_REQUIRE_GPU();
  DeviceBuffer qkv(size_t(3 * 257)), out(257), lse(1);
  EXPECT_THROW(cuda::attention_forward(ctx(), out.get(), lse.get(), qkv.get(), 1, 1, 257, 1,
                                       AttentionKind::Softmax),
               Error);
}

}  // namespace
}  // namespace icl

#else

TEST(CudaAttention, NotBuilt) { GTEST_SKIP() << "CUDA backend not built"; }

#endif

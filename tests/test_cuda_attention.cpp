// What the op harness (tests/op_harness.h) cannot express about CUDA attention
// (kernels/attention.cu); its forward and backward against kern:: in fp64, causal or not, on both
// GPU paths, are the cases of OpAttention.AttentionOnCuda (tests/test_op_attention.cpp).
//
//   - The two paths against each other: the first 256 rows of a 257-token prompt (tiled path)
//     equal the output of those 256 tokens alone (short path). Tolerance 1e-5, as the forward.
//   - Optional outputs: the forward without lse (no backward follows) gives the same bits.
//   - A null dqkv launches nothing and touches nothing; B = 0 or T = 0 never reads a pointer.
//   - Head dimensions above 256 are a one-line error.
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

struct Case {
  int64_t B, T, C, H;
};

const char* kind_name(AttentionKind k) { return k == AttentionKind::Softmax ? "softmax" : "relu"; }

std::string label(const char* what, const Case& c, AttentionKind kind, bool causal = true) {
  return std::string(what) + " " + kind_name(kind) + (causal ? "" : " non-causal") +
         " B=" + std::to_string(c.B) + " T=" + std::to_string(c.T) + " C=" + std::to_string(c.C) +
         " H=" + std::to_string(c.H);
}

// Random qkv. For ReLU the scores are kept away from the kink at 0 (where the two paths could
// disagree on the gate 1[S > 0]): in each head the first q and k column is z + 2·sign(z), the
// others z/(2√hd), so |q·k| ≥ 4 − Σ|z z'|/(4 hd) stays far from 0.
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

// Without lse the output is the same, bit for bit, on both paths, causal or not.
TEST(CudaAttention, ForwardWithoutLseGivesTheSameOutput) {
  ICL_REQUIRE_GPU();
  for (bool causal : {true, false})
    for (AttentionKind kind : {AttentionKind::Softmax, AttentionKind::Relu})
      for (const Case& c :
           {Case{3, 82, 300, 3}, Case{2, 100, 256, 1}, Case{1, 257, 64, 2}, Case{1, 1031, 96, 1}}) {
        const std::string what = label("without lse", c, kind, causal);
        SCOPED_TRACE(what);
        const DeviceBuffer d_qkv(make_qkv(c, kind, what)), out(size_t(c.B * c.T * c.C)),
            out2(size_t(c.B * c.T * c.C)), lse(size_t(c.B * c.H * c.T));
        cuda::attention_forward(ctx(), out.get(), lse.get(), d_qkv.get(), c.B, c.T, c.C, c.H, kind,
                                causal);
        cuda::attention_forward(ctx(), out2.get(), nullptr, d_qkv.get(), c.B, c.T, c.C, c.H, kind,
                                causal);
        ctx().synchronize();
        const auto a = out.download(), b = out2.download();
        EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0)
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

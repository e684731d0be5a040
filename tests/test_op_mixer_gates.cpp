// The gate and feature-map ops of the recurrent mixers (kernels/smooth_activations.h,
// kernels/gating.h, kernels/per_head.h) and their CUDA twins through the op harness: fp32 vs fp64
// forward, fp64 backward vs finite differences, fp32 vs fp64 backward, accumulation; the twins
// against the CPU. Plus their values at extreme inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <tuple>
#include <utility>

#include "core/arena.h"
#include "kernels/gating.h"
#include "kernels/per_head.h"
#include "kernels/smooth_activations.h"
#include "tests/op_harness.h"

namespace icl {
namespace {

using test::DeviceGrads;
using test::DeviceInputs;

// Elementwise lengths for the CUDA twins: one element, a few blocks, and past the capped grid's
// reach (several elements per thread).
constexpr int64_t kMapLengths[] = {1, 1000, 2100003};

// Inputs spread·z, except the first two at ±40 (extremes, CUDA cases only): the stable branches'
// far ends.
double spread_input(double spread, bool extremes, int64_t i, double z) {
  if (extremes && i < 2) return i == 0 ? 40.0 : -40.0;
  return spread * z;
}

struct SigmoidGateCase {
  int64_t n;
  double c, p, spread;
  bool extremes = false;
  std::vector<Shape> inputs() const { return {{n}}; }
  Shape output() const { return {n}; }
  double input(size_t, int64_t i, double z) const { return spread_input(spread, extremes, i, z); }
  template <class T>
  void forward(const std::vector<const T*>& x, T* y, std::vector<T>&) const {
    kern::sigmoid_gate_forward(y, x[0], T(c), T(p), n);
  }
  template <class T>
  void backward(const std::vector<const T*>& x, const T* y, const T* dy, const std::vector<T*>& dx,
                std::vector<T>&) const {
    kern::sigmoid_gate_backward(dx[0], dy, y, x[0], T(p), n);
  }
#ifdef ICL_WITH_CUDA
  void cuda_forward(const CudaContext& cx, const DeviceInputs& x, float* y, float*) const {
    cuda::sigmoid_gate_forward(cx, y, x[0], float(c), float(p), n);
  }
  void cuda_backward(const CudaContext& cx, const DeviceInputs& x, const float* y, const float* dy,
                     const DeviceGrads& dx, float*) const {
    cuda::sigmoid_gate_backward(cx, dx[0], dy, y, x[0], float(p), n);
  }
#endif
};

struct SoftplusCase {
  int64_t n;
  double spread;
  bool extremes = false;
  std::vector<Shape> inputs() const { return {{n}}; }
  Shape output() const { return {n}; }
  double input(size_t, int64_t i, double z) const { return spread_input(spread, extremes, i, z); }
  template <class T>
  void forward(const std::vector<const T*>& x, T* y, std::vector<T>&) const {
    kern::softplus_forward(y, x[0], n);
  }
  template <class T>
  void backward(const std::vector<const T*>& x, const T*, const T* dy, const std::vector<T*>& dx,
                std::vector<T>&) const {
    kern::softplus_backward(dx[0], dy, x[0], n);
  }
#ifdef ICL_WITH_CUDA
  void cuda_forward(const CudaContext& cx, const DeviceInputs& x, float* y, float*) const {
    cuda::softplus_forward(cx, y, x[0], n);
  }
  void cuda_backward(const CudaContext& cx, const DeviceInputs& x, const float*, const float* dy,
                     const DeviceGrads& dx, float*) const {
    cuda::softplus_backward(cx, dx[0], dy, x[0], n);
  }
#endif
};

struct EluPlusOneCase {
  int64_t n;
  double spread = 1;
  bool extremes = false;
  std::vector<Shape> inputs() const { return {{n}}; }
  Shape output() const { return {n}; }
  // Away from the kink at 0, where the finite difference straddles two slopes.
  double input(size_t, int64_t i, double z) const {
    const double x = spread_input(spread, extremes, i, z);
    return x >= 0 ? x + 1e-3 : x - 1e-3;
  }
  template <class T>
  void forward(const std::vector<const T*>& x, T* y, std::vector<T>&) const {
    kern::elu_plus_one_forward(y, x[0], n);
  }
  template <class T>
  void backward(const std::vector<const T*>& x, const T*, const T* dy, const std::vector<T*>& dx,
                std::vector<T>&) const {
    kern::elu_plus_one_backward(dx[0], dy, x[0], n);
  }
#ifdef ICL_WITH_CUDA
  void cuda_forward(const CudaContext& cx, const DeviceInputs& x, float* y, float*) const {
    cuda::elu_plus_one_forward(cx, y, x[0], n);
  }
  void cuda_backward(const CudaContext& cx, const DeviceInputs& x, const float*, const float* dy,
                     const DeviceGrads& dx, float*) const {
    cuda::elu_plus_one_backward(cx, dx[0], dy, x[0], n);
  }
#endif
};

struct SiluCase {
  int64_t n;
  double spread;
  bool extremes = false;
  std::vector<Shape> inputs() const { return {{n}}; }
  Shape output() const { return {n}; }
  double input(size_t, int64_t i, double z) const { return spread_input(spread, extremes, i, z); }
  template <class T>
  void forward(const std::vector<const T*>& x, T* y, std::vector<T>&) const {
    kern::silu_forward(y, x[0], n);
  }
  template <class T>
  void backward(const std::vector<const T*>& x, const T*, const T* dy, const std::vector<T*>& dx,
                std::vector<T>&) const {
    kern::silu_backward(dx[0], dy, x[0], n);
  }
#ifdef ICL_WITH_CUDA
  void cuda_forward(const CudaContext& cx, const DeviceInputs& x, float* y, float*) const {
    cuda::silu_forward(cx, y, x[0], n);
  }
  void cuda_backward(const CudaContext& cx, const DeviceInputs& x, const float*, const float* dy,
                     const DeviceGrads& dx, float*) const {
    cuda::silu_backward(cx, dx[0], dy, x[0], n);
  }
#endif
};

struct MultiplyCase {
  int64_t n;
  std::vector<Shape> inputs() const { return {{n}, {n}}; }
  Shape output() const { return {n}; }
  template <class T>
  void forward(const std::vector<const T*>& x, T* y, std::vector<T>&) const {
    kern::multiply_forward(y, x[0], x[1], n);
  }
  template <class T>
  void backward(const std::vector<const T*>& x, const T*, const T* dy, const std::vector<T*>& dx,
                std::vector<T>&) const {
    kern::multiply_backward(dx[0], dx[1], dy, x[0], x[1], n);
  }
#ifdef ICL_WITH_CUDA
  void cuda_forward(const CudaContext& cx, const DeviceInputs& x, float* y, float*) const {
    cuda::multiply_forward(cx, y, x[0], x[1], n);
  }
  void cuda_backward(const CudaContext& cx, const DeviceInputs& x, const float*, const float* dy,
                     const DeviceGrads& dx, float*) const {
    cuda::multiply_backward(cx, dx[0], dx[1], dy, x[0], x[1], n);
  }
#endif
};

struct ScaleChannelsCase {
  int64_t R, C;
  std::vector<Shape> inputs() const { return {{R, C}, {C}}; }
  Shape output() const { return {R, C}; }
  template <class T>
  void forward(const std::vector<const T*>& x, T* y, std::vector<T>&) const {
    kern::scale_channels_forward(y, x[0], x[1], R, C);
  }
  template <class T>
  void backward(const std::vector<const T*>& x, const T*, const T* dy, const std::vector<T*>& dx,
                std::vector<T>&) const {
    kern::scale_channels_backward(dx[0], dx[1], dy, x[0], x[1], R, C);
  }
#ifdef ICL_WITH_CUDA
  void cuda_forward(const CudaContext& cx, const DeviceInputs& x, float* y, float*) const {
    cuda::scale_channels_forward(cx, y, x[0], x[1], R, C);
  }
  void cuda_backward(const CudaContext& cx, const DeviceInputs& x, const float*, const float* dy,
                     const DeviceGrads& dx, float*) const {
    cuda::scale_channels_backward(cx, dx[0], dx[1], dy, x[0], x[1], R, C);
  }
  // dd is a column sum over the rows (another order than the CPU's); each gradient alone too.
  test::CudaTolerance cuda_tolerance() const { return {.each_gradient_alone = true}; }
#endif
};

struct AddChannelsCase {
  int64_t R, C;
  std::vector<Shape> inputs() const { return {{R, C}, {C}}; }
  Shape output() const { return {R, C}; }
  template <class T>
  void forward(const std::vector<const T*>& x, T* y, std::vector<T>&) const {
    kern::add_channels_forward(y, x[0], x[1], R, C);
  }
  template <class T>
  void backward(const std::vector<const T*>&, const T*, const T* dy, const std::vector<T*>& dx,
                std::vector<T>&) const {
    kern::add_channels_backward(dx[0], dx[1], dy, R, C);
  }
#ifdef ICL_WITH_CUDA
  void cuda_forward(const CudaContext& cx, const DeviceInputs& x, float* y, float*) const {
    cuda::add_channels_forward(cx, y, x[0], x[1], R, C);
  }
  void cuda_backward(const CudaContext& cx, const DeviceInputs&, const float*, const float* dy,
                     const DeviceGrads& dx, float*) const {
    cuda::add_channels_backward(cx, dx[0], dx[1], dy, R, C);
  }
  // dc is a column sum over the rows (another order than the CPU's); each gradient alone too.
  test::CudaTolerance cuda_tolerance() const { return {.each_gradient_alone = true}; }
#endif
};

struct ScaleHeadsCase {
  int64_t R, H, d;
  std::vector<Shape> inputs() const { return {{R, H * d}, {R, H}}; }
  Shape output() const { return {R, H * d}; }
  template <class T>
  void forward(const std::vector<const T*>& x, T* y, std::vector<T>&) const {
    kern::scale_heads_forward(y, x[0], x[1], R, H, d);
  }
  template <class T>
  void backward(const std::vector<const T*>& x, const T*, const T* dy, const std::vector<T*>& dx,
                std::vector<T>&) const {
    kern::scale_heads_backward(dx[0], dx[1], dy, x[0], x[1], R, H, d);
  }
#ifdef ICL_WITH_CUDA
  void cuda_forward(const CudaContext& cx, const DeviceInputs& x, float* y, float*) const {
    cuda::scale_heads_forward(cx, y, x[0], x[1], R, H, d);
  }
  void cuda_backward(const CudaContext& cx, const DeviceInputs& x, const float*, const float* dy,
                     const DeviceGrads& dx, float*) const {
    cuda::scale_heads_backward(cx, dx[0], dx[1], dy, x[0], x[1], R, H, d);
  }
#endif
};

struct L2NormHeadsCase {
  int64_t R, H, d;
  // A head of width 1 normalises to ±1 up to eps/x² (eps = 1e-6): its gradient eps/|x|³ is then
  // rounding noise in fp32 on either device. At x_scale 1e-3 (x² near eps) it is well conditioned.
  double x_scale = 1;
  std::vector<Shape> inputs() const { return {{R, H * d}}; }
  Shape output() const { return {R, H * d}; }
  double input(size_t, int64_t, double z) const { return x_scale * z; }
  template <class T>
  void forward(const std::vector<const T*>& x, T* y, std::vector<T>&) const {
    kern::l2norm_heads_forward(y, x[0], T(1e-6), R * H, d);
  }
  template <class T>
  void backward(const std::vector<const T*>& x, const T* y, const T* dy, const std::vector<T*>& dx,
                std::vector<T>&) const {
    kern::l2norm_heads_backward(dx[0], dy, y, x[0], T(1e-6), R * H, d);
  }
#ifdef ICL_WITH_CUDA
  void cuda_forward(const CudaContext& cx, const DeviceInputs& x, float* y, float*) const {
    cuda::l2norm_heads_forward(cx, y, x[0], 1e-6f, R * H, d);
  }
  void cuda_backward(const CudaContext& cx, const DeviceInputs& x, const float* y, const float* dy,
                     const DeviceGrads& dx, float*) const {
    cuda::l2norm_heads_backward(cx, dx[0], dy, y, x[0], 1e-6f, R * H, d);
  }
#endif
};

struct SsmDecayCase {
  int64_t R, H;
  bool negative;
  std::vector<Shape> inputs() const { return {{R, H}, {H}}; }
  Shape output() const { return {R, H}; }
  // Δ > 0 as softplus makes it; A_log around 0..1 (A between −1 and −3).
  double input(size_t which, int64_t, double z) const {
    return which == 0 ? std::log1p(std::exp(z)) : 0.5 + 0.3 * z;
  }
  template <class T>
  void forward(const std::vector<const T*>& x, T* y, std::vector<T>&) const {
    kern::ssm_decay_forward(y, x[0], x[1], negative, R, H);
  }
  template <class T>
  void backward(const std::vector<const T*>& x, const T*, const T* dy, const std::vector<T*>& dx,
                std::vector<T>&) const {
    kern::ssm_decay_backward(dx[0], dx[1], dy, x[0], x[1], negative, R, H);
  }
#ifdef ICL_WITH_CUDA
  void cuda_forward(const CudaContext& cx, const DeviceInputs& x, float* y, float*) const {
    cuda::ssm_decay_forward(cx, y, x[0], x[1], negative, R, H);
  }
  void cuda_backward(const CudaContext& cx, const DeviceInputs& x, const float*, const float* dy,
                     const DeviceGrads& dx, float*) const {
    cuda::ssm_decay_backward(cx, dx[0], dx[1], dy, x[0], x[1], negative, R, H);
  }
#endif
};

// The twins' default tolerance, 1e-5 against kern:: in fp32 (op_harness.h's table): the CPU's
// arithmetic with the device's expf / log1pf, and the column sums (dd, dA_log) in another order.

ICL_OP_TEST(OpMixerGates, SigmoidGate) {
  run(SigmoidGateCase{300, 1, 1, 2}, "sigmoid");
  run(SigmoidGateCase{300, 2, 1, 2}, "2 sigmoid (DeltaNet, eigen negative)");
  run(SigmoidGateCase{300, 1, 1.0 / 16, 3}, "sigmoid^(1/16) (GLA)");
  for (int64_t n : kMapLengths)
    run.cuda_only(SigmoidGateCase{n, 2, 0.4, 6, n > 2},
                  fmt::format("sigmoid_gate c=2 p=0.4 n={}", n));
}

ICL_OP_TEST(OpMixerGates, Softplus) {
  run(SoftplusCase{300, 1}, "softplus");
  run(SoftplusCase{300, 8}, "softplus, wide inputs");
  for (int64_t n : kMapLengths)
    run.cuda_only(SoftplusCase{n, 6, n > 2}, fmt::format("softplus n={}", n));
}

ICL_OP_TEST(OpMixerGates, EluPlusOne) {
  run(EluPlusOneCase{300}, "elu+1");
  for (int64_t n : kMapLengths)
    run.cuda_only(EluPlusOneCase{n, 6, n > 2}, fmt::format("elu_plus_one n={}", n));
}

ICL_OP_TEST(OpMixerGates, Silu) {
  run(SiluCase{300, 1}, "silu");
  run(SiluCase{300, 12}, "silu, wide inputs");
  for (int64_t n : kMapLengths) run.cuda_only(SiluCase{n, 6, n > 2}, fmt::format("silu n={}", n));
}

// [R, C] shapes for the CUDA twins: a single element, odd sizes, many rows of few channels.
constexpr std::pair<int64_t, int64_t> kGateShapes[] = {{1, 1}, {7, 13}, {1031, 96}, {70001, 3}};

ICL_OP_TEST(OpMixerGates, Multiply) {
  run(MultiplyCase{300}, "multiply");
  for (auto [R, C] : kGateShapes)
    run.cuda_only(MultiplyCase{R * C}, fmt::format("multiply n={}", R * C));
}

ICL_OP_TEST(OpMixerGates, ScaleChannels) {
  run(ScaleChannelsCase{7, 5}, "scale_channels");
  run(ScaleChannelsCase{40, 33}, "scale_channels, several channel blocks");
  for (auto [R, C] : kGateShapes)
    run.cuda_only(ScaleChannelsCase{R, C}, fmt::format("scale_channels R={} C={}", R, C));
}

ICL_OP_TEST(OpMixerGates, AddChannels) {
  run(AddChannelsCase{7, 5}, "add_channels");
  run(AddChannelsCase{40, 33}, "add_channels, several channel blocks");
  for (auto [R, C] : kGateShapes)
    run.cuda_only(AddChannelsCase{R, C}, fmt::format("add_channels R={} C={}", R, C));
}

// [R, H, d] shapes for the per-head twins.
constexpr std::tuple<int64_t, int64_t, int64_t> kHeadShapes[] = {
    {1, 1, 1}, {37, 3, 5}, {4099, 4, 16}, {20001, 2, 3}};

ICL_OP_TEST(OpMixerGates, ScaleHeads) {
  run(ScaleHeadsCase{7, 3, 4}, "scale_heads");
  run(ScaleHeadsCase{5, 1, 6}, "scale_heads, one head");
  for (auto [R, H, d] : kHeadShapes)
    run.cuda_only(ScaleHeadsCase{R, H, d}, fmt::format("scale_heads R={} H={} d={}", R, H, d));
}

ICL_OP_TEST(OpMixerGates, L2NormHeads) {
  run(L2NormHeadsCase{6, 2, 5}, "l2norm_heads");
  run(L2NormHeadsCase{3, 4, 2}, "l2norm_heads, width 2");
  for (auto [R, H, d] : kHeadShapes)
    run.cuda_only(L2NormHeadsCase{R, H, d, d == 1 ? 1e-3 : 1.0},
                  fmt::format("l2norm_heads R={} H={} d={}", R, H, d));
}

ICL_OP_TEST(OpMixerGates, SsmDecay) {
  run(SsmDecayCase{9, 3, false}, "exp(ΔA)");
  run(SsmDecayCase{9, 3, true}, "2 exp(ΔA) - 1");
  for (auto [R, H, d] : kHeadShapes)
    for (const bool negative : {false, true})
      run.cuda_only(SsmDecayCase{R, H, negative},
                    fmt::format("ssm_decay R={} H={} negative={}", R, H, negative));
}

TEST(OpMixerGates, ExtremesStayFiniteAndInRange) {
  const std::vector<float> x = {-1e4f, -100.f, -30.f, 0.f, 30.f, 100.f, 1e4f};
  const int64_t n = int64_t(x.size());
  std::vector<float> y(x.size()), dx(x.size(), 0.f), dy(x.size(), 1.f);
  kern::sigmoid_gate_forward(y.data(), x.data(), 2.f, 1.f / 16, n);
  kern::sigmoid_gate_backward(dx.data(), dy.data(), y.data(), x.data(), 1.f / 16, n);
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_TRUE(y[i] >= 0.f && y[i] <= 2.f) << x[i];
    EXPECT_TRUE(std::isfinite(dx[i])) << x[i];
  }
  EXPECT_FLOAT_EQ(y.back(), 2.f);
  kern::softplus_forward(y.data(), x.data(), n);
  for (size_t i = 0; i < x.size(); ++i) EXPECT_TRUE(std::isfinite(y[i]) && y[i] >= 0.f) << x[i];
  EXPECT_FLOAT_EQ(y.back(), 1e4f);
  // Decays: Δ → 0 gives transition 1, Δ → ∞ gives 0 (or −1 with the negative range).
  const std::vector<float> dt = {0.f, 1e-8f, 1e4f}, a_log = {2.f};
  std::vector<float> a(3);
  kern::ssm_decay_forward(a.data(), dt.data(), a_log.data(), false, 3, 1);
  EXPECT_EQ(a[0], 1.f);
  EXPECT_EQ(a[2], 0.f);
  kern::ssm_decay_forward(a.data(), dt.data(), a_log.data(), true, 3, 1);
  EXPECT_EQ(a[0], 1.f);
  EXPECT_EQ(a[2], -1.f);
  // A zero head normalises to zero, not NaN.
  const std::vector<float> zero(4, 0.f);
  std::vector<float> out(4), dz(4, 0.f), ones(4, 1.f);
  kern::l2norm_heads_forward(out.data(), zero.data(), 1e-6f, 2, 2);
  kern::l2norm_heads_backward(dz.data(), ones.data(), out.data(), zero.data(), 1e-6f, 2, 2);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(out[size_t(i)] == 0.f && std::isfinite(dz[size_t(i)]));
}

}  // namespace
}  // namespace icl

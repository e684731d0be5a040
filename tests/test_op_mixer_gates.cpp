// The gate and feature-map ops of the recurrent mixers (kernels/smooth_activations.h,
// kernels/per_head.h) through the op harness: fp32 vs fp64 forward, fp64 backward vs finite
// differences, fp32 vs fp64 backward, accumulation. Plus their values at extreme inputs.
#include <gtest/gtest.h>

#include <cmath>

#include "core/arena.h"
#include "kernels/gating.h"
#include "kernels/per_head.h"
#include "kernels/smooth_activations.h"
#include "tests/op_harness.h"

namespace icl {
namespace {

using test::check_op;

struct SigmoidGateCase {
  int64_t n;
  double c, p, spread;
  std::vector<Shape> inputs() const { return {{n}}; }
  Shape output() const { return {n}; }
  double input(size_t, int64_t, double z) const { return spread * z; }
  template <class T>
  void forward(const std::vector<const T*>& x, T* y, std::vector<T>&) const {
    kern::sigmoid_gate_forward(y, x[0], T(c), T(p), n);
  }
  template <class T>
  void backward(const std::vector<const T*>& x, const T* y, const T* dy, const std::vector<T*>& dx,
                std::vector<T>&) const {
    kern::sigmoid_gate_backward(dx[0], dy, y, x[0], T(p), n);
  }
};

struct SoftplusCase {
  int64_t n;
  double spread;
  std::vector<Shape> inputs() const { return {{n}}; }
  Shape output() const { return {n}; }
  double input(size_t, int64_t, double z) const { return spread * z; }
  template <class T>
  void forward(const std::vector<const T*>& x, T* y, std::vector<T>&) const {
    kern::softplus_forward(y, x[0], n);
  }
  template <class T>
  void backward(const std::vector<const T*>& x, const T*, const T* dy, const std::vector<T*>& dx,
                std::vector<T>&) const {
    kern::softplus_backward(dx[0], dy, x[0], n);
  }
};

struct EluPlusOneCase {
  int64_t n;
  std::vector<Shape> inputs() const { return {{n}}; }
  Shape output() const { return {n}; }
  // Away from the kink at 0, where the finite difference straddles two slopes.
  double input(size_t, int64_t, double z) const { return z >= 0 ? z + 1e-3 : z - 1e-3; }
  template <class T>
  void forward(const std::vector<const T*>& x, T* y, std::vector<T>&) const {
    kern::elu_plus_one_forward(y, x[0], n);
  }
  template <class T>
  void backward(const std::vector<const T*>& x, const T*, const T* dy, const std::vector<T*>& dx,
                std::vector<T>&) const {
    kern::elu_plus_one_backward(dx[0], dy, x[0], n);
  }
};

struct SiluCase {
  int64_t n;
  double spread;
  std::vector<Shape> inputs() const { return {{n}}; }
  Shape output() const { return {n}; }
  double input(size_t, int64_t, double z) const { return spread * z; }
  template <class T>
  void forward(const std::vector<const T*>& x, T* y, std::vector<T>&) const {
    kern::silu_forward(y, x[0], n);
  }
  template <class T>
  void backward(const std::vector<const T*>& x, const T*, const T* dy, const std::vector<T*>& dx,
                std::vector<T>&) const {
    kern::silu_backward(dx[0], dy, x[0], n);
  }
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
};

struct L2NormHeadsCase {
  int64_t R, H, d;
  std::vector<Shape> inputs() const { return {{R, H * d}}; }
  Shape output() const { return {R, H * d}; }
  template <class T>
  void forward(const std::vector<const T*>& x, T* y, std::vector<T>&) const {
    kern::l2norm_heads_forward(y, x[0], T(1e-6), R * H, d);
  }
  template <class T>
  void backward(const std::vector<const T*>& x, const T* y, const T* dy, const std::vector<T*>& dx,
                std::vector<T>&) const {
    kern::l2norm_heads_backward(dx[0], dy, y, x[0], T(1e-6), R * H, d);
  }
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
};

TEST(OpMixerGates, SigmoidGate) {
  check_op(SigmoidGateCase{300, 1, 1, 2}, "sigmoid");
  check_op(SigmoidGateCase{300, 2, 1, 2}, "2 sigmoid (DeltaNet, eigen negative)");
  check_op(SigmoidGateCase{300, 1, 1.0 / 16, 3}, "sigmoid^(1/16) (GLA)");
}

TEST(OpMixerGates, Softplus) {
  check_op(SoftplusCase{300, 1}, "softplus");
  check_op(SoftplusCase{300, 8}, "softplus, wide inputs");
}

TEST(OpMixerGates, EluPlusOne) { check_op(EluPlusOneCase{300}, "elu+1"); }

TEST(OpMixerGates, Silu) {
  check_op(SiluCase{300, 1}, "silu");
  check_op(SiluCase{300, 12}, "silu, wide inputs");
}

TEST(OpMixerGates, Multiply) { check_op(MultiplyCase{300}, "multiply"); }

TEST(OpMixerGates, ScaleChannels) {
  check_op(ScaleChannelsCase{7, 5}, "scale_channels");
  check_op(ScaleChannelsCase{40, 33}, "scale_channels, several channel blocks");
}

TEST(OpMixerGates, ScaleHeads) {
  check_op(ScaleHeadsCase{7, 3, 4}, "scale_heads");
  check_op(ScaleHeadsCase{5, 1, 6}, "scale_heads, one head");
}

TEST(OpMixerGates, L2NormHeads) {
  check_op(L2NormHeadsCase{6, 2, 5}, "l2norm_heads");
  check_op(L2NormHeadsCase{3, 4, 2}, "l2norm_heads, width 2");
}

TEST(OpMixerGates, SsmDecay) {
  check_op(SsmDecayCase{9, 3, false}, "exp(ΔA)");
  check_op(SsmDecayCase{9, 3, true}, "2 exp(ΔA) - 1");
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

// The mLSTM cell of kernels/mlstm.h through the op harness as one function of (f̃, ĩ, q, k, v):
// stabilised gates, input-scaled keys, the state and normaliser recurrences and the division.
// The stabiliser m gets no gradient, which is exact only for the whole cell (its output does not
// depend on m), so the cell, not mlstm_stabilise alone, is what the finite differences check.
// Also: the stabilised cell against the unstabilised formula, huge input gates, and the CUDA twins
// of the cell's own ops (mlstm_stabilise, mlstm_normalise) against the CPU.
#include <gtest/gtest.h>

#include <cmath>
#include <tuple>

#include "core/rng.h"
#include "kernels/linear_recurrence.h"
#include "kernels/mlstm.h"
#include "kernels/per_head.h"
#include "tests/op_harness.h"

namespace icl {
namespace {

struct MlstmCellCase {
  int64_t B, L, H, dk, dv, chunk;
  RecurrenceForm form;
  double i_shift = 0;  // added to ĩ: large values test the stabiliser

  RecurrenceDims dims(int64_t v_width) const { return {B, L, H, dk, v_width, chunk}; }
  std::vector<Shape> inputs() const {
    return {{B, L, H}, {B, L, H}, {B, L, H * dk}, {B, L, H * dk}, {B, L, H * dv}};
  }
  Shape output() const { return {B, L, H * dv}; }
  double input(size_t which, int64_t, double z) const {
    return which == 0 ? 2 + z : which == 1 ? i_shift + z : z;
  }
  // aux: decay, in_scale, floor, k', o, den, ones, states (o), states (den)
  template <class T>
  void forward(const std::vector<const T*>& x, T* y, std::vector<T>& aux) const {
    const int64_t g = B * L * H, nk = g * dk, nv = g * dv;
    const int64_t s1 = B * H * dims(dv).chunks() * dk * dv, s2 = B * H * dims(1).chunks() * dk;
    aux.assign(size_t(5 * g + nk + nv + s1 + s2), T(0));
    T *decay = aux.data(), *scale = decay + g, *floor = scale + g, *kp = floor + g, *o = kp + nk,
      *den = o + nv, *ones = den + g, *st1 = ones + g, *st2 = st1 + s1;
    for (int64_t i = 0; i < g; ++i) ones[i] = 1;
    kern::mlstm_stabilise_forward(decay, scale, floor, x[0], x[1], B, L, H);
    kern::scale_heads_forward(kp, x[3], scale, B * L, H, dk);
    kern::gated_linear_attention_forward(o, (T*)nullptr, st1, x[2], kp, x[4], decay, 1,
                                         (const T*)nullptr, dims(dv), form);
    kern::gated_linear_attention_forward(den, (T*)nullptr, st2, x[2], kp, ones, decay, 1,
                                         (const T*)nullptr, dims(1), form);
    kern::mlstm_normalise_forward(y, o, den, floor, B * L, H, dv);
  }
  template <class T>
  void backward(const std::vector<const T*>& x, const T*, const T* dy, const std::vector<T*>& dx,
                std::vector<T>& aux) const {
    const int64_t g = B * L * H, nk = g * dk, nv = g * dv;
    const int64_t s1 = B * H * dims(dv).chunks() * dk * dv;
    T *decay = aux.data(), *scale = decay + g, *floor = scale + g, *kp = floor + g, *o = kp + nk,
      *den = o + nv, *ones = den + g, *st1 = ones + g, *st2 = st1 + s1;
    std::vector<T> d_o(size_t(nv), 0), dden(size_t(g), 0), dkp(size_t(nk), 0), ddecay(size_t(g), 0),
        dscale(size_t(g), 0);
    kern::mlstm_normalise_backward(d_o.data(), dden.data(), dy, o, den, floor, B * L, H, dv);
    kern::gated_linear_attention_backward(dx[2], dkp.data(), dx[4], ddecay.data(), (T*)nullptr,
                                          d_o.data(), (const T*)nullptr, x[2], kp, x[4], decay, 1,
                                          st1, dims(dv), form);
    kern::gated_linear_attention_backward(dx[2], dkp.data(), (T*)nullptr, ddecay.data(),
                                          (T*)nullptr, dden.data(), (const T*)nullptr, x[2], kp,
                                          ones, decay, 1, st2, dims(1), form);
    kern::scale_heads_backward(dx[3], dscale.data(), dkp.data(), x[3], scale, B * L, H, dk);
    kern::mlstm_stabilise_backward(dx[0], dx[1], ddecay.data(), dscale.data(), decay, scale, x[0],
                                   g);
  }
};

TEST(OpMlstm, CellGradientBothForms) {
  test::Tolerance tol;
  tol.bwd_rel = 5e-4;
  test::check_op(MlstmCellCase{2, 9, 2, 3, 2, 4, RecurrenceForm::Recurrent}, "mlstm recurrent",
                 tol);
  test::check_op(MlstmCellCase{2, 9, 2, 3, 2, 4, RecurrenceForm::Chunked}, "mlstm chunked", tol);
}

// The unstabilised cell written out: same output, as the stabiliser only rescales.
TEST(OpMlstm, StabilisedEqualsPlainFormula) {
  const MlstmCellCase c{1, 7, 1, 2, 2, 3, RecurrenceForm::Chunked};
  Rng rng({4, 5}, 0);
  std::vector<std::vector<double>> in;
  for (const Shape& s : c.inputs()) {
    in.emplace_back(size_t(s.numel()));
    for (auto& v : in.back()) v = rng.normal();
  }
  std::vector<double> y(size_t(c.output().numel())), aux;
  c.forward<double>({in[0].data(), in[1].data(), in[2].data(), in[3].data(), in[4].data()},
                    y.data(), aux);
  double C[2][2] = {{0, 0}, {0, 0}}, n[2] = {0, 0};
  for (int64_t t = 0; t < 7; ++t) {
    const double f = 1 / (1 + std::exp(-in[0][size_t(t)])), i = std::exp(in[1][size_t(t)]);
    const double* q = &in[2][size_t(2 * t)];
    const double* k = &in[3][size_t(2 * t)];
    const double* v = &in[4][size_t(2 * t)];
    double nq = 0;
    for (int a = 0; a < 2; ++a) {
      n[a] = f * n[a] + i * k[a];
      nq += n[a] * q[a];
      for (int e = 0; e < 2; ++e) C[a][e] = f * C[a][e] + i * k[a] * v[e];
    }
    for (int e = 0; e < 2; ++e) {
      const double h = (C[0][e] * q[0] + C[1][e] * q[1]) / std::max(std::abs(nq), 1.0);
      EXPECT_NEAR(y[size_t(2 * t + e)], h, 1e-12 * (1 + std::abs(h))) << t << " " << e;
    }
  }
}

// fp32 rounds an input of 200 by ~1e-5, which exp turns into relative errors of that size in the
// gates: the fp32-vs-fp64 tolerances are looser here for that reason alone.
TEST(OpMlstm, HugeInputGatesStayFinite) {
  test::Tolerance tol;
  tol.fwd_rel = 1e-3;
  tol.bwd_rel = 2e-3;
  tol.fd_rel = 1e-5;
  test::check_op(MlstmCellCase{1, 12, 2, 2, 2, 5, RecurrenceForm::Chunked, 200.0},
                 "mlstm, ĩ around 200 (exp overflows without the stabiliser)", tol);
}

// --- the CUDA twins of the cell's own ops ---------------------------------------------------
// mlstm_stabilise alone has no finite-difference check (see the top of this file) and
// mlstm_normalise's is the cell's, so these cases are the CUDA twins' only (run.cuda_only): the
// twins against kern:: in fp32 at 1e-5 (the device's expf / log1pf).

// Inputs f̃, ĩ [B, L, H]; output decay then the input scale, [2, B, L, H]; aux: the floor.
struct MlstmStabiliseCase {
  int64_t B, L, H;
  int64_t n() const { return B * L * H; }
  std::vector<Shape> inputs() const { return {{B, L, H}, {B, L, H}}; }
  Shape output() const { return {2, B, L, H}; }
  double input(size_t, int64_t, double z) const { return 3 * z; }
  template <class T>
  void forward(const std::vector<const T*>& x, T* y, std::vector<T>& floor) const {
    floor.assign(size_t(n()), T(0));
    kern::mlstm_stabilise_forward(y, y + n(), floor.data(), x[0], x[1], B, L, H);
  }
  template <class T>
  void backward(const std::vector<const T*>& x, const T* y, const T* dy, const std::vector<T*>& dx,
                std::vector<T>&) const {
    kern::mlstm_stabilise_backward(dx[0], dx[1], dy, dy + n(), y, y + n(), x[0], n());
  }
#ifdef ICL_WITH_CUDA
  void cuda_forward(const CudaContext& cx, const test::DeviceInputs& x, float* y,
                    float* floor) const {
    cuda::mlstm_stabilise_forward(cx, y, y + n(), floor, x[0], x[1], B, L, H);
  }
  void cuda_backward(const CudaContext& cx, const test::DeviceInputs& x, const float* y,
                     const float* dy, const test::DeviceGrads& dx, float*) const {
    cuda::mlstm_stabilise_backward(cx, dx[0], dx[1], dy, dy + n(), y, y + n(), x[0], n());
  }
  std::vector<test::Part> cuda_parts(test::Slot slot, size_t, const test::CpuResult&) const {
    if (slot == test::Slot::Output)
      return {test::whole("decay", n()), {"input scale", n(), n(), n()}};
    if (slot == test::Slot::Aux) return {test::whole("floor", n())};
    return {};
  }
#endif
};

// Inputs o [R, H·d], den [R, H]; the floor [R, H] is fixed (mlstm_stabilise's, on random gates).
// Denominators straddle the floor, so both branches of the max are taken.
struct MlstmNormaliseCase {
  int64_t R, H, d;
  std::vector<float> floor;
  std::vector<Shape> inputs() const { return {{R, H * d}, {R, H}}; }
  Shape output() const { return {R, H * d}; }
  double input(size_t which, int64_t, double z) const { return which == 1 ? 2 * z : z; }
  template <class T>
  void forward(const std::vector<const T*>& x, T* y, std::vector<T>&) const {
    const std::vector<T> fl(floor.begin(), floor.end());
    kern::mlstm_normalise_forward(y, x[0], x[1], fl.data(), R, H, d);
  }
  template <class T>
  void backward(const std::vector<const T*>& x, const T*, const T* dy, const std::vector<T*>& dx,
                std::vector<T>&) const {
    const std::vector<T> fl(floor.begin(), floor.end());
    kern::mlstm_normalise_backward(dx[0], dx[1], dy, x[0], x[1], fl.data(), R, H, d);
  }
#ifdef ICL_WITH_CUDA
  void cuda_forward(const CudaContext& cx, const test::DeviceInputs& x, float* y, float*) const {
    const test::DeviceBuffer fl(floor);
    cuda::mlstm_normalise_forward(cx, y, x[0], x[1], fl.get(), R, H, d);
    cx.synchronize();
  }
  void cuda_backward(const CudaContext& cx, const test::DeviceInputs& x, const float*,
                     const float* dy, const test::DeviceGrads& dx, float*) const {
    const test::DeviceBuffer fl(floor);
    cuda::mlstm_normalise_backward(cx, dx[0], dx[1], dy, x[0], x[1], fl.get(), R, H, d);
    cx.synchronize();
  }
#endif
};

// The floor mlstm_stabilise gives gates f̃, ĩ ~ N(0, 9) of [B, L, H].
std::vector<float> stabiliser_floor(int64_t B, int64_t L, int64_t H, uint64_t seed) {
  Rng rng({seed, stream_id("mlstm floor")}, 0);
  const size_t n = size_t(B * L * H);
  std::vector<float> f(n), i(n), decay(n), scale(n), floor(n);
  for (auto& v : f) v = float(3 * rng.normal());
  for (auto& v : i) v = float(3 * rng.normal());
  kern::mlstm_stabilise_forward(decay.data(), scale.data(), floor.data(), f.data(), i.data(), B, L,
                                H);
  return floor;
}

TEST(OpMlstm, GateOpsOnCuda) {
  ICL_REQUIRE_GPU();
  const test::OpRunner run(test::Backend::Cuda);
  for (auto [B, L, H, d] : {std::tuple<int64_t, int64_t, int64_t, int64_t>{1, 1, 1, 1},
                            {3, 37, 2, 5},
                            {2, 300, 4, 16}}) {
    run.cuda_only(MlstmStabiliseCase{B, L, H},
                  fmt::format("mlstm_stabilise B={} L={} H={}", B, L, H));
    run.cuda_only(MlstmNormaliseCase{B * L, H, d, stabiliser_floor(B, L, H, uint64_t(B * L))},
                  fmt::format("mlstm_normalise R={} H={} d={}", B * L, H, d));
  }
}

}  // namespace
}  // namespace icl

// The mLSTM cell of kernels/mlstm.h through the op harness as one function of (f̃, ĩ, q, k, v):
// stabilised gates, input-scaled keys, the state and normaliser recurrences and the division.
// The stabiliser m gets no gradient, which is exact only for the whole cell (its output does not
// depend on m), so the cell, not mlstm_stabilise alone, is what the finite differences check.
// Also: the stabilised cell against the unstabilised formula, and huge input gates.
#include <gtest/gtest.h>

#include <cmath>

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

}  // namespace
}  // namespace icl

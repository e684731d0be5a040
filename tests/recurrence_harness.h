#pragma once
// Shared by the tests of the linear-recurrence ops (kernels/linear_recurrence.h, delta_rule.h):
// one set of random inputs, one run of forward + backward in either form and precision, and the
// comparison of two runs field by field. A kernel family is a struct with
//   template <class T> static void forward(out, final, chunk_states, q, k, v, gates, gate_width,
//                                          initial, dims, form);
//   template <class T> static void backward(dq, dk, dv, dgates, dinitial, dout, dfinal, q, k, v,
//                                           gates, gate_width, chunk_states, dims, form);
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "core/rng.h"
#include "kernels/linear_recurrence.h"
#include "tests/op_harness.h"

namespace icl::test {

struct RecCase {
  RecurrenceDims d;
  int64_t gate_width = 1;
  std::vector<double> q, k, v, gates, initial, dout, dfinal;  // initial, dfinal may be empty
};

// Gate value from a standard normal draw.
using GateFn = std::function<double(double)>;

inline std::vector<double> normals(int64_t n, Rng& rng, double scale) {
  std::vector<double> x(static_cast<size_t>(n));
  for (auto& v : x) v = scale * rng.normal();
  return x;
}

// Random q, k, v (keys scaled by 1/√dk so k·k ≈ 1), gates from `gate`, optional initial state and
// final-state gradient. `unit_keys` normalises every key to length 1 (delta rule with β → 2).
inline RecCase make_case(RecurrenceDims d, int64_t gate_width, const GateFn& gate, bool initial,
                         bool dfinal, uint64_t seed, double scale = 1.0, bool unit_keys = false) {
  Rng rng({seed, stream_id("recurrence test")}, 0);
  RecCase c{d, gate_width, {}, {}, {}, {}, {}, {}, {}};
  const int64_t tok = d.B * d.T * d.H, states = d.B * d.H * d.dk * d.dv;
  c.q = normals(tok * d.dk, rng, scale / std::sqrt(double(d.dk)));
  c.k = normals(tok * d.dk, rng, scale / std::sqrt(double(d.dk)));
  if (unit_keys)
    for (int64_t r = 0; r < tok; ++r) {
      double s = 0;
      for (int64_t i = 0; i < d.dk; ++i) s += c.k[size_t(r * d.dk + i)] * c.k[size_t(r * d.dk + i)];
      for (int64_t i = 0; i < d.dk; ++i) c.k[size_t(r * d.dk + i)] /= std::sqrt(s);
    }
  c.v = normals(tok * d.dv, rng, scale);
  c.gates.resize(size_t(tok * gate_width));
  for (auto& a : c.gates) a = gate(rng.normal());
  if (initial) c.initial = normals(states, rng, scale);
  c.dout = normals(tok * d.dv, rng, 1.0);
  if (dfinal) c.dfinal = normals(states, rng, 1.0);
  return c;
}

struct RecRun {
  std::vector<double> out, state, dq, dk, dv, dgates, dinitial;
};

template <class T>
std::vector<T> cast(const std::vector<double>& x) {
  return std::vector<T>(x.begin(), x.end());
}
template <class T>
std::vector<double> widen(const std::vector<T>& x) {
  return std::vector<double>(x.begin(), x.end());
}

template <class Kern, class T>
RecRun run(const RecCase& c, RecurrenceForm form) {
  const RecurrenceDims& d = c.d;
  const auto q = cast<T>(c.q), k = cast<T>(c.k), v = cast<T>(c.v), a = cast<T>(c.gates),
             s0 = cast<T>(c.initial), dout = cast<T>(c.dout), dfin = cast<T>(c.dfinal);
  const T nan = std::numeric_limits<T>::quiet_NaN();
  std::vector<T> out(c.v.size(), nan), fin(size_t(d.B * d.H * d.dk * d.dv), nan),
      saved(size_t(d.B * d.H * d.chunks() * d.dk * d.dv), nan);
  Kern::template forward<T>(out.data(), fin.data(), saved.data(), q.data(), k.data(), v.data(),
                            a.data(), c.gate_width, s0.empty() ? nullptr : s0.data(), d, form);
  std::vector<T> dq(q.size(), T(0)), dk(k.size(), T(0)), dv(v.size(), T(0)), da(a.size(), T(0)),
      ds0(fin.size(), T(0));
  Kern::template backward<T>(dq.data(), dk.data(), dv.data(), da.data(), ds0.data(), dout.data(),
                             dfin.empty() ? nullptr : dfin.data(), q.data(), k.data(), v.data(),
                             a.data(), c.gate_width, saved.data(), d, form);
  return {widen(out), widen(fin), widen(dq), widen(dk), widen(dv), widen(da), widen(ds0)};
}

// Worst relative error (test::rel_err, per field) of a against the reference b; prints the fields
// over `limit`.
inline double compare(const RecRun& a, const RecRun& b, double limit, const std::string& what) {
  const char* names[] = {"out", "final state", "dq", "dk", "dv", "dgates", "dinitial"};
  const std::vector<double>* fa[] = {&a.out, &a.state, &a.dq, &a.dk, &a.dv, &a.dgates, &a.dinitial};
  const std::vector<double>* fb[] = {&b.out, &b.state, &b.dq, &b.dk, &b.dv, &b.dgates, &b.dinitial};
  double worst = 0;
  for (int i = 0; i < 7; ++i) {
    for (double x : *fa[i]) EXPECT_TRUE(std::isfinite(x)) << what << ": " << names[i];
    const double e = rel_err(*fa[i], *fb[i]);
    EXPECT_LE(e, limit) << what << ": " << names[i];
    worst = std::max(worst, e);
  }
  return worst;
}

// An op_harness case over every input of a kernel family in one form: the inputs are q, k, v,
// gates and the initial state; the output is out followed by the final state (so the harness's
// random output gradient also enters through dS_T). Without `initial` the initial state is absent
// (null, no gradient); without `final_state` the final state is no output (no gradient flows
// through it) but is still written, after the chunk states in aux. A family with CUDA twins has
// static cuda_forward(ctx, out, final, chunk_states, q, k, v, gates, gate_width, initial, dims)
// and cuda_backward(ctx, dq, dk, dv, dgates, dinitial, dout, dfinal, q, k, v, gates, gate_width,
// chunk_states, dims), which they are compared with kern::'s recurrent form in fp32 (the twins
// follow it step by step): 1e-5 (op_harness.h's table).
template <class Kern>
struct RecOpCase {
  RecurrenceDims d;
  int64_t gate_width;
  RecurrenceForm form;
  GateFn gate;
  double key_scale = 1.0;
  bool initial = true, final_state = true;
  double query_scale = 0;  // 0: key_scale
  int64_t tokens() const { return d.B * d.T * d.H; }
  int64_t state_numel() const { return d.B * d.H * d.dk * d.dv; }
  int64_t saved_numel() const { return d.B * d.H * d.chunks() * d.dk * d.dv; }
  std::vector<Shape> inputs() const {
    return {{tokens() * d.dk},
            {tokens() * d.dk},
            {tokens() * d.dv},
            {tokens() * gate_width},
            {state_numel()}};
  }
  Shape output() const { return {tokens() * d.dv + (final_state ? state_numel() : 0)}; }
  std::vector<bool> differentiable() const { return {true, true, true, true, initial}; }
  double input(size_t which, int64_t, double z) const {
    if (which == 3) return gate(z);
    if (which == 0 && query_scale > 0) return query_scale * z / std::sqrt(double(d.dk));
    if (which <= 1) return key_scale * z / std::sqrt(double(d.dk));
    return z;
  }
  // aux: the chunk states, then (without final_state) the final state.
  template <class T>
  void forward(const std::vector<const T*>& x, T* y, std::vector<T>& aux) const {
    aux.assign(size_t(saved_numel() + (final_state ? 0 : state_numel())), T(0));
    T* fin = final_state ? y + tokens() * d.dv : aux.data() + saved_numel();
    Kern::template forward<T>(y, fin, aux.data(), x[0], x[1], x[2], x[3], gate_width,
                              initial ? x[4] : nullptr, d, form);
  }
  template <class T>
  void backward(const std::vector<const T*>& x, const T*, const T* dy, const std::vector<T*>& dx,
                std::vector<T>& aux) const {
    Kern::template backward<T>(dx[0], dx[1], dx[2], dx[3], dx[4], dy,
                               final_state ? dy + tokens() * d.dv : nullptr, x[0], x[1], x[2], x[3],
                               gate_width, aux.data(), d, form);
  }
#ifdef ICL_WITH_CUDA
  void cuda_forward(const CudaContext& cx, const DeviceInputs& x, float* y, float* aux) const {
    float* fin = final_state ? y + tokens() * d.dv : aux + saved_numel();
    Kern::cuda_forward(cx, y, fin, aux, x[0], x[1], x[2], x[3], gate_width,
                       initial ? x[4] : nullptr, d);
  }
  void cuda_backward(const CudaContext& cx, const DeviceInputs& x, const float*, const float* dy,
                     const DeviceGrads& dx, float* aux) const {
    Kern::cuda_backward(cx, dx[0], dx[1], dx[2], dx[3], dx[4], dy,
                        final_state ? dy + tokens() * d.dv : nullptr, x[0], x[1], x[2], x[3],
                        gate_width, aux, d);
  }
  std::vector<Part> cuda_parts(Slot slot, size_t, const CpuResult&) const {
    const int64_t n = tokens() * d.dv, s = state_numel(), c = saved_numel();
    if (slot == Slot::Output && final_state) return {whole("out", n), {"final state", n, s, s}};
    if (slot == Slot::Aux && !final_state)
      return {whole("chunk states", c), {"final state", c, s, s}};
    if (slot == Slot::Aux) return {whole("chunk states", c)};
    return {};
  }
#endif
};

inline const char* form_name(RecurrenceForm f) {
  return f == RecurrenceForm::Recurrent ? "recurrent" : "chunked";
}

}  // namespace icl::test

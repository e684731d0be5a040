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
// random output gradient also enters through dS_T).
template <class Kern>
struct RecOpCase {
  RecurrenceDims d;
  int64_t gate_width;
  RecurrenceForm form;
  GateFn gate;
  double key_scale = 1.0;
  int64_t tokens() const { return d.B * d.T * d.H; }
  int64_t state_numel() const { return d.B * d.H * d.dk * d.dv; }
  std::vector<Shape> inputs() const {
    return {{tokens() * d.dk},
            {tokens() * d.dk},
            {tokens() * d.dv},
            {tokens() * gate_width},
            {state_numel()}};
  }
  Shape output() const { return {tokens() * d.dv + state_numel()}; }
  double input(size_t which, int64_t, double z) const {
    if (which == 3) return gate(z);
    if (which <= 1) return key_scale * z / std::sqrt(double(d.dk));
    return z;
  }
  template <class T>
  void forward(const std::vector<const T*>& x, T* y, std::vector<T>& saved) const {
    saved.assign(size_t(d.B * d.H * d.chunks() * d.dk * d.dv), T(0));
    Kern::template forward<T>(y, y + tokens() * d.dv, saved.data(), x[0], x[1], x[2], x[3],
                              gate_width, x[4], d, form);
  }
  template <class T>
  void backward(const std::vector<const T*>& x, const T*, const T* dy, const std::vector<T*>& dx,
                std::vector<T>& saved) const {
    Kern::template backward<T>(dx[0], dx[1], dx[2], dx[3], dx[4], dy, dy + tokens() * d.dv, x[0],
                               x[1], x[2], x[3], gate_width, saved.data(), d, form);
  }
};

inline const char* form_name(RecurrenceForm f) {
  return f == RecurrenceForm::Recurrent ? "recurrent" : "chunked";
}

}  // namespace icl::test

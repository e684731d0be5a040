#include "kernels/linear_recurrence.h"

#include <omp.h>

#include <cmath>
#include <cstdio>

#include "tests/recurrence_harness.h"

namespace icl {
namespace {

struct Gla {
  template <class T>
  static void forward(T* out, T* fin, T* saved, const T* q, const T* k, const T* v, const T* a,
                      int64_t gate_width, const T* s0, const RecurrenceDims& d,
                      RecurrenceForm form) {
    kern::gated_linear_attention_forward(out, fin, saved, q, k, v, a, gate_width, s0, d, form);
  }
  template <class T>
  static void backward(T* dq, T* dk, T* dv, T* da, T* ds0, const T* dout, const T* dfin, const T* q,
                       const T* k, const T* v, const T* a, int64_t gate_width, const T* saved,
                       const RecurrenceDims& d, RecurrenceForm form) {
    kern::gated_linear_attention_backward(dq, dk, dv, da, ds0, dout, dfin, q, k, v, a, gate_width,
                                          saved, d, form);
  }
#ifdef ICL_WITH_CUDA
  static void cuda_forward(const CudaContext& cx, float* out, float* fin, float* saved,
                           const float* q, const float* k, const float* v, const float* a,
                           int64_t gate_width, const float* s0, const RecurrenceDims& d) {
    cuda::gated_linear_attention_forward(cx, out, fin, saved, q, k, v, a, gate_width, s0, d);
  }
  static void cuda_backward(const CudaContext& cx, float* dq, float* dk, float* dv, float* da,
                            float* ds0, const float* dout, const float* dfin, const float* q,
                            const float* k, const float* v, const float* a, int64_t gate_width,
                            const float* saved, const RecurrenceDims& d) {
    test::DeviceBuffer scratch(size_t(cuda::gated_linear_attention_scratch(d)));
    cuda::gated_linear_attention_backward(cx, dq, dk, dv, da, ds0, dout, dfin, q, k, v, a,
                                          gate_width, saved, scratch.get(), d);
    cx.synchronize();  // before the scratch is freed
  }
#endif
};

using test::compare;
using test::make_case;
using test::RecCase;
using test::RecRun;
constexpr auto kRec = RecurrenceForm::Recurrent;
constexpr auto kChunk = RecurrenceForm::Chunked;

double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }

// Independent reference: the recurrence written out element by element, in double.
std::vector<double> naive_outputs(const RecCase& c, std::vector<double>* final_state) {
  const RecurrenceDims& d = c.d;
  std::vector<double> out(c.v.size());
  final_state->assign(size_t(d.B * d.H * d.dk * d.dv), 0.0);
  for (int64_t b = 0; b < d.B; ++b)
    for (int64_t h = 0; h < d.H; ++h) {
      const int64_t bh = b * d.H + h;
      std::vector<double> S(size_t(d.dk * d.dv), 0.0);
      if (!c.initial.empty())
        for (int64_t i = 0; i < d.dk * d.dv; ++i)
          S[size_t(i)] = c.initial[size_t(bh * d.dk * d.dv + i)];
      for (int64_t t = 0; t < d.T; ++t) {
        const int64_t row = (b * d.T + t) * d.H + h;
        for (int64_t i = 0; i < d.dk; ++i) {
          const double a = c.gates[size_t(row * c.gate_width + (c.gate_width == 1 ? 0 : i))];
          for (int64_t j = 0; j < d.dv; ++j)
            S[size_t(i * d.dv + j)] = a * S[size_t(i * d.dv + j)] +
                                      c.k[size_t(row * d.dk + i)] * c.v[size_t(row * d.dv + j)];
        }
        for (int64_t j = 0; j < d.dv; ++j) {
          double o = 0;
          for (int64_t i = 0; i < d.dk; ++i)
            o += S[size_t(i * d.dv + j)] * c.q[size_t(row * d.dk + i)];
          out[size_t(row * d.dv + j)] = o;
        }
      }
      for (int64_t i = 0; i < d.dk * d.dv; ++i)
        (*final_state)[size_t(bh * d.dk * d.dv + i)] = S[size_t(i)];
    }
  return out;
}

// T = 2, dk = dv = 1, one gate per head, worked by hand: s0 = 2, a = (0.5, −1), k = (1, 3),
// v = (4, −2), q = (1.5, 0.25): S_1 = 5, o_1 = 7.5, S_2 = −11, o_2 = −2.75. With dout = (1, 1)
// and dS_T = 1, L = o_1 + o_2 + S_2 gives dq = (5, −11), da = (0.5, 6.25), dk = (1, −2.5),
// dv = (0.25, 3.75), dS_0 = 0.125.
TEST(OpLinearRecurrence, HandComputedScalarGate) {
  RecCase c{{1, 2, 1, 1, 1, 64}, 1, {1.5, 0.25}, {1, 3}, {4, -2}, {0.5, -1}, {2}, {1, 1}, {1}};
  for (int64_t chunk : {1, 2, 64})
    for (auto form : {kRec, kChunk}) {
      SCOPED_TRACE(fmt::format("{} chunk {}", test::form_name(form), chunk));
      c.d.chunk = chunk;
      const RecRun r = test::run<Gla, double>(c, form);
      EXPECT_EQ(r.out, (std::vector<double>{7.5, -2.75}));
      EXPECT_EQ(r.state, (std::vector<double>{-11}));
      EXPECT_EQ(r.dq, (std::vector<double>{5, -11}));
      EXPECT_EQ(r.dgates, (std::vector<double>{0.5, 6.25}));
      EXPECT_EQ(r.dk, (std::vector<double>{1, -2.5}));
      EXPECT_EQ(r.dv, (std::vector<double>{0.25, 3.75}));
      EXPECT_EQ(r.dinitial, (std::vector<double>{0.125}));
    }
}

// T = 2, dk = 2, dv = 1, a gate per key dimension, with a zero and a negative gate: s0 = (1, −1),
// a_1 = (0.5, 2), a_2 = (0, −1), k_1 = (1, 2), k_2 = (−1, 1), v = (3, 2), q_1 = (1, 1),
// q_2 = (2, 0.5): S_1 = (3.5, 4), o_1 = 7.5, S_2 = (−2, −2), o_2 = −5.
TEST(OpLinearRecurrence, HandComputedKeyGates) {
  RecCase c{{1, 2, 1, 2, 1, 64},
            2,
            {1, 1, 2, 0.5},
            {1, 2, -1, 1},
            {3, 2},
            {0.5, 2, 0, -1},
            {1, -1},
            {0, 0},
            {}};
  for (int64_t chunk : {1, 2, 64})
    for (auto form : {kRec, kChunk}) {
      SCOPED_TRACE(fmt::format("{} chunk {}", test::form_name(form), chunk));
      c.d.chunk = chunk;
      const RecRun r = test::run<Gla, double>(c, form);
      EXPECT_EQ(r.out, (std::vector<double>{7.5, -5}));
      EXPECT_EQ(r.state, (std::vector<double>{-2, -2}));
    }
}

TEST(OpLinearRecurrence, RecurrentMatchesNaiveReference) {
  for (int64_t gw : {int64_t(1), int64_t(4)})
    for (bool init : {false, true}) {
      const RecCase c = make_case(
          {2, 37, 3, 4, 5, 8}, gw, [](double z) { return std::tanh(z); }, init, false, 3);
      std::vector<double> fin;
      const auto out = naive_outputs(c, &fin);
      const RecRun r = test::run<Gla, double>(c, kRec);
      EXPECT_LE(test::rel_err(r.out, out), 1e-13);
      EXPECT_LE(test::rel_err(r.state, fin), 1e-13);
    }
}

// The chunked form (forward and backward) against the recurrent one, in fp64 and fp32 (the fp32
// runs of both forms against the fp64 recurrent reference).
TEST(OpLinearRecurrence, ChunkedMatchesRecurrent) {
  double worst64 = 0, worst32 = 0;
  for (int64_t gw : {int64_t(1), int64_t(8)})
    for (int64_t Tn : {1, 2, 63, 64, 100, 150})
      for (int64_t chunk : {64, 16})
        for (int state = 0; state < 4; ++state) {
          const bool init = state & 1, dfin = state & 2;
          const std::string what =
              fmt::format("gates {} T={} chunk={} initial={} dS_T={}", gw, Tn, chunk, init, dfin);
          SCOPED_TRACE(what);
          const RecCase c = make_case(
              {2, Tn, 2, 8, 6, chunk}, gw, [](double z) { return sigmoid(2 * z + 2); }, init, dfin,
              uint64_t(Tn * 10 + state));
          const RecRun ref = test::run<Gla, double>(c, kRec);
          worst64 = std::max(worst64, compare(test::run<Gla, double>(c, kChunk), ref, 1e-10, what));
          worst32 = std::max(worst32, compare(test::run<Gla, float>(c, kChunk), ref, 1e-5, what));
          worst32 = std::max(worst32, compare(test::run<Gla, float>(c, kRec), ref, 1e-5, what));
        }
  std::printf("gla chunked vs recurrent: fp64 %.2e, fp32 %.2e\n", worst64, worst32);
}

// Gates at the edges of what the models produce, and beyond: exactly 0, → 0, exactly 1 (plain
// linear attention), −0.99, the whole of (−1, 1) (2·exp(ΔA) − 1), zeros mixed with ones, and
// inputs ×30. Everything stays finite and both forms agree.
TEST(OpLinearRecurrence, ExtremeGates) {
  struct G {
    const char* name;
    test::GateFn fn;
    double scale;
  };
  const G gates[] = {
      {"zero", [](double) { return 0.0; }, 1},
      {"1e-9", [](double) { return 1e-9; }, 1},
      {"one", [](double) { return 1.0; }, 1},
      {"-0.99", [](double) { return -0.99; }, 1},
      {"(-1,1)", [](double z) { return 2 * std::exp(-std::exp(z)) - 1; }, 1},
      {"0 or 1", [](double z) { return z < 0 ? 0.0 : 1.0; }, 1},
      {"one, inputs x30", [](double) { return 1.0; }, 30},
      {"0.999, inputs x30", [](double) { return 0.999; }, 30},
  };
  double worst64 = 0, worst32 = 0;
  for (const G& g : gates)
    for (int64_t gw : {int64_t(1), int64_t(8)}) {
      const std::string what = fmt::format("{} gates {}", g.name, gw);
      SCOPED_TRACE(what);
      const RecCase c = make_case({2, 200, 2, 8, 8, 64}, gw, g.fn, true, true, 5, g.scale);
      const RecRun ref = test::run<Gla, double>(c, kRec);
      worst64 = std::max(worst64, compare(test::run<Gla, double>(c, kChunk), ref, 1e-10, what));
      worst32 = std::max(worst32, compare(test::run<Gla, float>(c, kChunk), ref, 1e-5, what));
    }
  std::printf("gla extreme gates, chunked vs recurrent: fp64 %.2e, fp32 %.2e\n", worst64, worst32);
}

// The CUDA twin follows the recurrent form step by step, so the chunked-form cases are the
// CPU's only; the CUDA cases: gates of width 1 and dk in (−1, 1) (decays and the
// negative-eigenvalue range), with and without an initial state and a final-state gradient,
// lengths that are and are not multiples of the chunk.
ICL_OP_TEST(OpLinearRecurrence, Gla) {
  test::Tolerance tol;
  tol.fd_samples = 40;
  const test::GateFn gates[] = {[](double z) { return sigmoid(z + 1); },
                                [](double z) { return 2 * sigmoid(z) - 1; }};
  for (auto form : {kRec, kChunk})
    for (int64_t gw : {int64_t(1), int64_t(3)})
      for (int g = 0; g < 2; ++g)
        for (auto [Tn, chunk] : {std::pair<int64_t, int64_t>{1, 4}, {5, 2}, {13, 4}}) {
          const test::RecOpCase<Gla> c{{2, Tn, 2, 3, 2, chunk}, gw, form, gates[g]};
          const std::string label = fmt::format("gla {} gates {} kind {} T={} chunk={}",
                                                test::form_name(form), gw, g, Tn, chunk);
          if (form == kRec)
            run(c, label, tol);
          else
            run.cpu_only(c, label, tol);
        }
  struct Cuda {
    RecurrenceDims d;
    int64_t gw;
    bool initial, final_state;
  };
  for (const Cuda& k :
       {Cuda{{1, 1, 1, 1, 1, 4}, 1, false, false}, Cuda{{2, 63, 3, 8, 5, 16}, 1, true, true},
        Cuda{{3, 100, 2, 16, 16, 64}, 16, false, true}, Cuda{{2, 37, 4, 7, 9, 8}, 7, true, false},
        Cuda{{1, 130, 1, 64, 64, 64}, 1, true, true}}) {
    // q and k 0.5·N(0, 1) whatever dk.
    const test::RecOpCase<Gla> c{k.d,
                                 k.gw,
                                 kRec,
                                 [](double z) { return std::tanh(z); },
                                 0.5 * std::sqrt(double(k.d.dk)),
                                 k.initial,
                                 k.final_state};
    run.cuda_only(c, fmt::format("gla B={} T={} H={} dk={} dv={} chunk={} gates {} initial={} "
                                 "final={}",
                                 k.d.B, k.d.T, k.d.H, k.d.dk, k.d.dv, k.d.chunk, k.gw, k.initial,
                                 k.final_state));
  }
}

TEST(OpLinearRecurrence, SameResultForAnyThreadCount) {
  for (int64_t gw : {int64_t(1), int64_t(16)})
    for (auto form : {kRec, kChunk}) {
      SCOPED_TRACE(fmt::format("{} gates {}", test::form_name(form), gw));
      const RecCase c = make_case(
          {3, 150, 4, 16, 16, 32}, gw, [](double z) { return sigmoid(z + 2); }, true, true, 9);
      auto run = [&](int threads) {
        const int before = omp_get_max_threads();
        omp_set_num_threads(threads);
        const RecRun r = test::run<Gla, float>(c, form);
        omp_set_num_threads(before);
        return r;
      };
      const RecRun one = run(1);
      for (int threads : {3, 8}) {
        const RecRun r = run(threads);
        EXPECT_EQ(one.out, r.out);
        EXPECT_EQ(one.state, r.state);
        EXPECT_EQ(one.dq, r.dq);
        EXPECT_EQ(one.dk, r.dk);
        EXPECT_EQ(one.dv, r.dv);
        EXPECT_EQ(one.dgates, r.dgates);
        EXPECT_EQ(one.dinitial, r.dinitial);
      }
    }
}

// The op records a backward that gives the kernels' gradients, through the output and the final
// state; without gradients it records nothing and gives the same values.
TEST(OpLinearRecurrence, GraphWrapperMatchesKernel) {
  const RecurrenceDims d{2, 21, 3, 4, 5, 8};
  for (int64_t gw : {int64_t(1), d.dk})
    for (auto form : {kRec, kChunk}) {
      SCOPED_TRACE(fmt::format("{} gates {}", test::form_name(form), gw));
      const RecCase c = make_case(
          d, gw, [](double z) { return sigmoid(z); }, true, true, 13);
      const RecRun ref = test::run<Gla, float>(c, form);

      Arena arena;
      Graph g(arena, true);
      auto leaf = [&](const std::vector<double>& x, Shape s) {
        Tensor t = arena.tensor(s), gt = arena.tensor(s, DType::F32, true);
        std::copy(x.begin(), x.end(), t.f());
        return g.leaf(t, gt);
      };
      const Var q = leaf(c.q, {d.B, d.T, d.H * d.dk}), k = leaf(c.k, {d.B, d.T, d.H * d.dk}),
                v = leaf(c.v, {d.B, d.T, d.H * d.dv}), a = leaf(c.gates, {d.B, d.T, d.H * gw}),
                s0 = leaf(c.initial, {d.B, d.H, d.dk, d.dv});
      const ops::RecurrenceResult r =
          ops::gated_linear_attention(g, q, k, v, a, d.H, s0, {form, d.chunk, true});
      ASSERT_EQ(r.out.shape(), (Shape{d.B, d.T, d.H * d.dv}));
      ASSERT_EQ(r.state.shape(), (Shape{d.B, d.H, d.dk, d.dv}));
      // loss = Σ out·dout + Σ state·dfinal
      Var loss = g.output({1}, true);
      loss.f()[0] = 0;
      g.record([&g, &c, r, loss] {
        const float s = g.grad(loss).f()[0];
        for (size_t i = 0; i < c.dout.size(); ++i) g.grad(r.out).f()[i] += s * float(c.dout[i]);
        for (size_t i = 0; i < c.dfinal.size(); ++i)
          g.grad(r.state).f()[i] += s * float(c.dfinal[i]);
      });
      g.backward(loss);
      auto values = [](Tensor t) { return std::vector<double>(t.f(), t.f() + t.numel()); };
      auto grad = [&](Var x) { return values(x.n->grad); };
      EXPECT_LE(test::rel_err(values(r.out.value()), ref.out), 1e-6);
      EXPECT_LE(test::rel_err(values(r.state.value()), ref.state), 1e-6);
      EXPECT_LE(test::rel_err(grad(q), ref.dq), 1e-6);
      EXPECT_LE(test::rel_err(grad(k), ref.dk), 1e-6);
      EXPECT_LE(test::rel_err(grad(v), ref.dv), 1e-6);
      EXPECT_LE(test::rel_err(grad(a), ref.dgates), 1e-6);
      EXPECT_LE(test::rel_err(grad(s0), ref.dinitial), 1e-6);

      Graph eval(arena, false);
      const ops::RecurrenceResult e = ops::gated_linear_attention(
          eval, eval.constant(q.value()), eval.constant(k.value()), eval.constant(v.value()),
          eval.constant(a.value()), d.H, {}, {form, d.chunk, false});
      EXPECT_FALSE(e.out.needs_grad());
      EXPECT_EQ(e.state.n, nullptr);
      EXPECT_EQ(eval.tape_size(), 0u);
      RecCase zero_init = c;
      zero_init.initial.clear();
      EXPECT_LE(test::rel_err(values(e.out.value()), test::run<Gla, float>(zero_init, form).out),
                1e-6);
    }
}

}  // namespace
}  // namespace icl

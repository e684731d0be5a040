#include "kernels/delta_rule.h"

#include <omp.h>

#include <cmath>
#include <cstdio>

#include "tests/recurrence_harness.h"

namespace icl {
namespace {

struct Delta {
  template <class T>
  static void forward(T* out, T* fin, T* saved, const T* q, const T* k, const T* v, const T* beta,
                      int64_t gate_width, const T* s0, const RecurrenceDims& d,
                      RecurrenceForm form) {
    ICL_ASSERT(gate_width == 1);
    kern::delta_rule_forward(out, fin, saved, q, k, v, beta, s0, d, form);
  }
  template <class T>
  static void backward(T* dq, T* dk, T* dv, T* dbeta, T* ds0, const T* dout, const T* dfin,
                       const T* q, const T* k, const T* v, const T* beta, int64_t gate_width,
                       const T* saved, const RecurrenceDims& d, RecurrenceForm form) {
    ICL_ASSERT(gate_width == 1);
    kern::delta_rule_backward(dq, dk, dv, dbeta, ds0, dout, dfin, q, k, v, beta, saved, d, form);
  }
#ifdef ICL_WITH_CUDA
  static void cuda_forward(const CudaContext& cx, float* out, float* fin, float* saved,
                           const float* q, const float* k, const float* v, const float* beta,
                           int64_t gate_width, const float* s0, const RecurrenceDims& d) {
    ICL_ASSERT(gate_width == 1);
    cuda::delta_rule_forward(cx, out, fin, saved, q, k, v, beta, s0, d);
  }
  static void cuda_backward(const CudaContext& cx, float* dq, float* dk, float* dv, float* dbeta,
                            float* ds0, const float* dout, const float* dfin, const float* q,
                            const float* k, const float* v, const float* beta, int64_t gate_width,
                            const float* saved, const RecurrenceDims& d) {
    ICL_ASSERT(gate_width == 1);
    test::DeviceBuffer scratch(size_t(cuda::delta_rule_scratch(d)));
    cuda::delta_rule_backward(cx, dq, dk, dv, dbeta, ds0, dout, dfin, q, k, v, beta, saved,
                              scratch.get(), d);
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

// Independent reference: S_t = S_{t−1}(I − β k kᵀ) + β v kᵀ with the matrix I − β k kᵀ formed
// explicitly, element by element, in double.
std::vector<double> naive_outputs(const RecCase& c, std::vector<double>* final_state) {
  const RecurrenceDims& d = c.d;
  const int64_t n = d.dk * d.dv;
  std::vector<double> out(c.v.size());
  final_state->assign(size_t(d.B * d.H * n), 0.0);
  for (int64_t b = 0; b < d.B; ++b)
    for (int64_t h = 0; h < d.H; ++h) {
      const int64_t bh = b * d.H + h;
      std::vector<double> S(size_t(n), 0.0), next(static_cast<size_t>(n)), P(size_t(d.dk * d.dk));
      if (!c.initial.empty())
        for (int64_t i = 0; i < n; ++i) S[size_t(i)] = c.initial[size_t(bh * n + i)];
      for (int64_t t = 0; t < d.T; ++t) {
        const int64_t row = (b * d.T + t) * d.H + h;
        const double beta = c.gates[size_t(row)];
        const double* k = &c.k[size_t(row * d.dk)];
        for (int64_t i = 0; i < d.dk; ++i)
          for (int64_t j = 0; j < d.dk; ++j)
            P[size_t(i * d.dk + j)] = (i == j ? 1.0 : 0.0) - beta * k[i] * k[j];
        for (int64_t e = 0; e < d.dv; ++e)
          for (int64_t j = 0; j < d.dk; ++j) {
            double s = beta * c.v[size_t(row * d.dv + e)] * k[j];
            for (int64_t i = 0; i < d.dk; ++i)
              s += S[size_t(e * d.dk + i)] * P[size_t(i * d.dk + j)];
            next[size_t(e * d.dk + j)] = s;
          }
        S = next;
        for (int64_t e = 0; e < d.dv; ++e) {
          double o = 0;
          for (int64_t j = 0; j < d.dk; ++j)
            o += S[size_t(e * d.dk + j)] * c.q[size_t(row * d.dk + j)];
          out[size_t(row * d.dv + e)] = o;
        }
      }
      for (int64_t i = 0; i < n; ++i) (*final_state)[size_t(bh * n + i)] = S[size_t(i)];
    }
  return out;
}

// T = 2, dk = dv = 1, worked by hand: s0 = 2, k = (1, 0.5), v = (3, −2), β = (0.5, 2),
// q = (1, 4): S_1 = 2.5, o_1 = 2.5, S_2 = −0.75, o_2 = −3. With dout = (1, 1) and dS_T = 1,
// L = S_1 + 5 S_2, so dL/dS_2 = 5, dL/dS_1 = 3.5 and dq = (2.5, −0.75), dβ = (3.5, −8.125),
// dk = (−1.75, −45), dv = (1.75, 5), dS_0 = 1.75.
TEST(OpDeltaRule, HandComputed) {
  RecCase c{{1, 2, 1, 1, 1, 64}, 1, {1, 4}, {1, 0.5}, {3, -2}, {0.5, 2}, {2}, {1, 1}, {1}};
  for (int64_t chunk : {1, 2, 64})
    for (auto form : {kRec, kChunk}) {
      SCOPED_TRACE(fmt::format("{} chunk {}", test::form_name(form), chunk));
      c.d.chunk = chunk;
      const RecRun r = test::run<Delta, double>(c, form);
      auto near = [](const std::vector<double>& a, const std::vector<double>& b) {
        EXPECT_LE(test::rel_err(a, b), 1e-15) << a[0] << " " << a.back();
      };
      near(r.out, {2.5, -3});
      near(r.state, {-0.75});
      near(r.dq, {2.5, -0.75});
      near(r.dgates, {3.5, -8.125});
      near(r.dk, {-1.75, -45});
      near(r.dv, {1.75, 5});
      near(r.dinitial, {1.75});
    }
}

TEST(OpDeltaRule, RecurrentMatchesNaiveReference) {
  for (bool init : {false, true}) {
    const RecCase c = make_case(
        {2, 37, 3, 4, 5, 8}, 1, [](double z) { return 2 * sigmoid(z); }, init, false, 3);
    std::vector<double> fin;
    const auto out = naive_outputs(c, &fin);
    for (auto form : {kRec, kChunk}) {
      const RecRun r = test::run<Delta, double>(c, form);
      EXPECT_LE(test::rel_err(r.out, out), 1e-12);
      EXPECT_LE(test::rel_err(r.state, fin), 1e-12);
    }
  }
}

TEST(OpDeltaRule, ChunkedMatchesRecurrent) {
  double worst64 = 0, worst32 = 0;
  for (int64_t Tn : {1, 2, 63, 64, 100, 150})
    for (int64_t chunk : {64, 16})
      for (int state = 0; state < 4; ++state) {
        const bool init = state & 1, dfin = state & 2;
        const std::string what =
            fmt::format("T={} chunk={} initial={} dS_T={}", Tn, chunk, init, dfin);
        SCOPED_TRACE(what);
        const RecCase c = make_case(
            {2, Tn, 2, 8, 6, chunk}, 1, [](double z) { return sigmoid(z); }, init, dfin,
            uint64_t(Tn * 10 + state), 1.0, true);
        const RecRun ref = test::run<Delta, double>(c, kRec);
        worst64 = std::max(worst64, compare(test::run<Delta, double>(c, kChunk), ref, 1e-10, what));
        worst32 = std::max(worst32, compare(test::run<Delta, float>(c, kChunk), ref, 1e-5, what));
        worst32 = std::max(worst32, compare(test::run<Delta, float>(c, kRec), ref, 1e-5, what));
      }
  std::printf("delta rule chunked vs recurrent: fp64 %.2e, fp32 %.2e\n", worst64, worst32);
}

// β at the edges: → 0, exactly 0, 1 (a projection for unit keys), → 2 and exactly 2 (a
// reflection: eigenvalue −1), random in (0, 2), and inputs ×30 (values and the initial state;
// the keys stay unit-norm, as the models normalise them).
TEST(OpDeltaRule, ExtremeBeta) {
  struct G {
    const char* name;
    test::GateFn fn;
    double scale;
  };
  const G betas[] = {
      {"zero", [](double) { return 0.0; }, 1},
      {"1e-9", [](double) { return 1e-9; }, 1},
      {"one", [](double) { return 1.0; }, 1},
      {"2 - 1e-6", [](double) { return 2 - 1e-6; }, 1},
      {"two", [](double) { return 2.0; }, 1},
      {"(0,2)", [](double z) { return 2 * sigmoid(3 * z); }, 1},
      {"(0,2), inputs x30", [](double z) { return 2 * sigmoid(3 * z); }, 30},
  };
  double worst64 = 0, worst32 = 0;
  for (const G& g : betas) {
    SCOPED_TRACE(g.name);
    const RecCase c = make_case({2, 200, 2, 8, 8, 64}, 1, g.fn, true, true, 5, g.scale, true);
    const RecRun ref = test::run<Delta, double>(c, kRec);
    worst64 = std::max(worst64, compare(test::run<Delta, double>(c, kChunk), ref, 1e-10, g.name));
    worst32 = std::max(worst32, compare(test::run<Delta, float>(c, kChunk), ref, 1e-5, g.name));
  }
  std::printf("delta rule extreme beta, chunked vs recurrent: fp64 %.2e, fp32 %.2e\n", worst64,
              worst32);
}

// The CUDA twin follows the recurrent form step by step, so the chunked-form cases are the
// CPU's only. The CUDA cases: state [dv, dk], one β per head in (0, 2) (eigenvalues of
// I − β k kᵀ in [−1, 1] for unit keys; these keys are not unit, which the rule does not require),
// with and without an initial state and a final-state gradient, lengths that are and are not
// multiples of the chunk.
ICL_OP_TEST(OpDeltaRule, DeltaRule) {
  test::Tolerance tol;
  tol.fd_samples = 40;
  const test::GateFn betas[] = {[](double z) { return sigmoid(z); },
                                [](double z) { return 2 * sigmoid(z); }};
  for (auto form : {kRec, kChunk})
    for (int g = 0; g < 2; ++g)
      for (auto [Tn, chunk] : {std::pair<int64_t, int64_t>{1, 4}, {5, 2}, {13, 4}}) {
        const test::RecOpCase<Delta> c{{2, Tn, 2, 3, 2, chunk}, 1, form, betas[g]};
        const std::string label =
            fmt::format("delta {} beta {} T={} chunk={}", test::form_name(form), g, Tn, chunk);
        if (form == kRec)
          run(c, label, tol);
        else
          run.cpu_only(c, label, tol);
      }
  struct Cuda {
    RecurrenceDims d;
    bool initial, final_state;
  };
  for (const Cuda& k :
       {Cuda{{1, 1, 1, 1, 1, 4}, false, false}, Cuda{{2, 63, 3, 8, 5, 16}, true, true},
        Cuda{{3, 100, 2, 16, 16, 64}, false, true}, Cuda{{1, 130, 1, 64, 64, 64}, true, true}}) {
    // k 0.3·N(0, 1) and q 0.5·N(0, 1) whatever dk.
    const double root = std::sqrt(double(k.d.dk));
    const test::RecOpCase<Delta> c{k.d,        1,         kRec,          betas[1],
                                   0.3 * root, k.initial, k.final_state, 0.5 * root};
    run.cuda_only(
        c, fmt::format("delta B={} T={} H={} dk={} dv={} chunk={} initial={} final={}", k.d.B,
                       k.d.T, k.d.H, k.d.dk, k.d.dv, k.d.chunk, k.initial, k.final_state));
  }
}

TEST(OpDeltaRule, SameResultForAnyThreadCount) {
  for (auto form : {kRec, kChunk}) {
    SCOPED_TRACE(test::form_name(form));
    const RecCase c = make_case(
        {3, 150, 4, 16, 16, 32}, 1, [](double z) { return 2 * sigmoid(z); }, true, true, 9, 1.0,
        true);
    auto run = [&](int threads) {
      const int before = omp_get_max_threads();
      omp_set_num_threads(threads);
      const RecRun r = test::run<Delta, float>(c, form);
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

TEST(OpDeltaRule, GraphWrapperMatchesKernel) {
  const RecurrenceDims d{2, 21, 3, 4, 5, 8};
  for (auto form : {kRec, kChunk}) {
    SCOPED_TRACE(test::form_name(form));
    const RecCase c = make_case(
        d, 1, [](double z) { return 2 * sigmoid(z); }, true, true, 13, 1.0, true);
    const RecRun ref = test::run<Delta, float>(c, form);

    Arena arena;
    Graph g(arena, true);
    auto leaf = [&](const std::vector<double>& x, Shape s) {
      Tensor t = arena.tensor(s), gt = arena.tensor(s, DType::F32, true);
      std::copy(x.begin(), x.end(), t.f());
      return g.leaf(t, gt);
    };
    const Var q = leaf(c.q, {d.B, d.T, d.H * d.dk}), k = leaf(c.k, {d.B, d.T, d.H * d.dk}),
              v = leaf(c.v, {d.B, d.T, d.H * d.dv}), beta = leaf(c.gates, {d.B, d.T, d.H}),
              s0 = leaf(c.initial, {d.B, d.H, d.dv, d.dk});
    const ops::RecurrenceResult r =
        ops::delta_rule(g, q, k, v, beta, d.H, s0, {form, d.chunk, true});
    ASSERT_EQ(r.out.shape(), (Shape{d.B, d.T, d.H * d.dv}));
    ASSERT_EQ(r.state.shape(), (Shape{d.B, d.H, d.dv, d.dk}));
    Var loss = g.output({1}, true);
    loss.f()[0] = 0;
    g.record([&g, &c, r, loss] {
      const float s = g.grad(loss).f()[0];
      for (size_t i = 0; i < c.dout.size(); ++i) g.grad(r.out).f()[i] += s * float(c.dout[i]);
      for (size_t i = 0; i < c.dfinal.size(); ++i) g.grad(r.state).f()[i] += s * float(c.dfinal[i]);
    });
    g.backward(loss);
    auto values = [](Tensor t) { return std::vector<double>(t.f(), t.f() + t.numel()); };
    auto grad = [&](Var x) { return values(x.n->grad); };
    EXPECT_LE(test::rel_err(values(r.out.value()), ref.out), 1e-6);
    EXPECT_LE(test::rel_err(values(r.state.value()), ref.state), 1e-6);
    EXPECT_LE(test::rel_err(grad(q), ref.dq), 1e-6);
    EXPECT_LE(test::rel_err(grad(k), ref.dk), 1e-6);
    EXPECT_LE(test::rel_err(grad(v), ref.dv), 1e-6);
    EXPECT_LE(test::rel_err(grad(beta), ref.dgates), 1e-6);
    EXPECT_LE(test::rel_err(grad(s0), ref.dinitial), 1e-6);

    Graph eval(arena, false);
    const ops::RecurrenceResult e = ops::delta_rule(
        eval, eval.constant(q.value()), eval.constant(k.value()), eval.constant(v.value()),
        eval.constant(beta.value()), d.H, {}, {form, d.chunk, false});
    EXPECT_FALSE(e.out.needs_grad());
    EXPECT_EQ(e.state.n, nullptr);
    EXPECT_EQ(eval.tape_size(), 0u);
    RecCase zero_init = c;
    zero_init.initial.clear();
    EXPECT_LE(test::rel_err(values(e.out.value()), test::run<Delta, float>(zero_init, form).out),
              1e-6);
  }
}

}  // namespace
}  // namespace icl

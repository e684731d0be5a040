// CUDA twins of the gated linear recurrence and of the delta rule against the CPU's recurrent form
// (kern::, fp32) on fresh random inputs: gates of width 1 and dk (the delta rule: β in (0, 2)),
// with and without an initial state and a final-state gradient, lengths that are and are not
// multiples of the chunk. Forward outputs start poisoned (an unwritten element fails); gradients
// accumulate, so their buffers start from the same random values on both sides. Tolerance 1e-5
// relative: the GPU fuses multiply-adds and sums the state updates in the same order, the
// reductions in another.
#ifdef ICL_WITH_CUDA

#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "kernels/delta_rule.h"
#include "kernels/linear_recurrence.h"
#include "tests/cuda_harness.h"

namespace icl {
namespace {

using test::ctx;
using test::DeviceBuffer;
using test::expect_close;
using test::random_vector;

struct Case {
  int64_t B, T, H, dk, dv, chunk, gate_width;
  bool initial, dfinal;
  std::string name() const {
    // fmt, not "lit" + std::string: GCC 12 warns falsely (-Wrestrict).
    return fmt::format("B{}T{}H{}dk{}dv{}c{}w{}{}{}", B, T, H, dk, dv, chunk, gate_width,
                       initial ? "i" : "", dfinal ? "f" : "");
  }
};

// GPU result against CPU result, per tensor; a null GPU side is skipped.
struct Compared {
  const char* what;
  const DeviceBuffer* gpu;
  const std::vector<float>* cpu;
};
void expect_all_close(const std::string& tag, std::initializer_list<Compared> list) {
  for (const Compared& c : list)
    if (c.gpu) expect_close(c.gpu->download(), *c.cpu, 1e-5, tag + " " + c.what);
}

void run_case(const Case& c) {
  const RecurrenceDims d{c.B, c.T, c.H, c.dk, c.dv, c.chunk};
  const std::string tag = c.name();
  const size_t nqk = size_t(c.B * c.T * c.H * c.dk), nv = size_t(c.B * c.T * c.H * c.dv),
               na = size_t(c.B * c.T * c.H * c.gate_width), ns = size_t(c.B * c.H * c.dk * c.dv),
               nsaved = size_t(c.B * c.H * d.chunks() * c.dk * c.dv);
  const auto q = random_vector(nqk, tag + "q", 0.5), k = random_vector(nqk, tag + "k", 0.5),
             v = random_vector(nv, tag + "v");
  // Gates in (−1, 1): decays and the negative-eigenvalue range.
  std::vector<float> a = random_vector(na, tag + "a");
  for (auto& x : a) x = std::tanh(x);
  const auto init = c.initial ? random_vector(ns, tag + "s0") : std::vector<float>{};
  const auto dout = random_vector(nv, tag + "do");
  const auto dfinal = c.dfinal ? random_vector(ns, tag + "dsT") : std::vector<float>{};

  std::vector<float> out(nv), state(ns), saved(nsaved);
  kern::gated_linear_attention_forward(
      out.data(), state.data(), saved.data(), q.data(), k.data(), v.data(), a.data(), c.gate_width,
      c.initial ? init.data() : nullptr, d, RecurrenceForm::Recurrent);
  std::vector<float> dq = random_vector(nqk, tag + "dq0"), dk = random_vector(nqk, tag + "dk0"),
                     dv = random_vector(nv, tag + "dv0"), da = random_vector(na, tag + "da0"),
                     ds0 = random_vector(ns, tag + "ds00");
  DeviceBuffer g_dq(dq), g_dk(dk), g_dv(dv), g_da(da), g_ds0(ds0);
  kern::gated_linear_attention_backward(
      dq.data(), dk.data(), dv.data(), da.data(), c.initial ? ds0.data() : nullptr, dout.data(),
      c.dfinal ? dfinal.data() : nullptr, q.data(), k.data(), v.data(), a.data(), c.gate_width,
      saved.data(), d, RecurrenceForm::Recurrent);

  DeviceBuffer g_q(q), g_k(k), g_v(v), g_a(a), g_dout(dout);
  DeviceBuffer g_init(c.initial ? init : std::vector<float>(1)),
      g_dfinal(c.dfinal ? dfinal : std::vector<float>(1));
  DeviceBuffer g_out(nv), g_state(ns), g_saved(nsaved),
      g_scratch(size_t(cuda::gated_linear_attention_scratch(d)));
  cuda::gated_linear_attention_forward(ctx(), g_out.get(), g_state.get(), g_saved.get(), g_q.get(),
                                       g_k.get(), g_v.get(), g_a.get(), c.gate_width,
                                       c.initial ? g_init.get() : nullptr, d);
  cuda::gated_linear_attention_backward(
      ctx(), g_dq.get(), g_dk.get(), g_dv.get(), g_da.get(), c.initial ? g_ds0.get() : nullptr,
      g_dout.get(), c.dfinal ? g_dfinal.get() : nullptr, g_q.get(), g_k.get(), g_v.get(), g_a.get(),
      c.gate_width, g_saved.get(), g_scratch.get(), d);
  ctx().synchronize();
  expect_all_close(tag, {{"out", &g_out, &out},
                         {"final state", &g_state, &state},
                         {"chunk states", &g_saved, &saved},
                         {"dq", &g_dq, &dq},
                         {"dk", &g_dk, &dk},
                         {"dv", &g_dv, &dv},
                         {"dgates", &g_da, &da},
                         {"dinitial", c.initial ? &g_ds0 : nullptr, &ds0}});
}

// The delta rule: state [dv, dk], one β per head in (0, 2) (eigenvalues of I − β k kᵀ in [−1, 1]
// for unit keys; these keys are not unit, which the rule does not require).
void run_delta_case(const Case& c) {
  const RecurrenceDims d{c.B, c.T, c.H, c.dk, c.dv, c.chunk};
  const std::string tag = fmt::format("delta{}", c.name());
  const size_t nqk = size_t(c.B * c.T * c.H * c.dk), nv = size_t(c.B * c.T * c.H * c.dv),
               nb = size_t(c.B * c.T * c.H), ns = size_t(c.B * c.H * c.dk * c.dv),
               nsaved = size_t(c.B * c.H * d.chunks() * c.dk * c.dv);
  const auto q = random_vector(nqk, tag + "q", 0.5), k = random_vector(nqk, tag + "k", 0.3),
             v = random_vector(nv, tag + "v");
  std::vector<float> beta = random_vector(nb, tag + "b");
  for (auto& x : beta) x = 2.f / (1.f + std::exp(-x));
  const auto init = c.initial ? random_vector(ns, tag + "s0") : std::vector<float>{};
  const auto dout = random_vector(nv, tag + "do");
  const auto dfinal = c.dfinal ? random_vector(ns, tag + "dsT") : std::vector<float>{};

  std::vector<float> out(nv), state(ns), saved(nsaved);
  kern::delta_rule_forward(out.data(), state.data(), saved.data(), q.data(), k.data(), v.data(),
                           beta.data(), c.initial ? init.data() : nullptr, d,
                           RecurrenceForm::Recurrent);
  std::vector<float> dq = random_vector(nqk, tag + "dq0"), dk = random_vector(nqk, tag + "dk0"),
                     dv = random_vector(nv, tag + "dv0"), db = random_vector(nb, tag + "db0"),
                     ds0 = random_vector(ns, tag + "ds00");
  DeviceBuffer g_dq(dq), g_dk(dk), g_dv(dv), g_db(db), g_ds0(ds0);
  kern::delta_rule_backward(dq.data(), dk.data(), dv.data(), db.data(),
                            c.initial ? ds0.data() : nullptr, dout.data(),
                            c.dfinal ? dfinal.data() : nullptr, q.data(), k.data(), v.data(),
                            beta.data(), saved.data(), d, RecurrenceForm::Recurrent);

  DeviceBuffer g_q(q), g_k(k), g_v(v), g_b(beta), g_dout(dout);
  DeviceBuffer g_init(c.initial ? init : std::vector<float>(1)),
      g_dfinal(c.dfinal ? dfinal : std::vector<float>(1));
  DeviceBuffer g_out(nv), g_state(ns), g_saved(nsaved),
      g_scratch(size_t(cuda::delta_rule_scratch(d)));
  cuda::delta_rule_forward(ctx(), g_out.get(), g_state.get(), g_saved.get(), g_q.get(), g_k.get(),
                           g_v.get(), g_b.get(), c.initial ? g_init.get() : nullptr, d);
  cuda::delta_rule_backward(ctx(), g_dq.get(), g_dk.get(), g_dv.get(), g_db.get(),
                            c.initial ? g_ds0.get() : nullptr, g_dout.get(),
                            c.dfinal ? g_dfinal.get() : nullptr, g_q.get(), g_k.get(), g_v.get(),
                            g_b.get(), g_saved.get(), g_scratch.get(), d);
  ctx().synchronize();
  expect_all_close(tag, {{"out", &g_out, &out},
                         {"final state", &g_state, &state},
                         {"chunk states", &g_saved, &saved},
                         {"dq", &g_dq, &dq},
                         {"dk", &g_dk, &dk},
                         {"dv", &g_dv, &dv},
                         {"dbeta", &g_db, &db},
                         {"dinitial", c.initial ? &g_ds0 : nullptr, &ds0}});
}

TEST(CudaRecurrence, DeltaRuleMatchesTheCpu) {
  ICL_REQUIRE_GPU();
  for (const Case& c :
       {Case{1, 1, 1, 1, 1, 4, 1, false, false}, Case{2, 63, 3, 8, 5, 16, 1, true, true},
        Case{3, 100, 2, 16, 16, 64, 1, false, true}, Case{1, 130, 1, 64, 64, 64, 1, true, true}})
    run_delta_case(c);
}

TEST(CudaRecurrence, GatedLinearAttentionMatchesTheCpu) {
  ICL_REQUIRE_GPU();
  for (const Case& c :
       {Case{1, 1, 1, 1, 1, 4, 1, false, false}, Case{2, 63, 3, 8, 5, 16, 1, true, true},
        Case{3, 100, 2, 16, 16, 64, 16, false, true}, Case{2, 37, 4, 7, 9, 8, 7, true, false},
        Case{1, 130, 1, 64, 64, 64, 1, true, true}})
    run_case(c);
}

}  // namespace
}  // namespace icl

#endif  // ICL_WITH_CUDA

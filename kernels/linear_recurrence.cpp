#include "kernels/linear_recurrence.h"

namespace icl::ops {

namespace {
float* grad_or_null(Graph& g, Var v) { return v.n && v.needs_grad() ? g.grad(v).f() : nullptr; }
}  // namespace

RecurrenceResult gated_linear_attention(Graph& g, Var q, Var k, Var v, Var gates, int64_t heads,
                                        Var initial, RecurrenceOptions opt) {
  const Shape &sq = q.shape(), &sv = v.shape(), &sa = gates.shape();
  ICL_ASSERT(sq.rank == 3 && heads > 0 && sq[2] % heads == 0 && k.shape() == sq);
  ICL_ASSERT(sv.rank == 3 && sv[0] == sq[0] && sv[1] == sq[1] && sv[2] % heads == 0);
  ICL_ASSERT(sa.rank == 3 && sa[0] == sq[0] && sa[1] == sq[1] && sa[2] % heads == 0);
  ICL_ASSERT(opt.chunk > 0);
  RecurrenceDims d{sq[0], sq[1], heads, sq[2] / heads, sv[2] / heads, opt.chunk};
  const int64_t gate_width = sa[2] / heads;
  ICL_ASSERT(gate_width == 1 || gate_width == d.dk);
  if (initial.n) ICL_ASSERT(initial.shape() == (Shape{d.B, d.H, d.dk, d.dv}));

  const bool grad = any_grad(g, {q, k, v, gates, initial});
  RecurrenceResult r;
  r.out = g.output({d.B, d.T, d.H * d.dv}, grad);
  if (opt.final_state) r.state = g.output({d.B, d.H, d.dk, d.dv}, grad);
  const Tensor saved = grad ? g.arena().tensor({d.B * d.H, d.chunks(), d.dk, d.dv}) : Tensor{};
#ifdef ICL_WITH_CUDA
  if (g.on_cuda()) {
    const Tensor scratch =
        grad ? g.arena().tensor({cuda::gated_linear_attention_scratch(d)}) : Tensor{};
    cuda::gated_linear_attention_forward(g.cuda(), r.out.f(), r.state.n ? r.state.f() : nullptr,
                                         saved.f(), q.f(), k.f(), v.f(), gates.f(), gate_width,
                                         initial.n ? initial.f() : nullptr, d);
    if (grad) {
      const Var y = r.out, state = r.state;
      g.record([&g, q, k, v, gates, initial, y, state, saved, scratch, d, gate_width] {
        cuda::gated_linear_attention_backward(
            g.cuda(), grad_or_null(g, q), grad_or_null(g, k), grad_or_null(g, v),
            grad_or_null(g, gates), grad_or_null(g, initial), g.grad(y).f(),
            state.n ? g.grad(state).f() : nullptr, q.f(), k.f(), v.f(), gates.f(), gate_width,
            saved.f(), scratch.f(), d);
      });
    }
    return r;
  }
#endif
  kern::gated_linear_attention_forward(r.out.f(), r.state.n ? r.state.f() : nullptr, saved.f(),
                                       q.f(), k.f(), v.f(), gates.f(), gate_width,
                                       initial.n ? initial.f() : nullptr, d, opt.form);
  if (grad) {
    const Var y = r.out, state = r.state;
    const RecurrenceForm form = opt.form;
    g.record([&g, q, k, v, gates, initial, y, state, saved, d, gate_width, form] {
      kern::gated_linear_attention_backward(
          grad_or_null(g, q), grad_or_null(g, k), grad_or_null(g, v), grad_or_null(g, gates),
          grad_or_null(g, initial), g.grad(y).f(), state.n ? g.grad(state).f() : nullptr, q.f(),
          k.f(), v.f(), gates.f(), gate_width, saved.f(), d, form);
    });
  }
  return r;
}

}  // namespace icl::ops

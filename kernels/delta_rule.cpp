#include "kernels/delta_rule.h"

namespace icl::ops {

namespace {
float* grad_or_null(Graph& g, Var v) { return v.n && v.needs_grad() ? g.grad(v).f() : nullptr; }
}  // namespace

RecurrenceResult delta_rule(Graph& g, Var q, Var k, Var v, Var beta, int64_t heads, Var initial,
                            RecurrenceOptions opt) {
  const Shape &sq = q.shape(), &sv = v.shape();
  ICL_ASSERT(sq.rank == 3 && heads > 0 && sq[2] % heads == 0 && k.shape() == sq);
  ICL_ASSERT(sv.rank == 3 && sv[0] == sq[0] && sv[1] == sq[1] && sv[2] % heads == 0);
  ICL_ASSERT(beta.shape() == (Shape{sq[0], sq[1], heads}));
  ICL_ASSERT(opt.chunk > 0);
  RecurrenceDims d{sq[0], sq[1], heads, sq[2] / heads, sv[2] / heads, opt.chunk};
  if (initial.n) ICL_ASSERT(initial.shape() == (Shape{d.B, d.H, d.dv, d.dk}));

  const bool grad = any_grad(g, {q, k, v, beta, initial});
  RecurrenceResult r;
  r.out = g.output({d.B, d.T, d.H * d.dv}, grad);
  if (opt.final_state) r.state = g.output({d.B, d.H, d.dv, d.dk}, grad);
  const Tensor saved = grad ? g.arena().tensor({d.B * d.H, d.chunks(), d.dv, d.dk}) : Tensor{};
#ifdef ICL_WITH_CUDA
  if (g.on_cuda()) {
    const Tensor scratch = grad ? g.arena().tensor({cuda::delta_rule_scratch(d)}) : Tensor{};
    cuda::delta_rule_forward(g.cuda(), r.out.f(), r.state.n ? r.state.f() : nullptr, saved.f(),
                             q.f(), k.f(), v.f(), beta.f(), initial.n ? initial.f() : nullptr, d);
    if (grad) {
      const Var y = r.out, state = r.state;
      g.record([&g, q, k, v, beta, initial, y, state, saved, scratch, d] {
        cuda::delta_rule_backward(g.cuda(), grad_or_null(g, q), grad_or_null(g, k),
                                  grad_or_null(g, v), grad_or_null(g, beta),
                                  grad_or_null(g, initial), g.grad(y).f(),
                                  state.n ? g.grad(state).f() : nullptr, q.f(), k.f(), v.f(),
                                  beta.f(), saved.f(), scratch.f(), d);
      });
    }
    return r;
  }
#endif
  kern::delta_rule_forward(r.out.f(), r.state.n ? r.state.f() : nullptr, saved.f(), q.f(), k.f(),
                           v.f(), beta.f(), initial.n ? initial.f() : nullptr, d, opt.form);
  if (grad) {
    const Var y = r.out, state = r.state;
    const RecurrenceForm form = opt.form;
    g.record([&g, q, k, v, beta, initial, y, state, saved, d, form] {
      kern::delta_rule_backward(grad_or_null(g, q), grad_or_null(g, k), grad_or_null(g, v),
                                grad_or_null(g, beta), grad_or_null(g, initial), g.grad(y).f(),
                                state.n ? g.grad(state).f() : nullptr, q.f(), k.f(), v.f(),
                                beta.f(), saved.f(), d, form);
    });
  }
  return r;
}

}  // namespace icl::ops

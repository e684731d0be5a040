#include "kernels/gru.h"
#include "core/dispatch.h"

namespace icl::ops {

namespace {
float* grad_or_null(Graph& g, Var v) { return v.n && v.needs_grad() ? g.grad(v).f() : nullptr; }
const float* value_or_null(Var v) { return v.n ? v.f() : nullptr; }
}  // namespace

GruResult gru(Graph& g, Var gates_x, Var w_h, Var b_hn, Var h0, bool final_state) {
  const Shape& sx = gates_x.shape();
  ICL_ASSERT(sx.rank == 3 && sx[2] % 3 == 0);
  const RnnDims d{sx[0], sx[1], sx[2] / 3};
  ICL_ASSERT(w_h.shape() == (Shape{d.H, 3 * d.H}));
  if (b_hn.n) ICL_ASSERT(b_hn.shape() == (Shape{d.H}));
  if (h0.n) ICL_ASSERT(h0.shape() == (Shape{d.B, d.H}));

  const bool grad = any_grad(g, {gates_x, w_h, b_hn, h0});
  GruResult r;
  r.h = g.output({d.B, d.T, d.H}, grad);
  if (final_state) r.h_last = g.output({d.B, d.H}, grad);
  const Tensor saved = grad ? g.arena().tensor({d.B, d.T, 4 * d.H}) : Tensor{};
  ICL_DISPATCH(g, gru_forward, r.h.f(), r.h_last.n ? r.h_last.f() : nullptr, saved.f(), gates_x.f(),
               w_h.f(), value_or_null(b_hn), value_or_null(h0), d);
  if (grad) {
    const bool need_work = w_h.needs_grad() || (b_hn.n && b_hn.needs_grad());
    const Tensor work = need_work ? g.arena().tensor({d.B, d.T, 3 * d.H}) : Tensor{};
    const Var h = r.h, h_last = r.h_last;
    g.record([&g, gates_x, w_h, b_hn, h0, h, h_last, saved, work, d] {
      ICL_DISPATCH(g, gru_backward, grad_or_null(g, gates_x), grad_or_null(g, w_h),
                   grad_or_null(g, b_hn), grad_or_null(g, h0), work.f(), g.grad(h).f(),
                   h_last.n ? g.grad(h_last).f() : nullptr, w_h.f(), value_or_null(h0), h.f(),
                   saved.f(), d);
    });
  }
  return r;
}

}  // namespace icl::ops

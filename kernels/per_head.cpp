#include "kernels/per_head.h"
#include "core/dispatch.h"

namespace icl::ops {

namespace {
float* grad_or_null(Graph& g, Var v) { return v.n && v.needs_grad() ? g.grad(v).f() : nullptr; }
}  // namespace

Var scale_heads(Graph& g, Var x, Var s) {
  const Shape &sx = x.shape(), &ss = s.shape();
  ICL_ASSERT(sx.rank == ss.rank && sx.rank >= 1);
  const int64_t H = ss[ss.rank - 1], R = ss.numel() / H;
  ICL_ASSERT(H > 0 && sx[sx.rank - 1] % H == 0 && sx.numel() / sx[sx.rank - 1] == R);
  const int64_t d = sx[sx.rank - 1] / H;
  Var y = g.output_like(x, any_grad(g, {x, s}));
  ICL_DISPATCH(g, scale_heads_forward, y.f(), x.f(), s.f(), R, H, d);
  if (y.needs_grad())
    g.record([&g, x, s, y, R, H, d] {
      ICL_DISPATCH(g, scale_heads_backward, grad_or_null(g, x), grad_or_null(g, s), g.grad(y).f(),
                   x.f(), s.f(), R, H, d);
    });
  return y;
}

Var l2norm_heads(Graph& g, Var x, int64_t heads, float eps) {
  const Shape& sx = x.shape();
  ICL_ASSERT(sx.rank >= 1 && heads > 0 && sx[sx.rank - 1] % heads == 0);
  const int64_t d = sx[sx.rank - 1] / heads, rows = sx.numel() / d;
  Var y = g.output_like(x, any_grad(g, {x}));
  ICL_DISPATCH(g, l2norm_heads_forward, y.f(), x.f(), eps, rows, d);
  if (y.needs_grad())
    g.record([&g, x, y, eps, rows, d] {
      ICL_DISPATCH(g, l2norm_heads_backward, g.grad(x).f(), g.grad(y).f(), y.f(), x.f(), eps, rows,
                   d);
    });
  return y;
}

Var ssm_decay(Graph& g, Var dt, Var a_log, bool negative) {
  const Shape& s = dt.shape();
  ICL_ASSERT(s.rank >= 1 && a_log.shape().rank == 1 && a_log.shape()[0] == s[s.rank - 1]);
  const int64_t H = s[s.rank - 1], R = s.numel() / H;
  Var y = g.output_like(dt, any_grad(g, {dt, a_log}));
  ICL_DISPATCH(g, ssm_decay_forward, y.f(), dt.f(), a_log.f(), negative, R, H);
  if (y.needs_grad())
    g.record([&g, dt, a_log, y, negative, R, H] {
      ICL_DISPATCH(g, ssm_decay_backward, grad_or_null(g, dt), grad_or_null(g, a_log),
                   g.grad(y).f(), dt.f(), a_log.f(), negative, R, H);
    });
  return y;
}

}  // namespace icl::ops

#include "kernels/gating.h"
#include "core/dispatch.h"

namespace icl::ops {

namespace {
float* grad_or_null(Graph& g, Var v) { return v.needs_grad() ? g.grad(v).f() : nullptr; }
}  // namespace

Var multiply(Graph& g, Var a, Var b) {
  ICL_ASSERT(a.shape().numel() == b.shape().numel());
  const int64_t n = a.shape().numel();
  Var y = g.output_like(a, any_grad(g, {a, b}));
  ICL_DISPATCH(g, multiply_forward, y.f(), a.f(), b.f(), n);
  if (y.needs_grad())
    g.record([&g, a, b, y, n] {
      ICL_DISPATCH(g, multiply_backward, grad_or_null(g, a), grad_or_null(g, b), g.grad(y).f(),
                   a.f(), b.f(), n);
    });
  return y;
}

Var scale_channels(Graph& g, Var x, Var d) {
  const Shape& sx = x.shape();
  ICL_ASSERT(sx.rank >= 1 && d.shape().numel() == sx[sx.rank - 1]);
  const int64_t C = sx[sx.rank - 1], R = sx.numel() / C;
  Var y = g.output_like(x, any_grad(g, {x, d}));
  ICL_DISPATCH(g, scale_channels_forward, y.f(), x.f(), d.f(), R, C);
  if (y.needs_grad())
    g.record([&g, x, d, y, R, C] {
      ICL_DISPATCH(g, scale_channels_backward, grad_or_null(g, x), grad_or_null(g, d),
                   g.grad(y).f(), x.f(), d.f(), R, C);
    });
  return y;
}

Var add_channels(Graph& g, Var x, Var c) {
  const Shape& sx = x.shape();
  ICL_ASSERT(sx.rank >= 1 && c.shape().numel() == sx[sx.rank - 1]);
  const int64_t C = sx[sx.rank - 1], R = sx.numel() / C;
  Var y = g.output_like(x, any_grad(g, {x, c}));
  ICL_DISPATCH(g, add_channels_forward, y.f(), x.f(), c.f(), R, C);
  if (y.needs_grad())
    g.record([&g, x, c, y, R, C] {
      ICL_DISPATCH(g, add_channels_backward, grad_or_null(g, x), grad_or_null(g, c), g.grad(y).f(),
                   R, C);
    });
  return y;
}

}  // namespace icl::ops

#include "kernels/elementwise.h"
#include "core/dispatch.h"

namespace icl::ops {

Var add(Graph& g, Var a, Var b) {
  ICL_ASSERT(a.shape() == b.shape());
  const int64_t n = a.shape().numel();
  Var y = g.output_like(a, any_grad(g, {a, b}));
  ICL_DISPATCH(g, add_forward, y.f(), a.f(), b.f(), n);
  if (y.needs_grad()) g.record([&g, a, b, y] { add_backward(g, a, b, y); });
  return y;
}

void add_backward(Graph& g, Var a, Var b, Var y) {
  const int64_t n = y.shape().numel();
  const Graph::GradOut da = g.grad_out(a), db = g.grad_out(b);
  ICL_DISPATCH_GRAD(g, add_backward, (da.f, db.f, g.grad(y).f(), n),
                    (da.accumulate, db.accumulate));
}

Var scale(Graph& g, Var x, float s) {
  const int64_t n = x.shape().numel();
  Var y = g.output_like(x, any_grad(g, {x}));
  ICL_DISPATCH(g, scale_forward, y.f(), x.f(), s, n);
  if (y.needs_grad())
    g.record(
        [&g, x, y, s, n] { ICL_DISPATCH(g, scale_backward, g.grad(x).f(), g.grad(y).f(), s, n); });
  return y;
}

}  // namespace icl::ops

#include "kernels/activation.h"
#include "core/dispatch.h"

namespace icl::ops {

Var gelu(Graph& g, Var x) {
  const int64_t n = x.shape().numel();
  Var y = g.output_like(x, any_grad(g, {x}));
  ICL_DISPATCH(g, gelu_forward, y.f(), x.f(), n);
  if (y.needs_grad())
    g.record([&g, x, y, n] {
      const Graph::GradOut dx = g.grad_out(x);  // assigned when fresh
      ICL_DISPATCH_GRAD(g, gelu_backward, (dx.f, g.grad(y).f(), x.f(), n), (dx.accumulate));
    });
  return y;
}

Var relu(Graph& g, Var x) {
  const int64_t n = x.shape().numel();
  Var y = g.output_like(x, any_grad(g, {x}));
  ICL_DISPATCH(g, relu_forward, y.f(), x.f(), n);
  if (y.needs_grad())
    g.record(
        [&g, x, y, n] { ICL_DISPATCH(g, relu_backward, g.grad(x).f(), g.grad(y).f(), x.f(), n); });
  return y;
}

}  // namespace icl::ops

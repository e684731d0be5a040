#include "kernels/smooth_activations.h"
#include "core/dispatch.h"

namespace icl::ops {

Var sigmoid_gate(Graph& g, Var x, float c, float p) {
  const int64_t n = x.shape().numel();
  Var y = g.output_like(x, any_grad(g, {x}));
  ICL_DISPATCH(g, sigmoid_gate_forward, y.f(), x.f(), c, p, n);
  if (y.needs_grad())
    g.record([&g, x, y, p, n] {
      ICL_DISPATCH(g, sigmoid_gate_backward, g.grad(x).f(), g.grad(y).f(), y.f(), x.f(), p, n);
    });
  return y;
}

Var softplus(Graph& g, Var x) {
  const int64_t n = x.shape().numel();
  Var y = g.output_like(x, any_grad(g, {x}));
  ICL_DISPATCH(g, softplus_forward, y.f(), x.f(), n);
  if (y.needs_grad())
    g.record([&g, x, y, n] {
      ICL_DISPATCH(g, softplus_backward, g.grad(x).f(), g.grad(y).f(), x.f(), n);
    });
  return y;
}

Var elu_plus_one(Graph& g, Var x) {
  const int64_t n = x.shape().numel();
  Var y = g.output_like(x, any_grad(g, {x}));
  ICL_DISPATCH(g, elu_plus_one_forward, y.f(), x.f(), n);
  if (y.needs_grad())
    g.record([&g, x, y, n] {
      ICL_DISPATCH(g, elu_plus_one_backward, g.grad(x).f(), g.grad(y).f(), x.f(), n);
    });
  return y;
}

Var silu(Graph& g, Var x) {
  const int64_t n = x.shape().numel();
  Var y = g.output_like(x, any_grad(g, {x}));
  ICL_DISPATCH(g, silu_forward, y.f(), x.f(), n);
  if (y.needs_grad())
    g.record(
        [&g, x, y, n] { ICL_DISPATCH(g, silu_backward, g.grad(x).f(), g.grad(y).f(), x.f(), n); });
  return y;
}

}  // namespace icl::ops

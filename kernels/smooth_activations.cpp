#include "kernels/smooth_activations.h"

namespace icl::ops {

Var sigmoid_gate(Graph& g, Var x, float c, float p) {
  if (g.on_cuda()) fail("op sigmoid_gate has no CUDA kernel yet");
  const int64_t n = x.shape().numel();
  Var y = g.output_like(x, any_grad(g, {x}));
  kern::sigmoid_gate_forward(y.f(), x.f(), c, p, n);
  if (y.needs_grad())
    g.record([&g, x, y, p, n] {
      kern::sigmoid_gate_backward(g.grad(x).f(), g.grad(y).f(), y.f(), x.f(), p, n);
    });
  return y;
}

Var softplus(Graph& g, Var x) {
  if (g.on_cuda()) fail("op softplus has no CUDA kernel yet");
  const int64_t n = x.shape().numel();
  Var y = g.output_like(x, any_grad(g, {x}));
  kern::softplus_forward(y.f(), x.f(), n);
  if (y.needs_grad())
    g.record([&g, x, y, n] { kern::softplus_backward(g.grad(x).f(), g.grad(y).f(), x.f(), n); });
  return y;
}

Var elu_plus_one(Graph& g, Var x) {
  if (g.on_cuda()) fail("op elu_plus_one has no CUDA kernel yet");
  const int64_t n = x.shape().numel();
  Var y = g.output_like(x, any_grad(g, {x}));
  kern::elu_plus_one_forward(y.f(), x.f(), n);
  if (y.needs_grad())
    g.record(
        [&g, x, y, n] { kern::elu_plus_one_backward(g.grad(x).f(), g.grad(y).f(), x.f(), n); });
  return y;
}

Var silu(Graph& g, Var x) {
  if (g.on_cuda()) fail("op silu has no CUDA kernel yet");
  const int64_t n = x.shape().numel();
  Var y = g.output_like(x, any_grad(g, {x}));
  kern::silu_forward(y.f(), x.f(), n);
  if (y.needs_grad())
    g.record([&g, x, y, n] { kern::silu_backward(g.grad(x).f(), g.grad(y).f(), x.f(), n); });
  return y;
}

}  // namespace icl::ops

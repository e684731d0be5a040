#include "kernels/rmsnorm.h"
#include "core/dispatch.h"

namespace icl::ops {

Var rmsnorm(Graph& g, Var x, Var gamma, float eps) {
  const int64_t C = x.shape().cols(), N = x.shape().rows();
  ICL_ASSERT(gamma.shape().numel() == C);
  Var y = g.output_like(x, any_grad(g, {x, gamma}));
  // Per-row 1/rms for the backward; a step without gradients saves nothing.
  const Tensor stats = y.needs_grad() ? g.arena().tensor({N}) : Tensor{};
  float* rstd = stats.defined() ? stats.f() : nullptr;
  ICL_DISPATCH(g, rmsnorm_forward, y.f(), rstd, x.f(), gamma.f(), N, C, eps);
  if (y.needs_grad())
    g.record([&g, x, gamma, y, rstd, N, C] {
      ICL_DISPATCH(g, rmsnorm_backward, x.needs_grad() ? g.grad(x).f() : nullptr,
                   gamma.needs_grad() ? g.grad(gamma).f() : nullptr, g.grad(y).f(), x.f(),
                   gamma.f(), rstd, N, C);
    });
  return y;
}

}  // namespace icl::ops

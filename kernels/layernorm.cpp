#include "kernels/layernorm.h"
#include "core/dispatch.h"

namespace icl::ops {

Var layernorm(Graph& g, Var x, Var gamma, Var beta, float eps) {
  const int64_t C = x.shape().cols(), N = x.shape().rows();
  ICL_ASSERT(gamma.shape().numel() == C && beta.shape().numel() == C);
  Var y = g.output_like(x, any_grad(g, {x, gamma, beta}));
  // Per-row statistics for the backward; a step without gradients saves nothing.
  const Tensor stats = y.needs_grad() ? g.arena().tensor({2, N}) : Tensor{};
  float* mean = stats.defined() ? stats.f() : nullptr;
  float* rstd = stats.defined() ? stats.f() + N : nullptr;
  ICL_DISPATCH(g, layernorm_forward, y.f(), mean, rstd, x.f(), gamma.f(), beta.f(), N, C, eps);
  if (y.needs_grad())
    g.record([&g, x, gamma, beta, y, mean, rstd] {
      layernorm_backward(g, x, gamma, beta, y, mean, rstd);
    });
  return y;
}

void layernorm_backward(Graph& g, Var x, Var gamma, Var beta, Var y, const float* mean,
                        const float* rstd) {
  const int64_t C = x.shape().cols(), N = x.shape().rows();
  const Graph::GradOut dx = g.grad_out(x);
  float* dgamma = gamma.needs_grad() ? g.grad(gamma).f() : nullptr;
  float* dbeta = beta.needs_grad() ? g.grad(beta).f() : nullptr;
  ICL_DISPATCH_GRAD(g, layernorm_backward,
                    (dx.f, dgamma, dbeta, g.grad(y).f(), x.f(), gamma.f(), mean, rstd, N, C),
                    (dx.accumulate));
}

}  // namespace icl::ops

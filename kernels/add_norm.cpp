#include "kernels/add_norm.h"

#include "core/dispatch.h"
#include "kernels/elementwise.h"
#include "kernels/layernorm.h"
#include "kernels/rmsnorm.h"

namespace icl::ops {

AddNorm add_norm(Graph& g, Var a, Var b, Var gamma, Var beta, float eps) {
  ICL_ASSERT(a.shape() == b.shape());
  const int64_t C = a.shape().cols(), N = a.shape().rows();
  const bool rms = beta.n == nullptr;
  ICL_ASSERT(gamma.shape().numel() == C && (rms || beta.shape().numel() == C));
  Var s = g.output_like(a, any_grad(g, {a, b}));
  Var y = g.output_like(a, any_grad(g, {a, b, gamma, beta}));
  // Per-row statistics for the backward (mean and rstd, or rstd); nothing without gradients.
  const Tensor stats = y.needs_grad() ? g.arena().tensor({rms ? 1 : 2, N}) : Tensor{};
  float* rstd = stats.defined() ? stats.f() + (rms ? 0 : N) : nullptr;
  float* mean = stats.defined() && !rms ? stats.f() : nullptr;
  const float* beta_f = rms ? nullptr : beta.f();
  if (g.on_cuda()) {
    if constexpr (kCudaBuilt) {
      if (rms)
        cuda::add_rmsnorm_forward(g.cuda(), s.f(), y.f(), rstd, a.f(), b.f(), gamma.f(), N, C, eps);
      else
        cuda::add_layernorm_forward(g.cuda(), s.f(), y.f(), mean, rstd, a.f(), b.f(), gamma.f(),
                                    beta_f, N, C, eps);
    }
  } else {
    kern::add_forward(s.f(), a.f(), b.f(), N * C);
    if (rms)
      kern::rmsnorm_forward(y.f(), rstd, s.f(), gamma.f(), N, C, eps);
    else
      kern::layernorm_forward(y.f(), mean, rstd, s.f(), gamma.f(), beta_f, N, C, eps);
  }
  if (!g.recording()) return {s, y};
  // Recorded first, so it runs after the norm's backward has added into ds.
  if (s.needs_grad()) g.record([&g, a, b, s] { add_backward(g, a, b, s); });
  if (y.needs_grad())
    g.record([&g, s, y, gamma, beta, mean, rstd, rms, N, C] {
      float* dgamma = gamma.needs_grad() ? g.grad(gamma).f() : nullptr;
      if (rms) {
        float* ds = s.needs_grad() ? g.grad(s).f() : nullptr;
        ICL_DISPATCH(g, rmsnorm_backward, ds, dgamma, g.grad(y).f(), s.f(), gamma.f(), rstd, N, C);
        return;
      }
      ops::layernorm_backward(g, s, gamma, beta, y, mean, rstd);
    });
  return {s, y};
}

}  // namespace icl::ops

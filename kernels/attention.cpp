#include "kernels/attention.h"

#include "core/dispatch.h"
#include "core/error.h"

namespace icl::ops {

Var attention(Graph& g, Var qkv, int64_t heads, AttentionKind kind, bool causal) {
  const Shape& s = qkv.shape();
  ICL_ASSERT(s.rank == 3 && s[2] % 3 == 0 && heads > 0 && (s[2] / 3) % heads == 0);
  if (!causal && g.on_cuda())
    fail("model.causal: non-causal attention runs on the CPU only for now (use --device cpu)");
  const int64_t B = s[0], Tn = s[1], C = s[2] / 3;
  Var y = g.output({B, Tn, C}, any_grad(g, {qkv}));
  // lse is kept only when a backward will read it (softmax with gradients).
  Tensor lse;
  if (y.needs_grad() && kind == AttentionKind::Softmax) lse = g.arena().tensor({B, heads, Tn});
  // The CUDA twins take no causal flag (they are causal); non-causal graphs are on the CPU.
  if (causal)
    ICL_DISPATCH(g, attention_forward, y.f(), lse.f(), qkv.f(), B, Tn, C, heads, kind);
  else
    kern::attention_forward(y.f(), lse.f(), qkv.f(), B, Tn, C, heads, kind, false);
  if (y.needs_grad())
    g.record([&g, qkv, y, lse, B, Tn, C, heads, kind, causal] {
      if (causal)
        ICL_DISPATCH(g, attention_backward, g.grad(qkv).f(), g.grad(y).f(), y.f(), lse.f(), qkv.f(),
                     B, Tn, C, heads, kind);
      else
        kern::attention_backward(g.grad(qkv).f(), g.grad(y).f(), y.f(), lse.f(), qkv.f(), B, Tn, C,
                                 heads, kind, false);
    });
  return y;
}

}  // namespace icl::ops

#include "kernels/attention.h"

#include "core/dispatch.h"
#include "core/error.h"

namespace icl::ops {

Var attention(Graph& g, Var qkv, int64_t heads, AttentionKind kind, bool causal) {
  const Shape& s = qkv.shape();
  ICL_ASSERT(s.rank == 3 && s[2] % 3 == 0 && heads > 0 && (s[2] / 3) % heads == 0);
  const int64_t B = s[0], Tn = s[1], C = s[2] / 3;
  Var y = g.output({B, Tn, C}, any_grad(g, {qkv}));
  // lse is kept only when a backward will read it (softmax with gradients).
  Tensor lse;
  if (y.needs_grad() && kind == AttentionKind::Softmax) lse = g.arena().tensor({B, heads, Tn});
  ICL_DISPATCH(g, attention_forward, y.f(), lse.f(), qkv.f(), B, Tn, C, heads, kind, causal);
  if (y.needs_grad())
    g.record([&g, qkv, y, lse, B, Tn, C, heads, kind, causal] {
      ICL_DISPATCH(g, attention_backward, g.grad(qkv).f(), g.grad(y).f(), y.f(), lse.f(), qkv.f(),
                   B, Tn, C, heads, kind, causal);
    });
  return y;
}

}  // namespace icl::ops

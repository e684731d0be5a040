#include "kernels/attention.h"

#include <algorithm>

#include "core/dispatch.h"
#include "core/error.h"

namespace icl::ops {

Var attention(Graph& g, Var qkv, int64_t heads, AttentionKind kind, bool causal,
              const Tensor& visible) {
  const Shape& s = qkv.shape();
  ICL_ASSERT(s.rank == 3 && s[2] % 3 == 0 && heads > 0 && (s[2] / 3) % heads == 0);
  const int64_t B = s[0], Tn = s[1], C = s[2] / 3;
  Tensor vis;  // the mask where the kernels read it (a device copy on a GPU)
  if (visible.defined()) {
    ICL_ASSERT(kind == AttentionKind::Softmax && visible.dtype == DType::I32 &&
               visible.device == Device::CPU && visible.numel() == B * Tn);
    for (int64_t b = 0; b < B; ++b) {
      const int32_t* row = visible.i() + b * Tn;
      if (std::none_of(row, row + Tn, [](int32_t v) { return v != 0; }))
        fail("attention: sequence {} of the batch has no visible position to attend to", b);
      // Causal: a query sees keys up to itself, so the first key must be visible to every query.
      if (causal && Tn > 0 && row[0] == 0)
        fail(
            "attention: position 0 of sequence {} is hidden, so a causal query before its first "
            "visible key would see nothing",
            b);
    }
    vis = g.input(visible);
  }
  Var y = g.output({B, Tn, C}, any_grad(g, {qkv}));
  // lse is kept only when a backward will read it (softmax with gradients).
  Tensor lse;
  if (y.needs_grad() && kind == AttentionKind::Softmax) lse = g.arena().tensor({B, heads, Tn});
  ICL_DISPATCH(g, attention_forward, y.f(), lse.f(), qkv.f(), B, Tn, C, heads, kind, causal,
               vis.i());
  if (y.needs_grad())
    g.record([&g, qkv, y, lse, vis, B, Tn, C, heads, kind, causal] {
      const Graph::GradOut dqkv = g.grad_out(qkv);  // assigned when fresh
      ICL_DISPATCH_GRAD(
          g, attention_backward,
          (dqkv.f, g.grad(y).f(), y.f(), lse.f(), qkv.f(), B, Tn, C, heads, kind, causal, vis.i()),
          (dqkv.accumulate));
    });
  return y;
}

}  // namespace icl::ops

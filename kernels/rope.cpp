#include "kernels/rope.h"

#include "core/dispatch.h"
#include "core/error.h"

namespace icl::ops {

Var rope(Graph& g, Var qkv, int64_t heads, double base) {
  const Shape& s = qkv.shape();
  ICL_ASSERT(s.rank == 3 && s[2] % 3 == 0 && heads > 0 && (s[2] / 3) % heads == 0 &&
             (s[2] / 3 / heads) % 2 == 0 && base > 1.0);
  const int64_t B = s[0], Tn = s[1], C = s[2] / 3;
  Var y = g.output(s, any_grad(g, {qkv}));
  ICL_DISPATCH(g, rope_forward, y.f(), qkv.f(), B, Tn, C, heads, base);
  if (y.needs_grad())
    g.record([&g, qkv, y, B, Tn, C, heads, base] {
      ICL_DISPATCH(g, rope_backward, g.grad(qkv).f(), g.grad(y).f(), B, Tn, C, heads, base);
    });
  return y;
}

}  // namespace icl::ops

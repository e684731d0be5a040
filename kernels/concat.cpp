#include "kernels/concat.h"

#include "core/dispatch.h"
#include "core/error.h"

namespace icl::ops {

Var concat(Graph& g, Var a, Var b) {
  const Shape &sa = a.shape(), &sb = b.shape();
  ICL_ASSERT(sa.rank >= 1 && sa.rank == sb.rank);
  for (int r = 0; r + 1 < sa.rank; ++r) ICL_ASSERT(sa[r] == sb[r]);
  const int64_t Ca = sa[sa.rank - 1], Cb = sb[sb.rank - 1], N = a.value().numel() / Ca;
  Shape s = sa;
  s.d[size_t(s.rank - 1)] = Ca + Cb;
  Var y = g.output(s, any_grad(g, {a, b}));
  ICL_DISPATCH(g, concat_forward, y.f(), a.f(), b.f(), N, Ca, Cb);
  if (y.needs_grad())
    g.record([&g, a, b, y, N, Ca, Cb] {
      ICL_DISPATCH(g, concat_backward, a.needs_grad() ? g.grad(a).f() : nullptr,
                   b.needs_grad() ? g.grad(b).f() : nullptr, g.grad(y).f(), N, Ca, Cb);
    });
  return y;
}

}  // namespace icl::ops

#include "kernels/linear.h"
#include "core/dispatch.h"

namespace icl::ops {

Var linear(Graph& g, Var x, Var w, Var b) {
  const int64_t in = w.shape()[0], out = w.shape()[1];
  ICL_ASSERT(x.shape().cols() == in && (!b.n || b.shape().numel() == out));
  const int64_t N = x.shape().rows();
  Shape ys = x.shape();
  ys.d[size_t(ys.rank - 1)] = out;
  Var y = g.output(ys, any_grad(g, {x, w, b}));
  ICL_DISPATCH(g, linear_forward, y.f(), x.f(), w.f(), b.n ? b.f() : nullptr, N, in, out);
  if (y.needs_grad())
    g.record([&g, x, w, b, y, N, in, out] {
      const Graph::GradOut dx = g.grad_out(x);
      float* dw = w.needs_grad() ? g.grad(w).f() : nullptr;
      float* db = b.n && b.needs_grad() ? g.grad(b).f() : nullptr;
      ICL_DISPATCH_GRAD(g, linear_backward, (dx.f, dw, db, g.grad(y).f(), x.f(), w.f(), N, in, out),
                        (dx.accumulate));
    });
  return y;
}

}  // namespace icl::ops

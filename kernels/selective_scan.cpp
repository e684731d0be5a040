#include "kernels/selective_scan.h"

namespace icl::ops {

namespace {
float* grad_or_null(Graph& g, Var v) { return v.needs_grad() ? g.grad(v).f() : nullptr; }
}  // namespace

Var selective_scan(Graph& g, Var x, Var dt, Var a_log, Var b, Var c, bool negative,
                   RecurrenceOptions opt) {
  const Shape &sx = x.shape(), &sa = a_log.shape(), &sb = b.shape();
  ICL_ASSERT(sx.rank == 3 && dt.shape() == sx && sa.rank == 2 && sa[0] == sx[2]);
  ICL_ASSERT(sb.rank == 3 && sb[0] == sx[0] && sb[1] == sx[1] && sb[2] == sa[1]);
  ICL_ASSERT(c.shape() == sb && opt.chunk > 0);
  const ScanDims d{sx[0], sx[1], sx[2], sa[1], opt.chunk};
  const bool grad = any_grad(g, {x, dt, a_log, b, c});
  Var y = g.output_like(x, grad);
  const Tensor saved = grad ? g.arena().tensor({d.B * d.E, d.chunks(), d.N}) : Tensor{};
#ifdef ICL_WITH_CUDA
  if (g.on_cuda()) {
    cuda::selective_scan_forward(g.cuda(), y.f(), grad ? saved.f() : nullptr, x.f(), dt.f(),
                                 a_log.f(), b.f(), c.f(), d, negative);
    if (grad) {
      const Tensor scratch = g.arena().tensor({cuda::selective_scan_scratch(d)});
      g.record([&g, x, dt, a_log, b, c, y, saved, scratch, d, negative] {
        cuda::selective_scan_backward(g.cuda(), grad_or_null(g, x), grad_or_null(g, dt),
                                      grad_or_null(g, a_log), grad_or_null(g, b),
                                      grad_or_null(g, c), g.grad(y).f(), x.f(), dt.f(), a_log.f(),
                                      b.f(), c.f(), saved.f(), scratch.f(), d, negative);
      });
    }
    return y;
  }
#endif
  kern::selective_scan_forward(y.f(), grad ? saved.f() : nullptr, x.f(), dt.f(), a_log.f(), b.f(),
                               c.f(), d, negative, opt.form);
  if (grad) {
    const Tensor partial = g.arena().tensor({d.B, d.E, d.N});
    const RecurrenceForm form = opt.form;
    g.record([&g, x, dt, a_log, b, c, y, saved, partial, d, negative, form] {
      kern::selective_scan_backward(grad_or_null(g, x), grad_or_null(g, dt), grad_or_null(g, a_log),
                                    grad_or_null(g, b), grad_or_null(g, c), partial.f(),
                                    g.grad(y).f(), x.f(), dt.f(), a_log.f(), b.f(), c.f(),
                                    saved.f(), d, negative, form);
    });
  }
  return y;
}

}  // namespace icl::ops

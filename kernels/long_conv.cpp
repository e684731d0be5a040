#include "kernels/long_conv.h"

namespace icl::ops {

namespace {
float* grad_or_null(Graph& g, Var v) { return v.needs_grad() ? g.grad(v).f() : nullptr; }
}  // namespace

Var long_conv(Graph& g, Var x, Var filter, std::optional<ConvMethod> method) {
  const Shape &sx = x.shape(), &sf = filter.shape();
  ICL_ASSERT(sx.rank == 3 && sf.rank == 2 && sf[0] == sx[2] && sf[1] >= 1);
  const ConvDims d{sx[0], sx[1], sx[2], sf[1]};
  const ConvMethod m =
      method.value_or(d.taps() >= kFftMinTaps ? ConvMethod::Fft : ConvMethod::Direct);
  const bool grad = any_grad(g, {x, filter});
  const Var y = g.output({d.B, d.T, d.C}, grad);
  // A GPU step runs the direct form whatever m says (long_conv.cu).
#ifdef ICL_WITH_CUDA
  if (g.on_cuda()) {
    cuda::long_conv_forward(g.cuda(), y.f(), x.f(), filter.f(), d);
    if (grad)
      g.record([&g, x, filter, y, d] {
        cuda::long_conv_backward(g.cuda(), grad_or_null(g, x), grad_or_null(g, filter),
                                 g.grad(y).f(), x.f(), filter.f(), d);
      });
    return y;
  }
#endif
  kern::long_conv_forward(y.f(), x.f(), filter.f(), d, m);
  if (grad)
    g.record([&g, x, filter, y, d, m] {
      kern::long_conv_backward(grad_or_null(g, x), grad_or_null(g, filter), g.grad(y).f(), x.f(),
                               filter.f(), d, m);
    });
  return y;
}

}  // namespace icl::ops

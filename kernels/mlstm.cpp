#include "kernels/mlstm.h"
#include "core/dispatch.h"

namespace icl::ops {

namespace {
float* grad_or_null(Graph& g, Var v) { return v.n && v.needs_grad() ? g.grad(v).f() : nullptr; }
}  // namespace

MlstmGates mlstm_stabilise(Graph& g, Var f_pre, Var i_pre) {
  const Shape& s = f_pre.shape();
  ICL_ASSERT(s.rank == 3 && i_pre.shape() == s);
  const bool grad = any_grad(g, {f_pre, i_pre});
  MlstmGates r{g.output(s, grad), g.output(s, grad), g.output(s, false)};
  ICL_DISPATCH(g, mlstm_stabilise_forward, r.decay.f(), r.input_scale.f(), r.floor.f(), f_pre.f(),
               i_pre.f(), s[0], s[1], s[2]);
  if (grad) {
    const Var decay = r.decay, in_scale = r.input_scale;
    const int64_t n = s.numel();
    g.record([&g, f_pre, i_pre, decay, in_scale, n] {
      ICL_DISPATCH(g, mlstm_stabilise_backward, grad_or_null(g, f_pre), grad_or_null(g, i_pre),
                   g.grad(decay).f(), g.grad(in_scale).f(), decay.f(), in_scale.f(), f_pre.f(), n);
    });
  }
  return r;
}

Var mlstm_normalise(Graph& g, Var o, Var den, Var floor) {
  const Shape &so = o.shape(), &sd = den.shape();
  ICL_ASSERT(so.rank == 3 && sd.rank == 3 && floor.shape() == sd && so[0] == sd[0] &&
             so[1] == sd[1] && so[2] % sd[2] == 0);
  const int64_t R = sd[0] * sd[1], H = sd[2], d = so[2] / H;
  Var y = g.output_like(o, any_grad(g, {o, den}));
  ICL_DISPATCH(g, mlstm_normalise_forward, y.f(), o.f(), den.f(), floor.f(), R, H, d);
  if (y.needs_grad())
    g.record([&g, o, den, floor, y, R, H, d] {
      ICL_DISPATCH(g, mlstm_normalise_backward, grad_or_null(g, o), grad_or_null(g, den),
                   g.grad(y).f(), o.f(), den.f(), floor.f(), R, H, d);
    });
  return y;
}

}  // namespace icl::ops

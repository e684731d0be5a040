#include "kernels/select.h"

namespace icl::ops {

Var take_positions(Graph& g, Var x, int64_t offset, int64_t stride, int64_t count) {
  ICL_ASSERT(x.shape().rank == 3);
  const int64_t B = x.shape()[0], Tn = x.shape()[1], C = x.shape()[2];
  if (offset < 0 || stride < 1 || count < 1 || offset + (count - 1) * stride >= Tn)
    fail(
        "take_positions: offset {}, stride {}, count {} do not fit a sequence of length {} "
        "(need offset >= 0, stride >= 1, count >= 1, offset + (count - 1) * stride < {})",
        offset, stride, count, Tn, Tn);
  Var y = g.output({B, count, C}, any_grad(g, {x}));
  kern::take_positions_forward(y.f(), x.f(), B, Tn, C, offset, stride, count);
  if (y.needs_grad())
    g.record([&g, x, y, B, Tn, C, offset, stride, count] {
      kern::take_positions_backward(g.grad(x).f(), g.grad(y).f(), B, Tn, C, offset, stride, count);
    });
  return y;
}

}  // namespace icl::ops

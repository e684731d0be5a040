#include "kernels/select.h"
#include "core/dispatch.h"

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
  ICL_DISPATCH(g, take_positions_forward, y.f(), x.f(), B, Tn, C, offset, stride, count);
  if (y.needs_grad())
    g.record([&g, x, y, B, Tn, C, offset, stride, count] {
      ICL_DISPATCH(g, take_positions_backward, g.grad(x).f(), g.grad(y).f(), B, Tn, C, offset,
                   stride, count);
    });
  return y;
}

Var interleave(Graph& g, const Tensor& xs, const Tensor& ys) {
  ICL_ASSERT(xs.shape.rank == 3 && ys.shape.rank == 3 && xs.shape[0] == ys.shape[0] &&
             xs.shape[1] == ys.shape[1]);
  const int64_t B = xs.shape[0], K = xs.shape[1], dx = xs.shape[2], dy = ys.shape[2];
  if (dy > dx) fail("prompt encoding: labels of width {} do not fit tokens of width {}", dy, dx);
  const Tensor x = g.input(xs), y = g.input(ys);
  Var tok = g.output({B, 2 * K, dx}, false);
  ICL_DISPATCH(g, interleave_forward, tok.f(), x.f(), y.f(), B, K, dx, dy);
  return tok;
}

}  // namespace icl::ops

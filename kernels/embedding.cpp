#include "kernels/embedding.h"
#include "core/dispatch.h"

namespace icl::ops {

Var embedding(Graph& g, const Tensor& tokens, Var table) {
  ICL_ASSERT(tokens.dtype == DType::I32 && tokens.device == Device::CPU && tokens.defined());
  ICL_ASSERT(table.shape().rank == 2 && tokens.shape.rank >= 1 && tokens.shape.rank <= 3);
  const int64_t V = table.shape()[0], C = table.shape()[1], N = tokens.numel();
  const int32_t* tok = tokens.i();
  for (int64_t n = 0; n < N; ++n)
    if (tok[n] < 0 || tok[n] >= V)
      fail("embedding: token {} (at flat position {}) is outside the vocabulary [0, {}) (V = {})",
           tok[n], n, V, V);
  Shape ys = tokens.shape;
  ys.d[size_t(ys.rank)] = C;
  ++ys.rank;
  Var y = g.output(ys, any_grad(g, {table}));
  const Tensor t = g.input(tokens);
  if (g.on_cuda()) {
    if constexpr (kCudaBuilt) cuda::embedding_forward(g.cuda(), y.f(), t.i(), table.f(), N, C);
  } else {
    kern::embedding_forward(y.f(), tok, table.f(), N, C);
  }
  if (y.needs_grad())
    g.record([&g, t, table, y, N, V, C] {
      if (g.on_cuda()) {
        if constexpr (kCudaBuilt)
          cuda::embedding_backward(g.cuda(), g.grad(table).f(), g.grad(y).f(), t.i(), N, V, C);
      } else {
        kern::embedding_backward(g.grad(table).f(), g.grad(y).f(), t.i(), N, C);
      }
    });
  return y;
}

Var add_positional(Graph& g, Var x, Var pos) {
  ICL_ASSERT(x.shape().rank == 3 && pos.shape().rank == 2);
  const int64_t B = x.shape()[0], Tn = x.shape()[1], C = x.shape()[2], Tmax = pos.shape()[0];
  ICL_ASSERT(pos.shape()[1] == C);
  if (Tn > Tmax)
    fail("positional embedding: sequence length {} exceeds the {} positions of the table", Tn,
         Tmax);
  Var y = g.output_like(x, any_grad(g, {x, pos}));
  ICL_DISPATCH(g, add_positional_forward, y.f(), x.f(), pos.f(), B, Tn, C);
  if (y.needs_grad())
    g.record([&g, x, pos, y, B, Tn, C] {
      ICL_DISPATCH(g, add_positional_backward, x.needs_grad() ? g.grad(x).f() : nullptr,
                   pos.needs_grad() ? g.grad(pos).f() : nullptr, g.grad(y).f(), B, Tn, C);
    });
  return y;
}

}  // namespace icl::ops

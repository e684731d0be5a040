#pragma once
// Picking positions out of a sequence.
//   forward:  y[b, j, :] = x[b, offset + j·stride, :]      x [B, T, C], y [B, count, C]
//   backward: dx[b, offset + j·stride, :] += dy[b, j, :]   (positions are distinct: stride >= 1)
// Garg et al.'s read-out takes the predictions at the x tokens of x1, y1, x2, y2, ...: offset 0,
// stride 2, count K. Rows are copied in fixed blocks; each output row has one source row, so the
// backward has no collisions and needs no ordering.
#include <cstdint>

#include "core/blocks.h"
#include "core/cuda_context.h"
#include "core/graph.h"

namespace icl {

namespace kern {

template <class T>
void take_positions_forward(T* y, const T* x, int64_t B, int64_t Tn, int64_t C, int64_t offset,
                            int64_t stride, int64_t count) {
  for_blocks(B * count, 64, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / count, j = r % count;
      const T* src = x + (b * Tn + offset + j * stride) * C;
      T* dst = y + r * C;
      for (int64_t c = 0; c < C; ++c) dst[c] = src[c];
    }
  });
}

template <class T>
void take_positions_backward(T* dx, const T* dy, int64_t B, int64_t Tn, int64_t C, int64_t offset,
                             int64_t stride, int64_t count) {
  if (!dx) return;
  for_blocks(B * count, 64, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / count, j = r % count;
      T* dst = dx + (b * Tn + offset + j * stride) * C;
      const T* src = dy + r * C;
      for (int64_t c = 0; c < C; ++c) dst[c] += src[c];
    }
  });
}

// Garg et al.'s prompt encoding: xs [B, K, dx], ys [B, K, dy] with dy <= dx → tok [B, 2K, dx] with
// row 2k = x_k and row 2k+1 = (y_k, 0, ..., 0). Only prompt data passes through it (no gradient).
template <class T>
void interleave_forward(T* tok, const T* xs, const T* ys, int64_t B, int64_t K, int64_t dx,
                        int64_t dy) {
  for_blocks(B * K, 256, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      T* t = tok + 2 * r * dx;
      for (int64_t c = 0; c < dx; ++c) t[c] = xs[r * dx + c];
      for (int64_t c = 0; c < dx; ++c) t[dx + c] = c < dy ? ys[r * dy + c] : T(0);
    }
  });
}

}  // namespace kern

// The CUDA twins (kernels/*.cu): same math, layout and accumulation (+=) as kern::, on device
// pointers, enqueued on the context's stream. Defined only in CUDA builds; ops dispatch to them
// when their Graph is on a GPU.
namespace cuda {
void take_positions_forward(const CudaContext& ctx, float* y, const float* x, int64_t B, int64_t Tn,
                            int64_t C, int64_t offset, int64_t stride, int64_t count);
void take_positions_backward(const CudaContext& ctx, float* dx, const float* dy, int64_t B,
                             int64_t Tn, int64_t C, int64_t offset, int64_t stride, int64_t count);
void interleave_forward(const CudaContext& ctx, float* tok, const float* xs, const float* ys,
                        int64_t B, int64_t K, int64_t dx, int64_t dy);
}  // namespace cuda

namespace ops {
// x [B, T, C] → [B, count, C], row j = x[:, offset + j·stride, :]. Needs offset >= 0, stride >= 1,
// count >= 1 and offset + (count − 1)·stride < T; otherwise an icl::Error naming the values.
Var take_positions(Graph& g, Var x, int64_t offset, int64_t stride, int64_t count);
// The token sequence of vector prompts (kern::interleave_forward) from host xs and ys.
Var interleave(Graph& g, const Tensor& xs, const Tensor& ys);
}  // namespace ops

}  // namespace icl

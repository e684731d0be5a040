// Picking positions out of a sequence, and Garg et al.'s x/y token interleaving, on the GPU.
//
// All three are pure copies (or, for take_positions' backward, one += per element): every output
// element has exactly one source element, so one thread per output element, grid-stride, is the
// whole design. The backward writes each dx element from one dy element (positions are distinct),
// so there are no collisions and no ordering to keep; results equal the CPU's bit for bit.
#include <algorithm>

#include "core/cuda_check.h"
#include "core/cuda_launch.cuh"
#include "kernels/select.h"

namespace icl::cuda {

namespace {

// Element i = (b·count + j)·C + c of y comes from x[b, offset + j·stride, c].
__device__ int64_t source_index(int64_t i, int64_t Tn, int64_t C, int64_t offset, int64_t stride,
                                int64_t count) {
  const int64_t r = i / C, c = i - r * C;
  const int64_t b = r / count, j = r - b * count;
  return (b * Tn + offset + j * stride) * C + c;
}

__global__ void take_positions_forward_kernel(float* __restrict__ y, const float* __restrict__ x,
                                              int64_t total, int64_t Tn, int64_t C, int64_t offset,
                                              int64_t stride, int64_t count) {
  for (int64_t i = grid_start(); i < total; i += grid_stride())
    y[i] = x[source_index(i, Tn, C, offset, stride, count)];
}

__global__ void take_positions_backward_kernel(float* __restrict__ dx, const float* __restrict__ dy,
                                               int64_t total, int64_t Tn, int64_t C, int64_t offset,
                                               int64_t stride, int64_t count) {
  for (int64_t i = grid_start(); i < total; i += grid_stride())
    dx[source_index(i, Tn, C, offset, stride, count)] += dy[i];
}

// tok [B·K, 2, dx]: pair r, half h, column c; h = 0 is x_r, h = 1 is y_r padded with zeros.
__global__ void interleave_forward_kernel(float* __restrict__ tok, const float* __restrict__ xs,
                                          const float* __restrict__ ys, int64_t total, int64_t dx,
                                          int64_t dy) {
  for (int64_t i = grid_start(); i < total; i += grid_stride()) {
    const int64_t row = i / dx, c = i - row * dx;
    const int64_t r = row / 2;
    if (row % 2 == 0)
      tok[i] = xs[r * dx + c];
    else
      tok[i] = c < dy ? ys[r * dy + c] : 0.f;
  }
}

}  // namespace

void take_positions_forward(const CudaContext& ctx, float* y, const float* x, int64_t B, int64_t Tn,
                            int64_t C, int64_t offset, int64_t stride, int64_t count) {
  const int64_t total = B * count * C;
  if (total == 0) return;
  launch_elementwise(ctx, total, kIoMaxBlocks, take_positions_forward_kernel, y, x, total, Tn, C,
                     offset, stride, count);
}

void take_positions_backward(const CudaContext& ctx, float* dx, const float* dy, int64_t B,
                             int64_t Tn, int64_t C, int64_t offset, int64_t stride, int64_t count) {
  const int64_t total = B * count * C;
  if (!dx || total == 0) return;
  launch_elementwise(ctx, total, kIoMaxBlocks, take_positions_backward_kernel, dx, dy, total, Tn, C,
                     offset, stride, count);
}

void interleave_forward(const CudaContext& ctx, float* tok, const float* xs, const float* ys,
                        int64_t B, int64_t K, int64_t dx, int64_t dy) {
  const int64_t total = B * 2 * K * dx;
  if (total == 0) return;
  launch_elementwise(ctx, total, kIoMaxBlocks, interleave_forward_kernel, tok, xs, ys, total, dx,
                     dy);
}

}  // namespace icl::cuda

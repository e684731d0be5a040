// Token and positional embeddings on the GPU.
//
// The forwards and dx += dy are element-wise: one thread per output element, grid-stride.
//
// The token backward is a scatter-add where tokens repeat, and must sum every dtable element in
// token order without atomics. A block owns a tile of kEmbRows vocabulary rows × blockDim.x
// columns of dtable, held in shared memory; each thread owns one column of that tile and walks all
// N tokens in order, adding dy[n, c] into its column's row tokens[n] when that row is in the tile.
// No other thread touches the column, so no synchronisation is needed, every element sees the
// same sequence of fp32 additions as the CPU loop (bit-identical), and the blocks (column tiles ×
// vocabulary slices) give the parallelism. Shared memory turns the per-token read-modify-write,
// which is serial in n, into a fast one; the token reads are uniform across the block (broadcast).
//
// The positional backward: the thread owning dpos[t, c] adds dy[b, t, c] for b = 0..B-1 in order,
// in a register, like the CPU loop.
#include <algorithm>

#include "core/cuda_check.h"
#include "core/cuda_launch.cuh"
#include "kernels/embedding.h"

namespace icl::cuda {

namespace {

constexpr int kEmbCols = 128;  // columns per tile (the block width at most)
constexpr int kEmbRows = 32;  // vocabulary rows per tile: 32 × 128 floats = 16 KiB of shared memory

__global__ void embedding_forward_kernel(float* __restrict__ y, const int32_t* __restrict__ tokens,
                                         const float* __restrict__ table, int64_t total,
                                         int64_t C) {
  for (int64_t i = grid_start(); i < total; i += grid_stride()) {
    const int64_t n = i / C, c = i - n * C;
    y[i] = table[int64_t(tokens[n]) * C + c];
  }
}

__global__ void embedding_backward_kernel(float* __restrict__ dtable, const float* __restrict__ dy,
                                          const int32_t* __restrict__ tokens, int64_t N, int64_t V,
                                          int64_t C) {
  __shared__ float tile[kEmbRows][kEmbCols];
  const int col = threadIdx.x;
  const int64_t c = int64_t(blockIdx.x) * blockDim.x + col;
  if (c >= C) return;  // nothing here synchronises, so idle threads may leave
  for (int64_t v0 = int64_t(blockIdx.y) * kEmbRows; v0 < V; v0 += int64_t(gridDim.y) * kEmbRows) {
    const int64_t rows = V - v0 < kEmbRows ? V - v0 : kEmbRows;
    for (int64_t r = 0; r < rows; ++r) tile[r][col] = dtable[(v0 + r) * C + c];
    for (int64_t n = 0; n < N; ++n) {
      const int64_t r = int64_t(tokens[n]) - v0;
      if (r >= 0 && r < rows) tile[r][col] += dy[n * C + c];
    }
    for (int64_t r = 0; r < rows; ++r) dtable[(v0 + r) * C + c] = tile[r][col];
  }
}

// y may be x (in place): no __restrict__ on them.
__global__ void add_positional_forward_kernel(float* y, const float* x,
                                              const float* __restrict__ pos, int64_t total,
                                              int64_t Tn, int64_t C) {
  for (int64_t i = grid_start(); i < total; i += grid_stride()) {
    const int64_t r = i / C, c = i - r * C;
    y[i] = x[i] + pos[(r % Tn) * C + c];
  }
}

__global__ void add_inplace_kernel(float* __restrict__ dx, const float* __restrict__ dy,
                                   int64_t total) {
  for (int64_t i = grid_start(); i < total; i += grid_stride()) dx[i] += dy[i];
}

// i = t·C + c over the first Tn rows of dpos; dy[b, t, c] is at b·Tn·C + i.
__global__ void positional_dpos_kernel(float* __restrict__ dpos, const float* __restrict__ dy,
                                       int64_t B, int64_t TC) {
  for (int64_t i = grid_start(); i < TC; i += grid_stride()) {
    float acc = dpos[i];
    for (int64_t b = 0; b < B; ++b) acc += dy[b * TC + i];
    dpos[i] = acc;
  }
}

}  // namespace

void embedding_forward(const CudaContext& ctx, float* y, const int32_t* tokens, const float* table,
                       int64_t N, int64_t C) {
  const int64_t total = N * C;
  if (total == 0) return;
  launch_elementwise(ctx, total, kIoMaxBlocks, embedding_forward_kernel, y, tokens, table, total,
                     C);
}

void embedding_backward(const CudaContext& ctx, float* dtable, const float* dy,
                        const int32_t* tokens, int64_t N, int64_t V, int64_t C) {
  if (!dtable || N == 0 || V == 0 || C == 0) return;
  // Narrow tables get a narrower block (a multiple of the warp size) instead of idle threads.
  const int width = int(std::min<int64_t>(kEmbCols, ceil_div(C, kWarp) * kWarp));
  const int64_t col_tiles = ceil_div(C, width), row_tiles = ceil_div(V, kEmbRows);
  const dim3 grid(unsigned(col_tiles), unsigned(std::min<int64_t>(row_tiles, 65535)));
  embedding_backward_kernel<<<grid, width, 0, ctx.stream()>>>(dtable, dy, tokens, N, V, C);
  KERNEL_CHECK();
}

void add_positional_forward(const CudaContext& ctx, float* y, const float* x, const float* pos,
                            int64_t B, int64_t Tn, int64_t C) {
  const int64_t total = B * Tn * C;
  if (total == 0) return;
  launch_elementwise(ctx, total, kIoMaxBlocks, add_positional_forward_kernel, y, x, pos, total, Tn,
                     C);
}

void add_positional_backward(const CudaContext& ctx, float* dx, float* dpos, const float* dy,
                             int64_t B, int64_t Tn, int64_t C) {
  const int64_t total = B * Tn * C;
  if (total == 0) return;
  if (dx) {
    launch_elementwise(ctx, total, kIoMaxBlocks, add_inplace_kernel, dx, dy, total);
  }
  if (dpos) {
    launch_elementwise(ctx, Tn * C, kIoMaxBlocks, positional_dpos_kernel, dpos, dy, B, Tn * C);
  }
}

}  // namespace icl::cuda

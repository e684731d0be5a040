#pragma once
// The launch shapes and the checked launches every CUDA kernel file uses (included by .cu files
// only), so that a warp, a block size, a grid cap or a launch check is written once:
//
//   kWarp, ceil_div(n, d)            threads of a warp; blocks (or tiles) that cover n
//   kElementwiseThreads, elementwise_blocks(n[, cap]), grid_start(), grid_stride()
//                                    the grid-stride kernels: memory-bound, 64-bit indices, 256
//                                    threads a block, a capped grid (their results do not depend
//                                    on it)
//   launch_elementwise(ctx, n[, cap], kernel, args...)
//                                    such a kernel over n elements on ctx's stream: nothing for
//                                    n <= 0, else the launch and KERNEL_CHECK()
//
// The warp-per-row launch of the norms and the column sums are cuda_reduce.cuh's. What stays in a
// kernel's own file is that kernel's design, not a launch helper: attention's tiles and block
// sizes, the recurrences' block per (b, h) (recurrence.cuh), the RNN cells' block per batch row
// (rnn_cells.cuh), the embedding backward's vocabulary tiles, the losses' one-block reductions.
#include <algorithm>
#include <cstdint>

#include "core/cuda_check.h"
#include "core/cuda_context.h"

namespace icl::cuda {

constexpr int kWarp = 32;

constexpr int64_t ceil_div(int64_t n, int64_t d) { return (n + d - 1) / d; }

constexpr int kElementwiseThreads = 256;
constexpr int64_t kElementwiseMaxBlocks = 8192;
// The grid cap the embedding, selection, loss and AdamW kernels and the device fill were written
// with; kept so that their launches stay as they were (their results do not depend on it either).
constexpr int64_t kIoMaxBlocks = 4096;

inline unsigned elementwise_blocks(int64_t n, int64_t max_blocks = kElementwiseMaxBlocks) {
  return unsigned(std::min<int64_t>(ceil_div(n, kElementwiseThreads), max_blocks));
}

__device__ inline int64_t grid_start() { return blockIdx.x * int64_t(blockDim.x) + threadIdx.x; }
__device__ inline int64_t grid_stride() { return int64_t(gridDim.x) * blockDim.x; }

template <class... Params, class... Args>
void launch_elementwise(const CudaContext& ctx, int64_t n, int64_t max_blocks,
                        void (*kernel)(Params...), Args... args) {
  if (n <= 0) return;
  kernel<<<elementwise_blocks(n, max_blocks), kElementwiseThreads, 0, ctx.stream()>>>(args...);
  KERNEL_CHECK();
}

template <class... Params, class... Args>
void launch_elementwise(const CudaContext& ctx, int64_t n, void (*kernel)(Params...),
                        Args... args) {
  launch_elementwise(ctx, n, kElementwiseMaxBlocks, kernel, args...);
}

}  // namespace icl::cuda

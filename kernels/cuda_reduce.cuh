#pragma once
// Deterministic reductions shared by the CUDA kernels (included by .cu files only). None uses
// atomics, and every order of summation depends only on the shapes, so reruns are bit-identical.
//
//   warp_sum(v)          butterfly of shuffles: every lane ends with the same bits
//   row_blocks(N)        blocks of kRowsPerBlock warps for kernels with one warp per row
//   launch_rows(...)     such a kernel over N rows: nothing for N <= 0, else the launch and
//                        KERNEL_CHECK() (the warp-per-row twin of cuda_launch.cuh's
//                        launch_elementwise)
//   block_sum(v, sh)     fixed halving tree over a power-of-two block; valid in thread 0
//   column_sums(...)     out_t[c] += Σ_r term_t(r, c) over the rows of an [N, C] array, for up to
//                        Terms outputs at once (bias gradients, dγ and dβ of the norms)
//
// column_sums works in two fixed stages: blocks of 32 columns × 8 row lanes sum fixed chunks of
// rows (lane ty takes rows ty, ty + 8, …; the 8 lane sums are added in lane order through shared
// memory), then one thread per column adds the chunk partials (kept in ctx.workspace()) in chunk
// order. With a single chunk the first stage adds straight into the outputs. Chunks are 256 rows,
// doubled only while there would be more than 4096 of them or their partials would not fit the
// workspace.
#include <cstdint>

#include "core/cuda_check.h"
#include "core/cuda_context.h"
#include "core/cuda_launch.cuh"

namespace icl::cuda::reduce {

__device__ inline float warp_sum(float v) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2)
    v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

// Warp-per-row kernels (the norms): kRowsPerBlock warps, one row each, share a block.
constexpr int kRowsPerBlock = 8;
inline unsigned row_blocks(int64_t N) { return unsigned(ceil_div(N, kRowsPerBlock)); }

template <class... Params, class... Args>
void launch_rows(const CudaContext& ctx, int64_t N, void (*kernel)(Params...), Args... args) {
  if (N <= 0) return;
  kernel<<<row_blocks(N), kRowsPerBlock * kWarp, 0, ctx.stream()>>>(args...);
  KERNEL_CHECK();
}

template <class T>
__device__ T block_sum(T v, T* sh) {
  sh[threadIdx.x] = v;
  __syncthreads();
  for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) sh[threadIdx.x] += sh[threadIdx.x + s];
    __syncthreads();
  }
  return sh[0];
}

constexpr int kCols = 32;             // columns per block of the first stage (a warp)
constexpr int kRowLanes = 8;          // rows summed side by side in each such block
constexpr int64_t kChunkRows = 256;   // rows per partial sum, doubled only for very large N
constexpr int64_t kMaxChunks = 4096;  // bounds the grid's y size and the final per-column loop

// The outputs of a column sum; a null pointer is an output nobody wants.
template <int Terms>
struct Columns {
  float* out[Terms];
};

// Stage 1. Term is a functor: term(r, c, t[Terms]) writes row r's terms for column c.
template <int Terms, class Term>
__global__ void column_partial_kernel(Columns<Terms> cols, float* partial, Term term, int64_t N,
                                      int64_t C, int64_t rows) {
  __shared__ float lanes[Terms][kRowLanes][kCols];
  const int64_t c = blockIdx.x * int64_t(kCols) + threadIdx.x;
  const int64_t r0 = blockIdx.y * rows, r1 = min(N, r0 + rows);
  float acc[Terms] = {};
  if (c < C)
    for (int64_t r = r0 + threadIdx.y; r < r1; r += kRowLanes) {
      float t[Terms];
      term(r, c, t);
      for (int k = 0; k < Terms; ++k) acc[k] += t[k];
    }
  for (int k = 0; k < Terms; ++k) lanes[k][threadIdx.y][threadIdx.x] = acc[k];
  __syncthreads();
  if (threadIdx.y != 0 || c >= C) return;
  for (int k = 0; k < Terms; ++k) {
    float s = lanes[k][0][threadIdx.x];
    for (int j = 1; j < kRowLanes; ++j) s += lanes[k][j][threadIdx.x];
    if (gridDim.y == 1) {
      if (cols.out[k]) cols.out[k][c] += s;
    } else {
      partial[(int64_t(k) * gridDim.y + blockIdx.y) * C + c] = s;
    }
  }
}

// Stage 2: out_t[c] += Σ_chunk partial[t, chunk, c], chunks in order.
template <int Terms>
__global__ void column_finish_kernel(Columns<Terms> cols, const float* partial, int64_t chunks,
                                     int64_t C) {
  const int64_t c = grid_start();  // one thread per column
  if (c >= C) return;
  for (int k = 0; k < Terms; ++k) {
    float s = 0.0f;
    for (int64_t j = 0; j < chunks; ++j) s += partial[(k * chunks + j) * C + c];
    if (cols.out[k]) cols.out[k][c] += s;
  }
}

template <int Terms, class Term>
void column_sums(const CudaContext& ctx, Columns<Terms> cols, Term term, int64_t N, int64_t C) {
  if (N <= 0 || C <= 0) return;
  int64_t rows = kChunkRows;
  auto chunks = [&] { return ceil_div(N, rows); };
  while (chunks() > 1 && (chunks() > kMaxChunks ||
                          uint64_t(Terms * chunks() * C) * sizeof(float) > ctx.workspace_bytes()))
    rows *= 2;
  const int64_t nchunks = chunks();
  float* partial = static_cast<float*>(ctx.workspace());
  const dim3 grid(unsigned(ceil_div(C, kCols)), unsigned(nchunks));
  column_partial_kernel<Terms>
      <<<grid, dim3(kCols, kRowLanes), 0, ctx.stream()>>>(cols, partial, term, N, C, rows);
  KERNEL_CHECK();
  if (nchunks > 1) {
    // One thread per column in blocks of the elementwise size (not a grid-stride loop: no cap).
    column_finish_kernel<Terms>
        <<<unsigned(ceil_div(C, kElementwiseThreads)), kElementwiseThreads, 0, ctx.stream()>>>(
            cols, partial, nchunks, C);
    KERNEL_CHECK();
  }
}

}  // namespace icl::cuda::reduce

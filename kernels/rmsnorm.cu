// CUDA twin of RMSNorm. Rows are independent and short (the model width), so one warp owns a
// row: each lane walks the columns lane, lane + 32, … (coalesced), keeps its own running sum, and
// the warp combines the sums with a butterfly of shuffles, a fixed order that leaves the same bits
// in every lane. The output pass re-reads the row, which is still in L1/L2. Eight warps (rows)
// share a block.
// dγ is a column sum over all rows, done without atomics in two fixed stages: blocks of 32
// columns × 8 row lanes sum fixed chunks of rows (lanes combined in order through shared memory)
// into scratch in ctx.workspace(), then one thread per column adds the chunk partials in chunk
// order. Chunk boundaries depend only on the shape, so reruns are bit-identical.
#include "core/cuda_check.h"
#include "kernels/rmsnorm.h"

namespace icl::cuda {

namespace {

constexpr int kWarp = 32;
constexpr int kRowsPerBlock = 8;      // warps (rows) per block of the row kernels
constexpr int kCols = 32;             // columns per block of the dγ reduction
constexpr int kRowLanes = 8;          // rows summed side by side in each such block
constexpr int64_t kChunkRows = 256;   // rows per partial sum, doubled only for very large N
constexpr int64_t kMaxChunks = 4096;  // bounds the grid's y size and the final per-column loop

__device__ float warp_sum(float v) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2)
    v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

unsigned row_blocks(int64_t N) { return unsigned((N + kRowsPerBlock - 1) / kRowsPerBlock); }

// With kAdd the row is first formed as s = a + b (written out, then re-read by the same lane);
// without it the row is a itself and s, b are unused.
template <bool kAdd>
__global__ void rmsnorm_forward_kernel(float* s, float* y, float* rstd, const float* a,
                                       const float* b, const float* gamma, int64_t N, int64_t C,
                                       float eps) {
  const int lane = threadIdx.x % kWarp;
  const int64_t n = blockIdx.x * int64_t(kRowsPerBlock) + threadIdx.x / kWarp;
  if (n >= N) return;  // the whole warp leaves together: no shuffle is left half-populated
  const float* xr = a + n * C;
  float ss = 0.0f;
  if constexpr (kAdd) {
    const float *ar = a + n * C, *br = b + n * C;
    float* sr = s + n * C;
    for (int64_t c = lane; c < C; c += kWarp) {
      const float v = ar[c] + br[c];
      sr[c] = v;
      ss += v * v;
    }
    xr = sr;
  } else {
    for (int64_t c = lane; c < C; c += kWarp) ss += xr[c] * xr[c];
  }
  const float r = 1.0f / sqrtf(warp_sum(ss) / float(C) + eps);
  float* yr = y + n * C;
  for (int64_t c = lane; c < C; c += kWarp) yr[c] = xr[c] * r * gamma[c];
  if (lane == 0 && rstd) rstd[n] = r;
}

__global__ void rmsnorm_backward_dx_kernel(float* dx, const float* dy, const float* x,
                                           const float* gamma, const float* rstd, int64_t N,
                                           int64_t C) {
  const int lane = threadIdx.x % kWarp;
  const int64_t n = blockIdx.x * int64_t(kRowsPerBlock) + threadIdx.x / kWarp;
  if (n >= N) return;
  const float *xr = x + n * C, *dyr = dy + n * C;
  float* dxr = dx + n * C;
  const float r = rstd[n];
  float s = 0.0f;  // Σ dŷ·x̂
  for (int64_t c = lane; c < C; c += kWarp) s += dyr[c] * gamma[c] * xr[c] * r;
  s = warp_sum(s) / float(C);
  for (int64_t c = lane; c < C; c += kWarp) dxr[c] += r * (dyr[c] * gamma[c] - xr[c] * r * s);
}

// Stage 1 of dγ: block (column tile, chunk) sums rows [chunk·rows, …) of its 32 columns; row lane
// ty takes rows ty, ty + 8, … and the 8 lane sums are added in lane order. With a single chunk
// the sum goes straight into dγ; otherwise into partial[chunk, c].
__global__ void rmsnorm_dgamma_partial_kernel(float* dgamma, float* partial, const float* dy,
                                              const float* x, const float* rstd, int64_t N,
                                              int64_t C, int64_t rows) {
  __shared__ float lanes[kRowLanes][kCols];
  const int64_t c = blockIdx.x * int64_t(kCols) + threadIdx.x;
  const int64_t r0 = blockIdx.y * rows, r1 = min(N, r0 + rows);
  float g = 0.0f;
  if (c < C)
    for (int64_t r = r0 + threadIdx.y; r < r1; r += kRowLanes)
      g += dy[r * C + c] * x[r * C + c] * rstd[r];
  lanes[threadIdx.y][threadIdx.x] = g;
  __syncthreads();
  if (threadIdx.y == 0 && c < C) {
    float sg = lanes[0][threadIdx.x];
    for (int j = 1; j < kRowLanes; ++j) sg += lanes[j][threadIdx.x];
    if (gridDim.y == 1)
      dgamma[c] += sg;
    else
      partial[blockIdx.y * C + c] = sg;
  }
}

// Stage 2: dγ[c] += Σ_chunk partial[chunk, c], chunks in order.
__global__ void rmsnorm_dgamma_finish_kernel(float* dgamma, const float* partial, int64_t chunks,
                                             int64_t C) {
  const int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (c >= C) return;
  float sg = 0.0f;
  for (int64_t k = 0; k < chunks; ++k) sg += partial[k * C + c];
  dgamma[c] += sg;
}

}  // namespace

void rmsnorm_forward(const CudaContext& ctx, float* y, float* rstd, const float* x,
                     const float* gamma, int64_t N, int64_t C, float eps) {
  if (N <= 0 || C <= 0) return;
  rmsnorm_forward_kernel<false><<<row_blocks(N), kRowsPerBlock * kWarp, 0, ctx.stream()>>>(
      nullptr, y, rstd, x, nullptr, gamma, N, C, eps);
  KERNEL_CHECK();
}

void add_rmsnorm_forward(const CudaContext& ctx, float* s, float* y, float* rstd, const float* a,
                         const float* b, const float* gamma, int64_t N, int64_t C, float eps) {
  if (N <= 0 || C <= 0) return;
  rmsnorm_forward_kernel<true><<<row_blocks(N), kRowsPerBlock * kWarp, 0, ctx.stream()>>>(
      s, y, rstd, a, b, gamma, N, C, eps);
  KERNEL_CHECK();
}

void rmsnorm_backward(const CudaContext& ctx, float* dx, float* dgamma, const float* dy,
                      const float* x, const float* gamma, const float* rstd, int64_t N, int64_t C) {
  if (N <= 0 || C <= 0) return;
  if (dx) {
    rmsnorm_backward_dx_kernel<<<row_blocks(N), kRowsPerBlock * kWarp, 0, ctx.stream()>>>(
        dx, dy, x, gamma, rstd, N, C);
    KERNEL_CHECK();
  }
  if (!dgamma) return;
  // Rows per chunk depend only on the shape (and the fixed workspace size).
  int64_t rows = kChunkRows;
  auto chunks = [&] { return (N + rows - 1) / rows; };
  while (chunks() > 1 &&
         (chunks() > kMaxChunks || uint64_t(chunks() * C) * sizeof(float) > ctx.workspace_bytes()))
    rows *= 2;
  const int64_t nchunks = chunks();
  float* partial = static_cast<float*>(ctx.workspace());
  const dim3 grid(unsigned((C + kCols - 1) / kCols), unsigned(nchunks));
  rmsnorm_dgamma_partial_kernel<<<grid, dim3(kCols, kRowLanes), 0, ctx.stream()>>>(
      dgamma, partial, dy, x, rstd, N, C, rows);
  KERNEL_CHECK();
  if (nchunks > 1) {
    constexpr int kThreads = 256;
    rmsnorm_dgamma_finish_kernel<<<unsigned((C + kThreads - 1) / kThreads), kThreads, 0,
                                   ctx.stream()>>>(dgamma, partial, nchunks, C);
    KERNEL_CHECK();
  }
}

}  // namespace icl::cuda

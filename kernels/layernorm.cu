// CUDA twin of LayerNorm. Rows are independent and short (the model width), so one warp owns a
// row: each lane walks the columns lane, lane + 32, … (coalesced), keeps its own running sums,
// and the warp combines them with a butterfly of shuffles, a fixed order that leaves the same
// bits in every lane. Statistics use two passes (mean, then Σ(x − μ)²) as on the CPU; the later
// passes re-read the row, which is still in L1/L2. Eight warps (rows) share a block.
// dγ/dβ are column sums over all rows, done without atomics in two fixed stages: blocks of 32
// columns × 8 row lanes sum fixed chunks of rows (lanes combined in order through shared memory)
// into scratch in ctx.workspace(), then one thread per column adds the chunk partials in chunk
// order. Chunk boundaries depend only on the shape, so reruns are bit-identical.
#include "core/cuda_check.h"
#include "kernels/layernorm.h"

namespace icl::cuda {

namespace {

constexpr int kWarp = 32;
constexpr int kRowsPerBlock = 8;      // warps (rows) per block of the row kernels
constexpr int kCols = 32;             // columns per block of the parameter-gradient reduction
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
__global__ void layernorm_forward_kernel(float* s, float* y, float* mean, float* rstd,
                                         const float* a, const float* b, const float* gamma,
                                         const float* beta, int64_t N, int64_t C, float eps) {
  const int lane = threadIdx.x % kWarp;
  const int64_t n = blockIdx.x * int64_t(kRowsPerBlock) + threadIdx.x / kWarp;
  if (n >= N) return;  // the whole warp leaves together: no shuffle is left half-populated
  const float* xr = a + n * C;
  float sum = 0.0f;
  if constexpr (kAdd) {
    const float *ar = a + n * C, *br = b + n * C;
    float* sr = s + n * C;
    for (int64_t c = lane; c < C; c += kWarp) {
      const float v = ar[c] + br[c];
      sr[c] = v;
      sum += v;
    }
    xr = sr;
  } else {
    for (int64_t c = lane; c < C; c += kWarp) sum += xr[c];
  }
  const float m = warp_sum(sum) / float(C);
  float var = 0.0f;
  for (int64_t c = lane; c < C; c += kWarp) {
    const float d = xr[c] - m;
    var += d * d;
  }
  const float r = 1.0f / sqrtf(warp_sum(var) / float(C) + eps);
  float* yr = y + n * C;
  for (int64_t c = lane; c < C; c += kWarp) yr[c] = (xr[c] - m) * r * gamma[c] + beta[c];
  if (lane == 0) {
    if (mean) mean[n] = m;
    if (rstd) rstd[n] = r;
  }
}

__global__ void layernorm_backward_dx_kernel(float* dx, const float* dy, const float* x,
                                             const float* gamma, const float* mean,
                                             const float* rstd, int64_t N, int64_t C) {
  const int lane = threadIdx.x % kWarp;
  const int64_t n = blockIdx.x * int64_t(kRowsPerBlock) + threadIdx.x / kWarp;
  if (n >= N) return;
  const float *xr = x + n * C, *dyr = dy + n * C;
  float* dxr = dx + n * C;
  const float m = mean[n], r = rstd[n];
  float s1 = 0.0f, s2 = 0.0f;  // Σ dŷ, Σ dŷ·x̂
  for (int64_t c = lane; c < C; c += kWarp) {
    const float dyh = dyr[c] * gamma[c];
    s1 += dyh;
    s2 += dyh * (xr[c] - m) * r;
  }
  s1 = warp_sum(s1) / float(C);
  s2 = warp_sum(s2) / float(C);
  for (int64_t c = lane; c < C; c += kWarp)
    dxr[c] += r * (dyr[c] * gamma[c] - s1 - (xr[c] - m) * r * s2);
}

// Stage 1 of dγ/dβ: block (column tile, chunk) sums rows [chunk·rows, …) of its 32 columns; row
// lane ty takes rows ty, ty + 8, … and the 8 lane sums are added in lane order. With a single
// chunk the sums go straight into dγ/dβ; otherwise into partial[chunk, c] (dγ) and
// partial[chunks + chunk, c] (dβ).
__global__ void layernorm_param_partial_kernel(float* dgamma, float* dbeta, float* partial,
                                               const float* dy, const float* x, const float* mean,
                                               const float* rstd, int64_t N, int64_t C,
                                               int64_t rows) {
  __shared__ float lane_g[kRowLanes][kCols], lane_b[kRowLanes][kCols];
  const int64_t c = blockIdx.x * int64_t(kCols) + threadIdx.x;
  const int64_t r0 = blockIdx.y * rows, r1 = min(N, r0 + rows);
  float g = 0.0f, bsum = 0.0f;
  if (c < C)
    for (int64_t r = r0 + threadIdx.y; r < r1; r += kRowLanes) {
      const float d = dy[r * C + c];
      g += d * (x[r * C + c] - mean[r]) * rstd[r];
      bsum += d;
    }
  lane_g[threadIdx.y][threadIdx.x] = g;
  lane_b[threadIdx.y][threadIdx.x] = bsum;
  __syncthreads();
  if (threadIdx.y == 0 && c < C) {
    float sg = lane_g[0][threadIdx.x], sb = lane_b[0][threadIdx.x];
    for (int j = 1; j < kRowLanes; ++j) {
      sg += lane_g[j][threadIdx.x];
      sb += lane_b[j][threadIdx.x];
    }
    if (gridDim.y == 1) {
      if (dgamma) dgamma[c] += sg;
      if (dbeta) dbeta[c] += sb;
    } else {
      partial[blockIdx.y * C + c] = sg;
      partial[(gridDim.y + blockIdx.y) * int64_t(C) + c] = sb;
    }
  }
}

// Stage 2: dγ[c] += Σ_chunk partial[chunk, c] (and dβ likewise), chunks in order.
__global__ void layernorm_param_finish_kernel(float* dgamma, float* dbeta, const float* partial,
                                              int64_t chunks, int64_t C) {
  const int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (c >= C) return;
  float sg = 0.0f, sb = 0.0f;
  for (int64_t k = 0; k < chunks; ++k) {
    sg += partial[k * C + c];
    sb += partial[(chunks + k) * C + c];
  }
  if (dgamma) dgamma[c] += sg;
  if (dbeta) dbeta[c] += sb;
}

}  // namespace

void layernorm_forward(const CudaContext& ctx, float* y, float* mean, float* rstd, const float* x,
                       const float* gamma, const float* beta, int64_t N, int64_t C, float eps) {
  if (N <= 0 || C <= 0) return;
  layernorm_forward_kernel<false><<<row_blocks(N), kRowsPerBlock * kWarp, 0, ctx.stream()>>>(
      nullptr, y, mean, rstd, x, nullptr, gamma, beta, N, C, eps);
  KERNEL_CHECK();
}

void add_layernorm_forward(const CudaContext& ctx, float* s, float* y, float* mean, float* rstd,
                           const float* a, const float* b, const float* gamma, const float* beta,
                           int64_t N, int64_t C, float eps) {
  if (N <= 0 || C <= 0) return;
  layernorm_forward_kernel<true><<<row_blocks(N), kRowsPerBlock * kWarp, 0, ctx.stream()>>>(
      s, y, mean, rstd, a, b, gamma, beta, N, C, eps);
  KERNEL_CHECK();
}

void layernorm_backward(const CudaContext& ctx, float* dx, float* dgamma, float* dbeta,
                        const float* dy, const float* x, const float* gamma, const float* mean,
                        const float* rstd, int64_t N, int64_t C) {
  if (N <= 0 || C <= 0) return;
  if (dx) {
    layernorm_backward_dx_kernel<<<row_blocks(N), kRowsPerBlock * kWarp, 0, ctx.stream()>>>(
        dx, dy, x, gamma, mean, rstd, N, C);
    KERNEL_CHECK();
  }
  if (!dgamma && !dbeta) return;
  // Rows per chunk depend only on the shape (and the fixed workspace size): two partials per
  // chunk and column must fit the workspace.
  int64_t rows = kChunkRows;
  auto chunks = [&] { return (N + rows - 1) / rows; };
  while (chunks() > 1 && (chunks() > kMaxChunks ||
                          uint64_t(2 * chunks() * C) * sizeof(float) > ctx.workspace_bytes()))
    rows *= 2;
  const int64_t nchunks = chunks();
  float* partial = static_cast<float*>(ctx.workspace());
  const dim3 grid(unsigned((C + kCols - 1) / kCols), unsigned(nchunks));
  layernorm_param_partial_kernel<<<grid, dim3(kCols, kRowLanes), 0, ctx.stream()>>>(
      dgamma, dbeta, partial, dy, x, mean, rstd, N, C, rows);
  KERNEL_CHECK();
  if (nchunks > 1) {
    constexpr int kThreads = 256;
    layernorm_param_finish_kernel<<<unsigned((C + kThreads - 1) / kThreads), kThreads, 0,
                                    ctx.stream()>>>(dgamma, dbeta, partial, nchunks, C);
    KERNEL_CHECK();
  }
}

}  // namespace icl::cuda

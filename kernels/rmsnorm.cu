// CUDA twin of RMSNorm. Rows are independent and short (the model width), so one warp owns a
// row: each lane walks the columns lane, lane + 32, … (coalesced), keeps its own running sum, and
// the warp combines the sums with a butterfly of shuffles, a fixed order that leaves the same bits
// in every lane. The output pass re-reads the row, which is still in L1/L2. Eight warps (rows)
// share a block.
// dγ is a column sum over all rows (kernels/cuda_reduce.cuh: two fixed stages, no atomics,
// bit-identical reruns).
#include "core/cuda_check.h"
#include "kernels/cuda_reduce.cuh"
#include "kernels/rmsnorm.h"

namespace icl::cuda {

namespace {

using reduce::kRowsPerBlock;
using reduce::launch_rows;
using reduce::warp_sum;

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

// One row's term of dγ[c] = Σ_n dy[n, c]·x̂[n, c].
struct GammaGradTerm {
  const float *dy, *x, *rstd;
  int64_t C;
  __device__ void operator()(int64_t r, int64_t c, float* t) const {
    t[0] = dy[r * C + c] * x[r * C + c] * rstd[r];
  }
};

}  // namespace

void rmsnorm_forward(const CudaContext& ctx, float* y, float* rstd, const float* x,
                     const float* gamma, int64_t N, int64_t C, float eps) {
  if (N <= 0 || C <= 0) return;
  launch_rows(ctx, N, rmsnorm_forward_kernel<false>, nullptr, y, rstd, x, nullptr, gamma, N, C,
              eps);
}

void add_rmsnorm_forward(const CudaContext& ctx, float* s, float* y, float* rstd, const float* a,
                         const float* b, const float* gamma, int64_t N, int64_t C, float eps) {
  if (N <= 0 || C <= 0) return;
  launch_rows(ctx, N, rmsnorm_forward_kernel<true>, s, y, rstd, a, b, gamma, N, C, eps);
}

void rmsnorm_backward(const CudaContext& ctx, float* dx, float* dgamma, const float* dy,
                      const float* x, const float* gamma, const float* rstd, int64_t N, int64_t C) {
  if (N <= 0 || C <= 0) return;
  if (dx) {
    launch_rows(ctx, N, rmsnorm_backward_dx_kernel, dx, dy, x, gamma, rstd, N, C);
  }
  if (!dgamma) return;
  reduce::column_sums<1>(ctx, {{dgamma}}, GammaGradTerm{dy, x, rstd, C}, N, C);
}

}  // namespace icl::cuda

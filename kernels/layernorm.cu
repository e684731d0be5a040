// CUDA twin of LayerNorm. Rows are independent and short (the model width), so one warp owns a
// row: each lane walks the columns lane, lane + 32, … (coalesced), keeps its own running sums,
// and the warp combines them with a butterfly of shuffles, a fixed order that leaves the same
// bits in every lane. Statistics use two passes (mean, then Σ(x − μ)²) as on the CPU; the later
// passes re-read the row, which is still in L1/L2. Eight warps (rows) share a block.
// dγ/dβ are column sums over all rows (kernels/cuda_reduce.cuh: two fixed stages, no atomics,
// bit-identical reruns).
#include "core/cuda_check.h"
#include "kernels/cuda_reduce.cuh"
#include "kernels/layernorm.h"

namespace icl::cuda {

namespace {

using reduce::kRowsPerBlock;
using reduce::launch_rows;
using reduce::warp_sum;

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

// One row's terms of dγ[c] = Σ_n dy[n, c]·x̂[n, c] and dβ[c] = Σ_n dy[n, c].
struct ParamGradTerms {
  const float *dy, *x, *mean, *rstd;
  int64_t C;
  __device__ void operator()(int64_t r, int64_t c, float* t) const {
    const float d = dy[r * C + c];
    t[0] = d * (x[r * C + c] - mean[r]) * rstd[r];
    t[1] = d;
  }
};

}  // namespace

void layernorm_forward(const CudaContext& ctx, float* y, float* mean, float* rstd, const float* x,
                       const float* gamma, const float* beta, int64_t N, int64_t C, float eps) {
  if (N <= 0 || C <= 0) return;
  launch_rows(ctx, N, layernorm_forward_kernel<false>, nullptr, y, mean, rstd, x, nullptr, gamma,
              beta, N, C, eps);
}

void add_layernorm_forward(const CudaContext& ctx, float* s, float* y, float* mean, float* rstd,
                           const float* a, const float* b, const float* gamma, const float* beta,
                           int64_t N, int64_t C, float eps) {
  if (N <= 0 || C <= 0) return;
  launch_rows(ctx, N, layernorm_forward_kernel<true>, s, y, mean, rstd, a, b, gamma, beta, N, C,
              eps);
}

void layernorm_backward(const CudaContext& ctx, float* dx, float* dgamma, float* dbeta,
                        const float* dy, const float* x, const float* gamma, const float* mean,
                        const float* rstd, int64_t N, int64_t C) {
  if (N <= 0 || C <= 0) return;
  if (dx) {
    launch_rows(ctx, N, layernorm_backward_dx_kernel, dx, dy, x, gamma, mean, rstd, N, C);
  }
  if (!dgamma && !dbeta) return;
  reduce::column_sums<2>(ctx, {{dgamma, dbeta}}, ParamGradTerms{dy, x, mean, rstd, C}, N, C);
}

}  // namespace icl::cuda

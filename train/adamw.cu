// Gradient norm and AdamW over the flat parameter arrays of a store on the GPU.
//
// grad_norm: Σ g² over up to ~10⁸ elements is split into kNormBlocks fixed contiguous chunks, one
// block each (chunk = ⌈n / kNormBlocks⌉, so the split depends only on n, never on the SM count).
// Thread t of a block sums the chunk's elements t, t + blockDim, ... in fp64 (g² of a float is
// exact in fp64), a fixed halving tree combines the threads into partials[block], and a second,
// one-block kernel combines the partials in a fixed tree and writes the square root. Reruns are
// bit-identical; the order differs from the CPU's serial sum only at fp64 rounding level.
//
// adamw_update: element-wise, one thread per element, grid-stride. Each thread computes the few
// scalar coefficients itself from the device StepScalars, norm and loss (two pow and a sqrt in
// fp64, once per thread, not per element): that costs less than a separate kernel plus a round
// trip through the workspace, and keeps the update a single launch. The coefficients follow
// kern::adamw_update and clip_grad_norm: fp64, cast to float. The element-wise arithmetic uses
// __fmul_rn & co. because the CPU build forbids FMA contraction; nvcc would otherwise fuse, and
// the result would round differently. A non-finite norm or loss makes every thread return
// before touching anything.

#include <algorithm>
#include <cmath>

#include "core/cuda_check.h"
#include "core/cuda_launch.cuh"
#include "kernels/cuda_reduce.cuh"
#include "train/adamw.h"

namespace icl::cuda {

namespace {

constexpr int kNormThreads = 256;  // per block of the partial sums; a power of two
static_assert((kNormBlocks & (kNormBlocks - 1)) == 0 && kNormBlocks <= 1024,
              "the final tree needs one thread per partial and a power of two");

using reduce::block_sum;

__global__ void grad_norm_partials_kernel(double* __restrict__ partials,
                                          const float* __restrict__ g, int64_t n) {
  __shared__ double sh[kNormThreads];
  const int64_t chunk = (n + kNormBlocks - 1) / kNormBlocks;
  const int64_t begin = int64_t(blockIdx.x) * chunk;
  const int64_t end = begin + chunk < n ? begin + chunk : n;
  double s = 0;
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
    const double x = g[i];
    s += x * x;
  }
  s = block_sum(s, sh);
  if (threadIdx.x == 0) partials[blockIdx.x] = s;
}

__global__ void grad_norm_final_kernel(double* norm, const double* __restrict__ partials) {
  __shared__ double sh[kNormBlocks];
  const double s = block_sum(partials[threadIdx.x], sh);
  if (threadIdx.x == 0) norm[0] = sqrt(s);
}

__global__ void adamw_kernel(float* __restrict__ value, float* __restrict__ grad,
                             float* __restrict__ m, float* __restrict__ v,
                             const uint8_t* __restrict__ decay, int64_t n, const StepScalars* s,
                             const double* norm, const float* loss, double beta1, double beta2,
                             double eps, double weight_decay) {
  const double N = *norm;
  if (!isfinite(N) || !isfinite(*loss)) return;  // a diverged step changes nothing
  const double lr = s->lr, step = s->step, max_norm = s->max_norm;

  // clip_grad_norm
  const bool clip = max_norm > 0 && isfinite(max_norm) && N > max_norm;
  const float clip_scale = float(max_norm / (N + 1e-6));

  // kern::adamw_update's coefficients; without decay its T(1.0 − lr·0) is exactly 1.
  const float decay_on = float(__dsub_rn(1.0, __dmul_rn(lr, weight_decay)));
  const float b1 = float(beta1), b2 = float(beta2), a1 = float(1.0 - beta1),
              a2 = float(1.0 - beta2);
  const float step_size = float(lr / (1.0 - pow(beta1, step)));
  const float inv_bc2_sqrt = float(1.0 / sqrt(1.0 - pow(beta2, step)));
  const float e = float(eps);

  for (int64_t i = grid_start(); i < n; i += grid_stride()) {
    float g = grad[i];
    if (clip) {
      g = __fmul_rn(g, clip_scale);
      grad[i] = g;
    }
    float p = __fmul_rn(value[i], decay[i] ? decay_on : 1.f);
    const float mi = __fadd_rn(__fmul_rn(b1, m[i]), __fmul_rn(a1, g));
    const float vi = __fadd_rn(__fmul_rn(b2, v[i]), __fmul_rn(__fmul_rn(a2, g), g));
    const float denom = __fadd_rn(__fmul_rn(__fsqrt_rn(vi), inv_bc2_sqrt), e);
    p = __fsub_rn(p, __fdiv_rn(__fmul_rn(step_size, mi), denom));
    m[i] = mi;
    v[i] = vi;
    value[i] = p;
  }
}

}  // namespace

void grad_norm(const CudaContext& ctx, double* norm, double* partials, const float* grad,
               int64_t n) {
  // Also for n = 0: the chunks are then empty and the norm 0 must still be written.
  grad_norm_partials_kernel<<<kNormBlocks, kNormThreads, 0, ctx.stream()>>>(partials, grad, n);
  KERNEL_CHECK();
  grad_norm_final_kernel<<<1, kNormBlocks, 0, ctx.stream()>>>(norm, partials);
  KERNEL_CHECK();
}

void adamw_update(const CudaContext& ctx, const DeviceParameters& p, const StepScalars* s,
                  const double* norm, const float* loss, double beta1, double beta2, double eps,
                  double weight_decay) {
  launch_elementwise(ctx, p.n, kIoMaxBlocks, adamw_kernel, p.value, p.grad, p.m, p.v, p.decay, p.n,
                     s, norm, loss, beta1, beta2, eps, weight_decay);
}

}  // namespace icl::cuda

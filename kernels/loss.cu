// Losses on the GPU: mean squared error, logistic and cross-entropy, each a mean over the scored
// elements (mask null or mask[i] != 0).
//
// The loss is a mean of N per-element terms, a small reduction, so one block of kReduceThreads
// does it: thread t sums the terms i ≡ t (mod kReduceThreads) in increasing i in fp64 and counts
// the scored ones, then a fixed halving tree in shared memory combines the threads. The order
// depends only on N, so reruns are bit-identical; it differs from the CPU's serial fp64 sum only
// in the last bits of a double, which the cast to float almost always hides. S is counted on the
// GPU, so nothing is read back and a captured graph serves masks that change between steps.
//
// Backward: the gradient is element-wise but its scale dL/S needs S, a reduction over the whole
// mask. A one-block kernel counts S and writes scale and "S > 0" to ctx.workspace(); the element-
// wise kernel (one thread per gradient element, grid-stride) reads them. The workspace is used
// only between these two launches of one call, on the one stream, so nothing else can be using
// it then. Counting inside every element-wise block instead would read the mask once per block.
//
// Cross-entropy forward: one warp per row (max, then Σ exp, each a lane-strided loop and a fixed
// xor-shuffle tree), then the one-block mean. With lse == nullptr the row statistics go to the
// workspace instead.
//
// The CPU build forbids FMA contraction (-ffp-contract=off); products that feed an addition are
// written __fmul_rn, which nvcc never fuses, so the arithmetic rounds as the CPU's does and only
// expf/logf/log1pf (within 2 ulp of glibc) and the fp64 sum order differ.
#include <algorithm>
#include <cmath>

#include "core/cuda_check.h"
#include "core/cuda_launch.cuh"
#include "kernels/cuda_reduce.cuh"
#include "kernels/loss.h"

namespace icl::cuda {

namespace {

constexpr int kReduceThreads = 1024;  // a power of two: the tree halves it

__device__ bool is_scored(const float* mask, int64_t i) { return !mask || mask[i] != 0.f; }

using reduce::block_sum;

// The per-element terms ℓ_i, as the CPU computes them in float.
struct MseTerm {
  const float *pred, *target;
  __device__ float operator()(int64_t i) const {
    const float d = pred[i] - target[i];
    return __fmul_rn(d, d);
  }
};

__device__ float softplus(float a) { return (a < 0.f ? 0.f : a) + log1pf(expf(-fabsf(a))); }

__device__ float sigmoid(float a) {
  if (a >= 0.f) return 1.f / (1.f + expf(-a));
  const float e = expf(a);
  return e / (1.f + e);
}

struct LogisticTerm {
  const float *logit, *target;
  __device__ float operator()(int64_t i) const { return softplus(__fmul_rn(-target[i], logit[i])); }
};

struct CrossEntropyTerm {
  const float *lse, *logits;
  const int32_t* targets;
  int64_t V;
  __device__ float operator()(int64_t n) const { return lse[n] - logits[n * V + targets[n]]; }
};

// loss[0] = (1/S) Σ_{i scored} ℓ_i, or 0 when S = 0. One block of kReduceThreads.
template <class Term>
__global__ void mean_loss_kernel(float* loss, Term term, const float* mask, int64_t N) {
  __shared__ double sh_sum[kReduceThreads];
  __shared__ long long sh_count[kReduceThreads];
  double sum = 0;
  long long count = 0;
  for (int64_t i = threadIdx.x; i < N; i += blockDim.x)
    if (is_scored(mask, i)) {
      sum += double(term(i));
      ++count;
    }
  sum = block_sum(sum, sh_sum);
  count = block_sum(count, sh_count);
  if (threadIdx.x == 0) loss[0] = count > 0 ? float(sum / double(count)) : 0.f;
}

// What the element-wise backward needs from the whole mask.
struct LossScale {
  float scale;  // float(dL · factor) / float(S), rounded as the CPU's T(dloss · factor / S)
  int active;   // S > 0
};

// One block of kReduceThreads: counts S and writes the scale of the gradient.
__global__ void loss_scale_kernel(LossScale* out, const float* dloss, const float* mask, int64_t N,
                                  float factor) {
  __shared__ long long sh_count[kReduceThreads];
  long long count = 0;
  for (int64_t i = threadIdx.x; i < N; i += blockDim.x) count += is_scored(mask, i);
  count = block_sum(count, sh_count);
  if (threadIdx.x == 0) {
    out->active = count > 0;
    out->scale = count > 0 ? __fmul_rn(dloss[0], factor) / float(count) : 0.f;
  }
}

__global__ void mse_backward_kernel(float* __restrict__ dpred, const LossScale* sc,
                                    const float* __restrict__ pred,
                                    const float* __restrict__ target, const float* mask,
                                    int64_t N) {
  if (!sc->active) return;
  const float scale = sc->scale;
  for (int64_t i = grid_start(); i < N; i += grid_stride())
    if (is_scored(mask, i)) dpred[i] += __fmul_rn(scale, pred[i] - target[i]);
}

__global__ void logistic_backward_kernel(float* __restrict__ dlogit, const LossScale* sc,
                                         const float* __restrict__ logit,
                                         const float* __restrict__ target, const float* mask,
                                         int64_t N) {
  if (!sc->active) return;
  const float scale = sc->scale;
  for (int64_t i = grid_start(); i < N; i += grid_stride())
    if (is_scored(mask, i)) {
      const float y = target[i];
      dlogit[i] -= __fmul_rn(__fmul_rn(scale, y), sigmoid(__fmul_rn(-y, logit[i])));
    }
}

// One warp per row: lse[n] = m + log Σ_v exp(z[n, v] − m), or 0 for an unscored row.
__global__ void cross_entropy_lse_kernel(float* __restrict__ lse, const float* __restrict__ logits,
                                         const float* mask, int64_t N, int64_t V) {
  const int lane = threadIdx.x % kWarp;
  const int64_t n = int64_t(blockIdx.x) * reduce::kRowsPerBlock + threadIdx.x / kWarp;
  if (n >= N) return;  // the whole warp leaves together
  if (!is_scored(mask, n)) {
    if (lane == 0) lse[n] = 0.f;
    return;
  }
  const float* z = logits + n * V;
  float m = -INFINITY;
  for (int64_t v = lane; v < V; v += kWarp) m = fmaxf(m, z[v]);
  for (int o = kWarp / 2; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
  float s = 0.f;
  for (int64_t v = lane; v < V; v += kWarp) s += expf(z[v] - m);
  s = reduce::warp_sum(s);
  if (lane == 0) lse[n] = m + logf(s);
}

// Element i = n·V + v: dz += scale·softmax(z_n)[v], and −scale more at the target, in the CPU's
// two roundings.
__global__ void cross_entropy_backward_kernel(float* __restrict__ dlogits, const LossScale* sc,
                                              const float* __restrict__ lse,
                                              const float* __restrict__ logits,
                                              const int32_t* __restrict__ targets,
                                              const float* mask, int64_t total, int64_t V) {
  if (!sc->active) return;
  const float scale = sc->scale;
  for (int64_t i = grid_start(); i < total; i += grid_stride()) {
    const int64_t n = i / V, v = i - n * V;
    if (!is_scored(mask, n)) continue;
    float d = dlogits[i] + __fmul_rn(scale, expf(logits[i] - lse[n]));
    if (v == targets[n]) d -= scale;
    dlogits[i] = d;
  }
}

LossScale* loss_scale(const CudaContext& ctx, const float* dloss, const float* mask, int64_t N,
                      float factor) {
  static_assert(sizeof(LossScale) <= 256);
  auto* sc = static_cast<LossScale*>(ctx.workspace());
  loss_scale_kernel<<<1, kReduceThreads, 0, ctx.stream()>>>(sc, dloss, mask, N, factor);
  KERNEL_CHECK();
  return sc;
}

}  // namespace

void mse_forward(const CudaContext& ctx, float* loss, const float* pred, const float* target,
                 const float* mask, int64_t N) {
  // Also for N = 0: the loss is then 0 and must still be written.
  mean_loss_kernel<<<1, kReduceThreads, 0, ctx.stream()>>>(loss, MseTerm{pred, target}, mask, N);
  KERNEL_CHECK();
}

void mse_backward(const CudaContext& ctx, float* dpred, const float* dloss, const float* pred,
                  const float* target, const float* mask, int64_t N) {
  if (!dpred || N == 0) return;
  const LossScale* sc = loss_scale(ctx, dloss, mask, N, 2.f);
  launch_elementwise(ctx, N, kIoMaxBlocks, mse_backward_kernel, dpred, sc, pred, target, mask, N);
}

void logistic_forward(const CudaContext& ctx, float* loss, const float* logit, const float* target,
                      const float* mask, int64_t N) {
  mean_loss_kernel<<<1, kReduceThreads, 0, ctx.stream()>>>(loss, LogisticTerm{logit, target}, mask,
                                                           N);
  KERNEL_CHECK();
}

void logistic_backward(const CudaContext& ctx, float* dlogit, const float* dloss,
                       const float* logit, const float* target, const float* mask, int64_t N) {
  if (!dlogit || N == 0) return;
  const LossScale* sc = loss_scale(ctx, dloss, mask, N, 1.f);
  launch_elementwise(ctx, N, kIoMaxBlocks, logistic_backward_kernel, dlogit, sc, logit, target,
                     mask, N);
}

void cross_entropy_forward(const CudaContext& ctx, float* loss, float* lse, const float* logits,
                           const int32_t* targets, const float* mask, int64_t N, int64_t V) {
  if (!lse) {  // no backward follows: the row statistics live only until the mean below
    ICL_ASSERT(size_t(N) * sizeof(float) <= ctx.workspace_bytes());
    lse = static_cast<float*>(ctx.workspace());
  }
  ICL_ASSERT(ceil_div(N, reduce::kRowsPerBlock) <= 0x7fffffff);
  reduce::launch_rows(ctx, N, cross_entropy_lse_kernel, lse, logits, mask, N, V);
  mean_loss_kernel<<<1, kReduceThreads, 0, ctx.stream()>>>(
      loss, CrossEntropyTerm{lse, logits, targets, V}, mask, N);
  KERNEL_CHECK();
}

void cross_entropy_backward(const CudaContext& ctx, float* dlogits, const float* dloss,
                            const float* lse, const float* logits, const int32_t* targets,
                            const float* mask, int64_t N, int64_t V) {
  const int64_t total = N * V;
  if (!dlogits || total == 0) return;
  const LossScale* sc = loss_scale(ctx, dloss, mask, N, 1.f);
  launch_elementwise(ctx, total, kIoMaxBlocks, cross_entropy_backward_kernel, dlogits, sc, lse,
                     logits, targets, mask, total, V);
}

}  // namespace icl::cuda

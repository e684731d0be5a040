#pragma once
// Launch shape of the elementwise CUDA kernels, the one set every .cu file with a grid-stride
// kernel uses (included by .cu files only): memory-bound, so a grid-stride loop over 64-bit
// indices, 256 threads a block and a capped grid (a kernel whose result does not depend on the
// grid may pass its own cap). Also the stable softplus / sigmoid the gate kernels share.
#include <algorithm>
#include <cstdint>

namespace icl::cuda {

constexpr int kElementwiseThreads = 256;
constexpr int64_t kElementwiseMaxBlocks = 8192;

inline unsigned elementwise_blocks(int64_t n, int64_t max_blocks = kElementwiseMaxBlocks) {
  return unsigned(
      std::min<int64_t>((n + kElementwiseThreads - 1) / kElementwiseThreads, max_blocks));
}

__device__ inline int64_t grid_start() { return blockIdx.x * int64_t(blockDim.x) + threadIdx.x; }
__device__ inline int64_t grid_stride() { return int64_t(gridDim.x) * blockDim.x; }

// kern::stable_softplus and kern::stable_sigmoid (smooth_activations.h), same branches, in float
// with the accurate expf / log1pf.
__device__ inline float softplus_f(float x) {
  return x > 0.0f ? x + log1pf(expf(-x)) : log1pf(expf(x));
}

__device__ inline float sigmoid_f(float x) {
  if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
  const float e = expf(x);
  return e / (1.0f + e);
}

}  // namespace icl::cuda

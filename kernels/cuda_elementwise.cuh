#pragma once
// What the elementwise CUDA kernels share besides their launch (core/cuda_launch.cuh, included
// here): the stable softplus / sigmoid of the gate kernels (included by .cu files only).
#include "core/cuda_launch.cuh"

namespace icl::cuda {

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

// CUDA twin of the causal depthwise convolution (kernels/long_conv.h), direct form only: a GPU
// step computes the sums of the header whichever ConvMethod was asked for (the FFT form is a CPU
// speed-up of the same function). y and dx give each (b, t, c) one thread summing over the taps in
// the CPU's order; dfilter[c, k] is a column sum over the B·T rows by reduce::column_sums (fixed
// order, no atomics), columns indexed c·L + k, so taps the sequence cannot reach get + 0.
#include "core/cuda_check.h"
#include "core/cuda_launch.cuh"
#include "kernels/cuda_reduce.cuh"
#include "kernels/long_conv.h"

namespace icl::cuda {

namespace {

__global__ void long_conv_forward_kernel(float* y, const float* x, const float* filter, ConvDims d,
                                         int64_t K) {
  const int64_t n = d.B * d.T * d.C;
  for (int64_t i = grid_start(); i < n; i += grid_stride()) {
    const int64_t c = i % d.C, t = (i / d.C) % d.T;
    const int64_t last = t < K - 1 ? t : K - 1;
    float acc = 0.0f;
    for (int64_t k = 0; k <= last; ++k) acc += filter[c * d.L + k] * x[i - k * d.C];
    y[i] = acc;
  }
}

__global__ void long_conv_dx_kernel(float* dx, const float* dy, const float* filter, ConvDims d,
                                    int64_t K) {
  const int64_t n = d.B * d.T * d.C;
  for (int64_t i = grid_start(); i < n; i += grid_stride()) {
    const int64_t c = i % d.C, s = (i / d.C) % d.T;
    const int64_t last = d.T - 1 - s < K - 1 ? d.T - 1 - s : K - 1;
    float acc = 0.0f;
    for (int64_t k = 0; k <= last; ++k) acc += filter[c * d.L + k] * dy[i + k * d.C];
    dx[i] += acc;
  }
}

// Column c·L + k of row r = b·T + t: dy[b, t, c] · x[b, t − k, c] where the tap reaches.
struct FilterGradTerm {
  const float *dy, *x;
  ConvDims d;
  int64_t K;
  __device__ void operator()(int64_t r, int64_t col, float* out) const {
    const int64_t c = col / d.L, k = col % d.L, t = r % d.T;
    out[0] = k < K && t >= k ? dy[r * d.C + c] * x[(r - k) * d.C + c] : 0.0f;
  }
};

}  // namespace

void long_conv_forward(const CudaContext& ctx, float* y, const float* x, const float* filter,
                       const ConvDims& d) {
  const int64_t n = d.B * d.T * d.C;
  if (n <= 0) return;
  launch_elementwise(ctx, n, long_conv_forward_kernel, y, x, filter, d, d.taps());
}

void long_conv_backward(const CudaContext& ctx, float* dx, float* dfilter, const float* dy,
                        const float* x, const float* filter, const ConvDims& d) {
  const int64_t n = d.B * d.T * d.C;
  if (n <= 0) return;
  if (dx) {
    launch_elementwise(ctx, n, long_conv_dx_kernel, dx, dy, filter, d, d.taps());
  }
  if (dfilter)
    reduce::column_sums<1>(ctx, {{dfilter}}, FilterGradTerm{dy, x, d, d.taps()}, d.B * d.T,
                           d.C * d.L);
}

}  // namespace icl::cuda

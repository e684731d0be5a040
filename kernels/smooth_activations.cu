// CUDA twins of the smooth pointwise maps (kernels/smooth_activations.h): grid-stride loops with
// the CPU's formulas (the same stable softplus and sigmoid branches) in float, using the accurate
// expf / log1pf rather than the __expf intrinsics, so they agree with the CPU to a few ulp.
#include "core/cuda_check.h"
#include "kernels/cuda_elementwise.cuh"
#include "kernels/smooth_activations.h"

namespace icl::cuda {

namespace {

__global__ void sigmoid_gate_forward_kernel(float* y, const float* x, float c, float p, int64_t n) {
  for (int64_t i = grid_start(); i < n; i += grid_stride()) y[i] = c * expf(-p * softplus_f(-x[i]));
}

__global__ void sigmoid_gate_backward_kernel(float* dx, const float* dy, const float* y,
                                             const float* x, float p, int64_t n) {
  for (int64_t i = grid_start(); i < n; i += grid_stride())
    dx[i] += dy[i] * p * y[i] * sigmoid_f(-x[i]);
}

__global__ void softplus_forward_kernel(float* y, const float* x, int64_t n) {
  for (int64_t i = grid_start(); i < n; i += grid_stride()) y[i] = softplus_f(x[i]);
}

__global__ void softplus_backward_kernel(float* dx, const float* dy, const float* x, int64_t n) {
  for (int64_t i = grid_start(); i < n; i += grid_stride()) dx[i] += dy[i] * sigmoid_f(x[i]);
}

__global__ void elu_plus_one_forward_kernel(float* y, const float* x, int64_t n) {
  for (int64_t i = grid_start(); i < n; i += grid_stride())
    y[i] = x[i] > 0.0f ? x[i] + 1.0f : expf(x[i]);
}

__global__ void elu_plus_one_backward_kernel(float* dx, const float* dy, const float* x,
                                             int64_t n) {
  for (int64_t i = grid_start(); i < n; i += grid_stride())
    dx[i] += x[i] > 0.0f ? dy[i] : dy[i] * expf(x[i]);
}

__global__ void silu_forward_kernel(float* y, const float* x, int64_t n) {
  for (int64_t i = grid_start(); i < n; i += grid_stride()) y[i] = x[i] * sigmoid_f(x[i]);
}

__global__ void silu_backward_kernel(float* dx, const float* dy, const float* x, int64_t n) {
  for (int64_t i = grid_start(); i < n; i += grid_stride()) {
    const float s = sigmoid_f(x[i]);
    dx[i] += dy[i] * s * (1.0f + x[i] * (1.0f - s));
  }
}

}  // namespace

void sigmoid_gate_forward(const CudaContext& ctx, float* y, const float* x, float c, float p,
                          int64_t n) {
  launch_elementwise(ctx, n, sigmoid_gate_forward_kernel, y, x, c, p, n);
}
void sigmoid_gate_backward(const CudaContext& ctx, float* dx, const float* dy, const float* y,
                           const float* x, float p, int64_t n) {
  if (dx) launch_elementwise(ctx, n, sigmoid_gate_backward_kernel, dx, dy, y, x, p, n);
}
void softplus_forward(const CudaContext& ctx, float* y, const float* x, int64_t n) {
  launch_elementwise(ctx, n, softplus_forward_kernel, y, x, n);
}
void softplus_backward(const CudaContext& ctx, float* dx, const float* dy, const float* x,
                       int64_t n) {
  if (dx) launch_elementwise(ctx, n, softplus_backward_kernel, dx, dy, x, n);
}
void elu_plus_one_forward(const CudaContext& ctx, float* y, const float* x, int64_t n) {
  launch_elementwise(ctx, n, elu_plus_one_forward_kernel, y, x, n);
}
void elu_plus_one_backward(const CudaContext& ctx, float* dx, const float* dy, const float* x,
                           int64_t n) {
  if (dx) launch_elementwise(ctx, n, elu_plus_one_backward_kernel, dx, dy, x, n);
}
void silu_forward(const CudaContext& ctx, float* y, const float* x, int64_t n) {
  launch_elementwise(ctx, n, silu_forward_kernel, y, x, n);
}
void silu_backward(const CudaContext& ctx, float* dx, const float* dy, const float* x, int64_t n) {
  if (dx) launch_elementwise(ctx, n, silu_backward_kernel, dx, dy, x, n);
}

}  // namespace icl::cuda

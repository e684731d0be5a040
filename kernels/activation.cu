// CUDA twins of the activations. Elementwise and memory-bound, so each kernel is a grid-stride
// loop (one thread per element per stride, a capped grid, 64-bit indices). gelu uses the exact
// formula of kern:: with the same association order and the accurate tanhf (not the __tanhf
// intrinsic), so it differs from the CPU's vectorised tanh by a few ulp only.
#include "core/cuda_check.h"
#include "kernels/activation.h"
#include "core/cuda_launch.cuh"

namespace icl::cuda {

namespace {

constexpr float kGeluK = 0.7978845608028654f;  // √(2/π)
constexpr float kGeluA = 0.044715f;

__global__ void gelu_forward_kernel(float* y, const float* x, int64_t n) {
  for (int64_t i = grid_start(); i < n; i += grid_stride()) {
    const float v = x[i];
    const float t = tanhf(kGeluK * (v + kGeluA * (v * v * v)));
    y[i] = 0.5f * v * (1.0f + t);
  }
}

__global__ void gelu_backward_kernel(float* dx, const float* dy, const float* x, int64_t n) {
  for (int64_t i = grid_start(); i < n; i += grid_stride()) {
    const float v = x[i];
    const float t = tanhf(kGeluK * (v + kGeluA * (v * v * v)));
    dx[i] += dy[i] * (0.5f * (1.0f + t) +
                      0.5f * v * (1.0f - t * t) * kGeluK * (1.0f + 3.0f * kGeluA * v * v));
  }
}

__global__ void relu_forward_kernel(float* y, const float* x, int64_t n) {
  for (int64_t i = grid_start(); i < n; i += grid_stride()) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

__global__ void relu_backward_kernel(float* dx, const float* dy, const float* x, int64_t n) {
  for (int64_t i = grid_start(); i < n; i += grid_stride()) dx[i] += x[i] > 0.0f ? dy[i] : 0.0f;
}

}  // namespace

void gelu_forward(const CudaContext& ctx, float* y, const float* x, int64_t n) {
  if (n <= 0) return;
  launch_elementwise(ctx, n, gelu_forward_kernel, y, x, n);
}

void gelu_backward(const CudaContext& ctx, float* dx, const float* dy, const float* x, int64_t n) {
  if (n <= 0 || !dx) return;
  launch_elementwise(ctx, n, gelu_backward_kernel, dx, dy, x, n);
}

void relu_forward(const CudaContext& ctx, float* y, const float* x, int64_t n) {
  if (n <= 0) return;
  launch_elementwise(ctx, n, relu_forward_kernel, y, x, n);
}

void relu_backward(const CudaContext& ctx, float* dx, const float* dy, const float* x, int64_t n) {
  if (n <= 0 || !dx) return;
  launch_elementwise(ctx, n, relu_backward_kernel, dx, dy, x, n);
}

}  // namespace icl::cuda

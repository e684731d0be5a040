// CUDA twins of the elementwise ops. Every element is independent and the work is pure memory
// traffic, so each kernel is a grid-stride loop: one thread per element per stride, a grid capped
// at a fixed size (enough blocks to fill an H100 several times over) and 64-bit indices so any n
// works. Nothing is reduced, so the result cannot depend on the launch shape. add_backward keeps
// da and db unrestricted because they may be the same buffer (y = x + x): each thread then adds
// dy twice into its own element, in order, exactly as the CPU loop does.
#include "core/cuda_check.h"
#include "core/cuda_launch.cuh"
#include "kernels/elementwise.h"

namespace icl::cuda {

namespace {

__global__ void add_forward_kernel(float* y, const float* a, const float* b, int64_t n) {
  for (int64_t i = grid_start(); i < n; i += grid_stride()) y[i] = a[i] + b[i];
}

__global__ void add_backward_kernel(float* da, float* db, const float* dy, int64_t n) {
  for (int64_t i = grid_start(); i < n; i += grid_stride()) {
    const float d = dy[i];
    if (da) da[i] += d;
    if (db) db[i] += d;
  }
}

__global__ void scale_forward_kernel(float* y, const float* x, float s, int64_t n) {
  for (int64_t i = grid_start(); i < n; i += grid_stride()) y[i] = s * x[i];
}

__global__ void scale_backward_kernel(float* dx, const float* dy, float s, int64_t n) {
  for (int64_t i = grid_start(); i < n; i += grid_stride()) dx[i] += s * dy[i];
}

}  // namespace

void add_forward(const CudaContext& ctx, float* y, const float* a, const float* b, int64_t n) {
  if (n <= 0) return;
  launch_elementwise(ctx, n, add_forward_kernel, y, a, b, n);
}

void add_backward(const CudaContext& ctx, float* da, float* db, const float* dy, int64_t n) {
  if (n <= 0 || (!da && !db)) return;
  launch_elementwise(ctx, n, add_backward_kernel, da, db, dy, n);
}

void scale_forward(const CudaContext& ctx, float* y, const float* x, float s, int64_t n) {
  if (n <= 0) return;
  launch_elementwise(ctx, n, scale_forward_kernel, y, x, s, n);
}

void scale_backward(const CudaContext& ctx, float* dx, const float* dy, float s, int64_t n) {
  if (n <= 0 || !dx) return;
  launch_elementwise(ctx, n, scale_backward_kernel, dx, dy, s, n);
}

}  // namespace icl::cuda

// CUDA twins of the elementwise ops. Every element is independent and the work is pure memory
// traffic, so each kernel is a grid-stride loop: one thread per element per stride, a grid capped
// at a fixed size (enough blocks to fill an H100 several times over) and 64-bit indices so any n
// works. Nothing is reduced, so the result cannot depend on the launch shape. add_backward keeps
// da and db unrestricted because they may be the same buffer (y = x + x): each thread then adds
// dy twice into its own element, in order, exactly as the CPU loop does.
#include "core/cuda_check.h"
#include "kernels/cuda_elementwise.cuh"
#include "kernels/elementwise.h"

namespace icl::cuda {

namespace {

__global__ void add_forward_kernel(float* y, const float* a, const float* b, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    y[i] = a[i] + b[i];
}

__global__ void add_backward_kernel(float* da, float* db, const float* dy, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const float d = dy[i];
    if (da) da[i] += d;
    if (db) db[i] += d;
  }
}

__global__ void scale_forward_kernel(float* y, const float* x, float s, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    y[i] = s * x[i];
}

__global__ void scale_backward_kernel(float* dx, const float* dy, float s, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    dx[i] += s * dy[i];
}

}  // namespace

void add_forward(const CudaContext& ctx, float* y, const float* a, const float* b, int64_t n) {
  if (n <= 0) return;
  add_forward_kernel<<<elementwise_blocks(n), kElementwiseThreads, 0, ctx.stream()>>>(y, a, b, n);
  KERNEL_CHECK();
}

void add_backward(const CudaContext& ctx, float* da, float* db, const float* dy, int64_t n) {
  if (n <= 0 || (!da && !db)) return;
  add_backward_kernel<<<elementwise_blocks(n), kElementwiseThreads, 0, ctx.stream()>>>(da, db, dy,
                                                                                       n);
  KERNEL_CHECK();
}

void scale_forward(const CudaContext& ctx, float* y, const float* x, float s, int64_t n) {
  if (n <= 0) return;
  scale_forward_kernel<<<elementwise_blocks(n), kElementwiseThreads, 0, ctx.stream()>>>(y, x, s, n);
  KERNEL_CHECK();
}

void scale_backward(const CudaContext& ctx, float* dx, const float* dy, float s, int64_t n) {
  if (n <= 0 || !dx) return;
  scale_backward_kernel<<<elementwise_blocks(n), kElementwiseThreads, 0, ctx.stream()>>>(dx, dy, s,
                                                                                         n);
  KERNEL_CHECK();
}

}  // namespace icl::cuda

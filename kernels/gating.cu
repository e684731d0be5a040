// CUDA twins of the gating products (kernels/gating.h). The elementwise parts are grid-stride
// loops doing the CPU's arithmetic per element. dd of scale_channels is a column sum over the rows,
// done by reduce::column_sums in a fixed order (no atomics), so reruns are bit-identical; it adds
// in another order than the CPU's row loop, hence agrees with it to rounding only.
#include "core/cuda_check.h"
#include "core/cuda_launch.cuh"
#include "kernels/cuda_reduce.cuh"
#include "kernels/gating.h"

namespace icl::cuda {

namespace {

__global__ void multiply_forward_kernel(float* y, const float* a, const float* b, int64_t n) {
  for (int64_t i = grid_start(); i < n; i += grid_stride()) y[i] = a[i] * b[i];
}

__global__ void multiply_backward_kernel(float* da, float* db, const float* dy, const float* a,
                                         const float* b, int64_t n) {
  for (int64_t i = grid_start(); i < n; i += grid_stride()) {
    if (da) da[i] += dy[i] * b[i];
    if (db) db[i] += dy[i] * a[i];
  }
}

__global__ void scale_channels_forward_kernel(float* y, const float* x, const float* d, int64_t n,
                                              int64_t C) {
  for (int64_t i = grid_start(); i < n; i += grid_stride()) y[i] = d[i % C] * x[i];
}

__global__ void scale_channels_dx_kernel(float* dx, const float* dy, const float* d, int64_t n,
                                         int64_t C) {
  for (int64_t i = grid_start(); i < n; i += grid_stride()) dx[i] += dy[i] * d[i % C];
}

// dd[c] += Σ_r dy[r, c] · x[r, c].
struct ChannelScaleGradTerm {
  const float *dy, *x;
  int64_t C;
  __device__ void operator()(int64_t r, int64_t c, float* t) const {
    t[0] = dy[r * C + c] * x[r * C + c];
  }
};

__global__ void add_channels_forward_kernel(float* y, const float* x, const float* c, int64_t n,
                                            int64_t C) {
  for (int64_t i = grid_start(); i < n; i += grid_stride()) y[i] = x[i] + c[i % C];
}

__global__ void add_channels_dx_kernel(float* dx, const float* dy, int64_t n) {
  for (int64_t i = grid_start(); i < n; i += grid_stride()) dx[i] += dy[i];
}

// dc[c] += Σ_r dy[r, c].
struct ChannelBiasGradTerm {
  const float* dy;
  int64_t C;
  __device__ void operator()(int64_t r, int64_t c, float* t) const { t[0] = dy[r * C + c]; }
};

}  // namespace

void multiply_forward(const CudaContext& ctx, float* y, const float* a, const float* b, int64_t n) {
  if (n <= 0) return;
  launch_elementwise(ctx, n, multiply_forward_kernel, y, a, b, n);
}

void multiply_backward(const CudaContext& ctx, float* da, float* db, const float* dy,
                       const float* a, const float* b, int64_t n) {
  if (n <= 0 || (!da && !db)) return;
  launch_elementwise(ctx, n, multiply_backward_kernel, da, db, dy, a, b, n);
}

void scale_channels_forward(const CudaContext& ctx, float* y, const float* x, const float* d,
                            int64_t R, int64_t C) {
  const int64_t n = R * C;
  if (n <= 0) return;
  launch_elementwise(ctx, n, scale_channels_forward_kernel, y, x, d, n, C);
}

void scale_channels_backward(const CudaContext& ctx, float* dx, float* dd, const float* dy,
                             const float* x, const float* d, int64_t R, int64_t C) {
  const int64_t n = R * C;
  if (n <= 0) return;
  if (dx) {
    launch_elementwise(ctx, n, scale_channels_dx_kernel, dx, dy, d, n, C);
  }
  if (dd) reduce::column_sums<1>(ctx, {{dd}}, ChannelScaleGradTerm{dy, x, C}, R, C);
}

void add_channels_forward(const CudaContext& ctx, float* y, const float* x, const float* c,
                          int64_t R, int64_t C) {
  const int64_t n = R * C;
  if (n <= 0) return;
  launch_elementwise(ctx, n, add_channels_forward_kernel, y, x, c, n, C);
}

void add_channels_backward(const CudaContext& ctx, float* dx, float* dc, const float* dy, int64_t R,
                           int64_t C) {
  const int64_t n = R * C;
  if (n <= 0) return;
  if (dx) launch_elementwise(ctx, n, add_channels_dx_kernel, dx, dy, n);
  if (dc) reduce::column_sums<1>(ctx, {{dc}}, ChannelBiasGradTerm{dy, C}, R, C);
}

}  // namespace icl::cuda

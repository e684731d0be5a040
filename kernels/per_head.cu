// CUDA twins of the per-head ops (kernels/per_head.h). scale_heads and ssm_decay are elementwise
// (one thread per element, or per (row, head) where a head's d products are summed, in the CPU's
// order); l2norm_heads gives each row of d one thread, summing in the CPU's order. The A_log
// gradient of ssm_decay is a column sum over rows, by reduce::column_sums in a fixed order (no
// atomics): bit-identical reruns, equal to the CPU's row loop to rounding.
#include "core/cuda_check.h"
#include "core/cuda_launch.cuh"
#include "kernels/cuda_reduce.cuh"
#include "kernels/per_head.h"

namespace icl::cuda {

namespace {

__global__ void scale_heads_forward_kernel(float* y, const float* x, const float* s, int64_t n,
                                           int64_t d) {
  for (int64_t i = grid_start(); i < n; i += grid_stride()) y[i] = s[i / d] * x[i];
}

// One thread per (row, head) = i: dx over the head's d columns, ds the sum of dy · x over them.
__global__ void scale_heads_backward_kernel(float* dx, float* ds, const float* dy, const float* x,
                                            const float* s, int64_t heads, int64_t d) {
  for (int64_t i = grid_start(); i < heads; i += grid_stride()) {
    const int64_t o = i * d;
    float acc = 0.0f;
    for (int64_t j = 0; j < d; ++j) {
      if (dx) dx[o + j] += dy[o + j] * s[i];
      acc += dy[o + j] * x[o + j];
    }
    if (ds) ds[i] += acc;
  }
}

__global__ void l2norm_heads_forward_kernel(float* y, const float* x, float eps, int64_t rows,
                                            int64_t d) {
  for (int64_t r = grid_start(); r < rows; r += grid_stride()) {
    const float* xr = x + r * d;
    float ss = 0.0f;
    for (int64_t j = 0; j < d; ++j) ss += xr[j] * xr[j];
    const float inv = 1.0f / sqrtf(ss + eps);
    for (int64_t j = 0; j < d; ++j) y[r * d + j] = xr[j] * inv;
  }
}

__global__ void l2norm_heads_backward_kernel(float* dx, const float* dy, const float* y,
                                             const float* x, float eps, int64_t rows, int64_t d) {
  for (int64_t r = grid_start(); r < rows; r += grid_stride()) {
    const int64_t o = r * d;
    float ss = 0.0f, yd = 0.0f;
    for (int64_t j = 0; j < d; ++j) {
      ss += x[o + j] * x[o + j];
      yd += y[o + j] * dy[o + j];
    }
    const float inv = 1.0f / sqrtf(ss + eps);
    for (int64_t j = 0; j < d; ++j) dx[o + j] += (dy[o + j] - y[o + j] * yd) * inv;
  }
}

__global__ void ssm_decay_forward_kernel(float* y, const float* dt, const float* a_log,
                                         bool negative, int64_t n, int64_t H) {
  for (int64_t i = grid_start(); i < n; i += grid_stride()) {
    const float a = expf(-dt[i] * expf(a_log[i % H]));
    y[i] = negative ? 2.0f * a - 1.0f : a;
  }
}

__global__ void ssm_decay_ddt_kernel(float* ddt, const float* dy, const float* dt,
                                     const float* a_log, float c, int64_t n, int64_t H) {
  for (int64_t i = grid_start(); i < n; i += grid_stride()) {
    const float e = expf(a_log[i % H]), a = expf(-dt[i] * e);
    ddt[i] -= dy[i] * c * a * e;
  }
}

// dA_log[h] += Σ_r −c · e_h · dy[r, h] · a[r, h] · Δ[r, h].
struct DecayLogGradTerm {
  const float *dy, *dt, *a_log;
  float c;
  int64_t H;
  __device__ void operator()(int64_t r, int64_t h, float* t) const {
    const float e = expf(a_log[h]), v = dt[r * H + h], a = expf(-v * e);
    t[0] = -c * e * (dy[r * H + h] * a * v);
  }
};

}  // namespace

void scale_heads_forward(const CudaContext& ctx, float* y, const float* x, const float* s,
                         int64_t R, int64_t H, int64_t d) {
  const int64_t n = R * H * d;
  if (n <= 0) return;
  launch_elementwise(ctx, n, scale_heads_forward_kernel, y, x, s, n, d);
}

void scale_heads_backward(const CudaContext& ctx, float* dx, float* ds, const float* dy,
                          const float* x, const float* s, int64_t R, int64_t H, int64_t d) {
  const int64_t heads = R * H;
  if (heads <= 0 || d <= 0 || (!dx && !ds)) return;
  launch_elementwise(ctx, heads, scale_heads_backward_kernel, dx, ds, dy, x, s, heads, d);
}

void l2norm_heads_forward(const CudaContext& ctx, float* y, const float* x, float eps, int64_t rows,
                          int64_t d) {
  if (rows <= 0 || d <= 0) return;
  launch_elementwise(ctx, rows, l2norm_heads_forward_kernel, y, x, eps, rows, d);
}

void l2norm_heads_backward(const CudaContext& ctx, float* dx, const float* dy, const float* y,
                           const float* x, float eps, int64_t rows, int64_t d) {
  if (!dx || rows <= 0 || d <= 0) return;
  launch_elementwise(ctx, rows, l2norm_heads_backward_kernel, dx, dy, y, x, eps, rows, d);
}

void ssm_decay_forward(const CudaContext& ctx, float* y, const float* dt, const float* a_log,
                       bool negative, int64_t R, int64_t H) {
  const int64_t n = R * H;
  if (n <= 0) return;
  launch_elementwise(ctx, n, ssm_decay_forward_kernel, y, dt, a_log, negative, n, H);
}

void ssm_decay_backward(const CudaContext& ctx, float* ddt, float* da_log, const float* dy,
                        const float* dt, const float* a_log, bool negative, int64_t R, int64_t H) {
  const int64_t n = R * H;
  if (n <= 0) return;
  const float c = negative ? 2.0f : 1.0f;
  if (ddt) {
    launch_elementwise(ctx, n, ssm_decay_ddt_kernel, ddt, dy, dt, a_log, c, n, H);
  }
  if (da_log) reduce::column_sums<1>(ctx, {{da_log}}, DecayLogGradTerm{dy, dt, a_log, c, H}, R, H);
}

}  // namespace icl::cuda

// CUDA twin of kernels/concat.h: one thread per element of y, grid-stride. Each element has one
// source (forward) or one destination (backward), so there are no collisions and the results equal
// the CPU's bit for bit.
#include "core/cuda_check.h"
#include "core/cuda_launch.cuh"
#include "kernels/concat.h"

namespace icl::cuda {

namespace {

__global__ void concat_forward_kernel(float* __restrict__ y, const float* __restrict__ a,
                                      const float* __restrict__ b, int64_t total, int64_t Ca,
                                      int64_t Cb) {
  const int64_t W = Ca + Cb;
  for (int64_t i = grid_start(); i < total; i += grid_stride()) {
    const int64_t r = i / W, c = i - r * W;
    y[i] = c < Ca ? a[r * Ca + c] : b[r * Cb + (c - Ca)];
  }
}

__global__ void concat_backward_kernel(float* __restrict__ da, float* __restrict__ db,
                                       const float* __restrict__ dy, int64_t total, int64_t Ca,
                                       int64_t Cb) {
  const int64_t W = Ca + Cb;
  for (int64_t i = grid_start(); i < total; i += grid_stride()) {
    const int64_t r = i / W, c = i - r * W;
    if (c < Ca) {
      if (da) da[r * Ca + c] += dy[i];
    } else if (db) {
      db[r * Cb + (c - Ca)] += dy[i];
    }
  }
}

}  // namespace

void concat_forward(const CudaContext& ctx, float* y, const float* a, const float* b, int64_t N,
                    int64_t Ca, int64_t Cb) {
  const int64_t total = N * (Ca + Cb);
  if (total <= 0) return;
  launch_elementwise(ctx, total, concat_forward_kernel, y, a, b, total, Ca, Cb);
}

void concat_backward(const CudaContext& ctx, float* da, float* db, const float* dy, int64_t N,
                     int64_t Ca, int64_t Cb) {
  const int64_t total = N * (Ca + Cb);
  if (total <= 0 || (!da && !db)) return;
  launch_elementwise(ctx, total, concat_backward_kernel, da, db, dy, total, Ca, Cb);
}

}  // namespace icl::cuda

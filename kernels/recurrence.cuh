#pragma once
// What the CUDA twins of the recurrences (kernels/linear_recurrence.cu, kernels/delta_rule.cu)
// share: one block of kThreads per (b, h) pair, the [B, T, H, w] row offsets, and the check that a
// head's state and vectors fit the block's shared memory.
#include <cstdint>

#include "core/error.h"
#include "kernels/linear_recurrence.h"

namespace icl::cuda::recurrence {

// The block per (b, h) pair: its threads stride over the head's state (dk·dv) and vectors in
// every phase. The recurrences' own design, not cuda_launch.cuh's elementwise shape (same size by
// coincidence: a grid-stride kernel's block may change without touching these).
constexpr int kThreads = 256;
constexpr size_t kSharedBytes = 48 * 1024;  // what a block gets without opting in to more

struct Dims {
  int64_t B, T, H, dk, dv, chunk, gw;
  __device__ int64_t chunks() const { return (T + chunk - 1) / chunk; }
  // Offset of row (b, t, h) of a [B, T, H, w] tensor.
  __device__ int64_t row(int64_t b, int64_t t, int64_t h, int64_t w) const {
    return ((b * T + t) * H + h) * w;
  }
};

// Thread i of a block owns the state elements i, i + blockDim.x, ... < n in every phase, so these
// copies need no barrier against the updates. dst = src, or zeros when src is null.
__device__ inline void copy_state(float* dst, const float* src, int64_t n) {
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) dst[i] = src ? src[i] : 0.f;
}
__device__ inline void add_state(float* dst, const float* src, int64_t n) {
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) dst[i] += src[i];
}

inline Dims dims(const RecurrenceDims& d, int64_t gate_width = 1) {
  return {d.B, d.T, d.H, d.dk, d.dv, d.chunk, gate_width};
}

// `floats` scalars of shared memory per block, or a one-line error naming the op.
inline size_t shared_bytes(const char* op, const RecurrenceDims& d, int64_t floats) {
  const size_t bytes = sizeof(float) * size_t(floats);
  if (bytes > kSharedBytes)
    fail(
        "op {} on CUDA: a head's state dk·dv = {}·{} does not fit in shared memory (at most "
        "about {} scalars)",
        op, d.dk, d.dv, kSharedBytes / sizeof(float) - 4 * (d.dk + d.dv));
  return bytes;
}

}  // namespace icl::cuda::recurrence

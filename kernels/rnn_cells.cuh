#pragma once
// Pieces shared by the CUDA twins of the classic RNN cells (lstm.cu, gru.cu; included by .cu
// files only). The time loop of batch element b is block b's: the recurrent product h_{t−1} W_h
// gives each thread columns of W_h (strided), summing over k in order as the CPU's row_times
// does, with h_{t−1} in shared memory; the gate arithmetic gives each thread hidden units. The
// weight gradient dW_h = Σ_{b,t} h_{t−1}ᵀ da_t is a column sum over the B·T rows
// (reduce::column_sums, fixed order).
#include <algorithm>

#include "core/cuda_check.h"
#include "core/error.h"
#include "core/cuda_launch.cuh"
#include "kernels/cuda_reduce.cuh"
#include "kernels/rnn_common.h"

namespace icl::cuda::rnn {

__device__ inline float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

// Threads of a cell's block: the gate columns G, rounded up to whole warps, at most 1024.
inline unsigned cell_threads(int64_t G) {
  return unsigned(std::min<int64_t>(1024, ceil_div(G, kWarp) * kWarp));
}

// Shared memory of `floats` floats, or a one-line error when the hidden size needs more than a
// block can have.
inline size_t cell_shared_bytes(const char* op, int64_t floats, int64_t H) {
  const size_t bytes = size_t(floats) * sizeof(float);
  if (bytes > 48 * 1024)
    fail("op {}: hidden size {} needs {} bytes of shared memory per block, more than 48 KiB", op, H,
         bytes);
  return bytes;
}

// y[col] = Σ_k h[k] · w[k · G + col] (+ add[col]) for the block's columns, k in order.
__device__ inline void row_times(float* y, const float* h, const float* w, int64_t H, int64_t G) {
  for (int64_t col = threadIdx.x; col < G; col += blockDim.x) {
    float acc = 0.0f;
    for (int64_t k = 0; k < H; ++k) acc += h[k] * w[k * G + col];
    y[col] = acc;
  }
}

// Column k · G + g of row r = b·T + t: h_{t−1}[k] · da_t[g], with h_{−1} = h0 (zero if absent).
struct WeightGradTerm {
  const float *h, *h0, *da;
  int64_t T, H, G;
  __device__ void operator()(int64_t r, int64_t col, float* out) const {
    const int64_t k = col / G, g = col % G, t = r % T;
    const float hp = t > 0 ? h[(r - 1) * H + k] : (h0 ? h0[(r / T) * H + k] : 0.0f);
    out[0] = hp * da[r * G + g];
  }
};

inline void add_weight_grad(const CudaContext& ctx, float* dw, const float* h, const float* h0,
                            const float* da, int64_t G, const RnnDims& d) {
  if (!dw) return;
  reduce::column_sums<1>(ctx, {{dw}}, WeightGradTerm{h, h0, da, d.T, d.H, G}, d.B * d.T, d.H * G);
}

}  // namespace icl::cuda::rnn

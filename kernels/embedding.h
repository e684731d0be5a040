#pragma once
// Token and positional embeddings.
//
// Token embedding, tokens int32 [N] (N = B·T), table [V, C]:
//   forward:  y[n, :] = table[tokens[n], :]                                   y [N, C]
//   backward: dtable[tokens[n], :] += dy[n, :]   for n = 0, 1, ..., N-1, in that order
// A token may repeat, so the backward is a scatter-add. It is cut into fixed column blocks of C;
// each block walks all N tokens in order, so every dtable element is summed in token order by one
// thread: no atomics, and the result does not depend on the thread count.
//
// Positional embedding add, x [B, T, C], pos [Tmax, C] with T <= Tmax:
//   forward:  y[b, t, :] = x[b, t, :] + pos[t, :]
//   backward: dx += dy,  dpos[t, :] += dy[b, t, :]   for b = 0, 1, ..., B-1, in that order
// (rows t >= T of dpos are untouched). dx or dpos may be null.
#include <cstdint>

#include "core/blocks.h"
#include "core/cuda_context.h"
#include "core/graph.h"

namespace icl {

namespace kern {

// Tokens must lie in [0, V); ops::embedding checks them before calling.
template <class T>
void embedding_forward(T* y, const int32_t* tokens, const T* table, int64_t N, int64_t C) {
  for_blocks(N, 64, [&](int64_t r0, int64_t r1) {
    for (int64_t n = r0; n < r1; ++n) {
      const T* src = table + int64_t(tokens[n]) * C;
      T* dst = y + n * C;
      for (int64_t c = 0; c < C; ++c) dst[c] = src[c];
    }
  });
}

template <class T>
void embedding_backward(T* dtable, const T* dy, const int32_t* tokens, int64_t N, int64_t C) {
  if (!dtable) return;
  for_blocks(C, 32, [&](int64_t c0, int64_t c1) {
    for (int64_t n = 0; n < N; ++n) {
      T* dst = dtable + int64_t(tokens[n]) * C;
      const T* src = dy + n * C;
      for (int64_t c = c0; c < c1; ++c) dst[c] += src[c];
    }
  });
}

template <class T>
void add_positional_forward(T* y, const T* x, const T* pos, int64_t B, int64_t Tn, int64_t C) {
  for_blocks(B * Tn, 64, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* p = pos + (r % Tn) * C;
      const T* xr = x + r * C;
      T* yr = y + r * C;
      for (int64_t c = 0; c < C; ++c) yr[c] = xr[c] + p[c];
    }
  });
}

template <class T>
void add_positional_backward(T* dx, T* dpos, const T* dy, int64_t B, int64_t Tn, int64_t C) {
  if (dx)
    for_blocks(B * Tn, 64, [&](int64_t r0, int64_t r1) {
      for (int64_t i = r0 * C; i < r1 * C; ++i) dx[i] += dy[i];
    });
  if (dpos)
    for_blocks(Tn, 16, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        T* dp = dpos + t * C;
        for (int64_t b = 0; b < B; ++b) {
          const T* d = dy + (b * Tn + t) * C;
          for (int64_t c = 0; c < C; ++c) dp[c] += d[c];
        }
      }
    });
}

}  // namespace kern

// The CUDA twins (kernels/*.cu): same math, layout and accumulation (+=) as kern::, on device
// pointers, enqueued on the context's stream. Defined only in CUDA builds; ops dispatch to them
// when their Graph is on a GPU.
namespace cuda {
void embedding_forward(const CudaContext& ctx, float* y, const int32_t* tokens, const float* table,
                       int64_t N, int64_t C);
// Deterministic scatter-add: each dtable element sums its tokens in token order (no atomics).
void embedding_backward(const CudaContext& ctx, float* dtable, const float* dy,
                        const int32_t* tokens, int64_t N, int64_t V, int64_t C);
void add_positional_forward(const CudaContext& ctx, float* y, const float* x, const float* pos,
                            int64_t B, int64_t Tn, int64_t C);
void add_positional_backward(const CudaContext& ctx, float* dx, float* dpos, const float* dy,
                             int64_t B, int64_t Tn, int64_t C);
}  // namespace cuda

namespace ops {
// tokens int32 [B, T] (any shape; CPU memory that outlives the step's backward), table [V, C]
// → [B, T, C] (tokens' shape + C). A token outside [0, V) is an icl::Error naming it and V.
Var embedding(Graph& g, const Tensor& tokens, Var table);
// x [B, T, C] + pos[:T] broadcast over B, pos [Tmax, C]; T > Tmax is an icl::Error.
Var add_positional(Graph& g, Var x, Var pos);
}  // namespace ops

}  // namespace icl

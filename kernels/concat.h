#pragma once
// Side by side along the last axis: rows of a and b joined.
//   forward:  y[n, 0:Ca] = a[n, :],  y[n, Ca:Ca+Cb] = b[n, :]     a [N, Ca], b [N, Cb], y [N,
//   Ca+Cb] backward: da[n, :] += dy[n, 0:Ca],  db[n, :] += dy[n, Ca:]     (either gradient may be
//   null)
// N is every leading axis together. The encoder-decoder of MLM-U (models/past.cpp) builds its
// decoder's fused q, k, v this way: q from the decoder's stream, k and v from the encoder's
// output, so attention and RoPE run on the one [B, T, 3C] layout they already know. Every element
// has one source, so the result does not depend on the thread count.
#include <cstdint>

#include "core/blocks.h"
#include "core/cuda_context.h"
#include "core/graph.h"

namespace icl {

namespace kern {

template <class T>
void concat_forward(T* y, const T* a, const T* b, int64_t N, int64_t Ca, int64_t Cb) {
  for_blocks(N, 64, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      T* dst = y + r * (Ca + Cb);
      for (int64_t c = 0; c < Ca; ++c) dst[c] = a[r * Ca + c];
      for (int64_t c = 0; c < Cb; ++c) dst[Ca + c] = b[r * Cb + c];
    }
  });
}

template <class T>
void concat_backward(T* da, T* db, const T* dy, int64_t N, int64_t Ca, int64_t Cb) {
  for_blocks(N, 64, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* src = dy + r * (Ca + Cb);
      if (da)
        for (int64_t c = 0; c < Ca; ++c) da[r * Ca + c] += src[c];
      if (db)
        for (int64_t c = 0; c < Cb; ++c) db[r * Cb + c] += src[Ca + c];
    }
  });
}

}  // namespace kern

// The CUDA twins (kernels/concat.cu): the same copies and +=, one thread per element of y.
namespace cuda {
void concat_forward(const CudaContext& ctx, float* y, const float* a, const float* b, int64_t N,
                    int64_t Ca, int64_t Cb);
void concat_backward(const CudaContext& ctx, float* da, float* db, const float* dy, int64_t N,
                     int64_t Ca, int64_t Cb);
}  // namespace cuda

namespace ops {
// a [..., Ca] and b [..., Cb] with the same leading axes → [..., Ca + Cb].
Var concat(Graph& g, Var a, Var b);
}  // namespace ops

}  // namespace icl

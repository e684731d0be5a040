#pragma once
// Elementwise ops over n contiguous values (shapes must match; no broadcasting).
//   add:    y = a + b          backward: da += dy,     db += dy
//   scale:  y = s · x          backward: dx += s · dy  (s is a constant, e.g. 1/√layer)
// Any gradient buffer may be null. Each element is independent, so the fixed blocks are only for
// threads; results never depend on the thread count. da and db may be the same buffer (y = x + x).
#include <algorithm>

#include "core/blocks.h"
#include "core/cuda_context.h"
#include "core/graph.h"

namespace icl {

namespace kern {

// Elements per block of the elementwise kernels (activations too).
inline constexpr int64_t kElementwiseBlock = int64_t(1) << 14;

template <class T>
void add_forward(T* y, const T* a, const T* b, int64_t n) {
  for_blocks(n, kElementwiseBlock, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) y[i] = a[i] + b[i];
  });
}

template <class T>
void add_backward(T* da, T* db, const T* dy, int64_t n, bool a_accumulate = true,
                  bool b_accumulate = true) {
  // da before db in every block, so that da == db (y = a + a) gets both contributions.
  for_blocks(n, kElementwiseBlock, [&](int64_t i0, int64_t i1) {
    if (da && a_accumulate)
      for (int64_t i = i0; i < i1; ++i) da[i] += dy[i];
    else if (da)
      std::copy(dy + i0, dy + i1, da + i0);
    if (db && b_accumulate)
      for (int64_t i = i0; i < i1; ++i) db[i] += dy[i];
    else if (db)
      std::copy(dy + i0, dy + i1, db + i0);
  });
}

template <class T>
void scale_forward(T* y, const T* x, T s, int64_t n) {
  for_blocks(n, kElementwiseBlock, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) y[i] = s * x[i];
  });
}

template <class T>
void scale_backward(T* dx, const T* dy, T s, int64_t n) {
  if (!dx) return;
  for_blocks(n, kElementwiseBlock, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) dx[i] += s * dy[i];
  });
}

}  // namespace kern

// The CUDA twins (kernels/*.cu): same math, layout and accumulation (+=) as kern::, on device
// pointers, enqueued on the context's stream. Defined only in CUDA builds; ops dispatch to them
// when their Graph is on a GPU.
namespace cuda {
void add_forward(const CudaContext& ctx, float* y, const float* a, const float* b, int64_t n);
void add_backward(const CudaContext& ctx, float* da, float* db, const float* dy, int64_t n);
void scale_forward(const CudaContext& ctx, float* y, const float* x, float s, int64_t n);
void scale_backward(const CudaContext& ctx, float* dx, const float* dy, float s, int64_t n);
}  // namespace cuda

namespace ops {
// a + b, both of the same shape (the residual add).
Var add(Graph& g, Var a, Var b);
// The backward of y = a + b on g's device: dy into the gradients of a and b that need one (fresh
// ones assigned, Graph::grad_out; a first, so that a == b gets both). ops::add and the fused
// ops::add_norm record it.
void add_backward(Graph& g, Var a, Var b, Var y);
// s · x.
Var scale(Graph& g, Var x, float s);
}  // namespace ops

}  // namespace icl

#pragma once
// Elementwise products that gate one activation by another.
//   multiply:        y = a ⊙ b                 (same shapes)       da += dy ⊙ b,  db += dy ⊙ a
//   scale_channels:  y[r, j] = d[j] · x[r, j]  x [..., C], d [C]   dx += dy ⊙ d,  dd[j] += Σ_r dy x
//   add_channels:    y[r, j] = x[r, j] + c[j]  x [..., C], c [C]   dx += dy,      dc[j] += Σ_r dy
// multiply is Mamba's output gate y ⊙ SiLU(z) and Hyena's data-controlled gates; scale_channels is
// Mamba's D·x skip; add_channels the bias of Mamba-1's short convolution. The dd (dc) sum runs over
// rows in row order inside one thread per block of channels, so no result depends on the thread
// count. The CUDA twins are in gating.cu.
#include <algorithm>

#include "core/blocks.h"
#include "core/cuda_context.h"
#include "core/graph.h"

namespace icl {

namespace kern {

inline constexpr int64_t kGatingBlock = int64_t(1) << 14;

template <class T>
void multiply_forward(T* y, const T* a, const T* b, int64_t n) {
  for_blocks(n, kGatingBlock, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) y[i] = a[i] * b[i];
  });
}

template <class T>
void multiply_backward(T* da, T* db, const T* dy, const T* a, const T* b, int64_t n) {
  for_blocks(n, kGatingBlock, [&](int64_t i0, int64_t i1) {
    if (da)
      for (int64_t i = i0; i < i1; ++i) da[i] += dy[i] * b[i];
    if (db)
      for (int64_t i = i0; i < i1; ++i) db[i] += dy[i] * a[i];
  });
}

template <class T>
void scale_channels_forward(T* y, const T* x, const T* d, int64_t R, int64_t C) {
  for_blocks(R, std::max<int64_t>(1, kGatingBlock / C), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t j = 0; j < C; ++j) y[r * C + j] = d[j] * x[r * C + j];
  });
}

template <class T>
void scale_channels_backward(T* dx, T* dd, const T* dy, const T* x, const T* d, int64_t R,
                             int64_t C) {
  if (dx)
    for_blocks(R, std::max<int64_t>(1, kGatingBlock / C), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t j = 0; j < C; ++j) dx[r * C + j] += dy[r * C + j] * d[j];
    });
  if (dd)
    for_blocks(C, 16, [&](int64_t j0, int64_t j1) {
      for (int64_t r = 0; r < R; ++r)
        for (int64_t j = j0; j < j1; ++j) dd[j] += dy[r * C + j] * x[r * C + j];
    });
}

template <class T>
void add_channels_forward(T* y, const T* x, const T* c, int64_t R, int64_t C) {
  for_blocks(R, std::max<int64_t>(1, kGatingBlock / C), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t j = 0; j < C; ++j) y[r * C + j] = x[r * C + j] + c[j];
  });
}

template <class T>
void add_channels_backward(T* dx, T* dc, const T* dy, int64_t R, int64_t C) {
  if (dx)
    for_blocks(R, std::max<int64_t>(1, kGatingBlock / C), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t j = 0; j < C; ++j) dx[r * C + j] += dy[r * C + j];
    });
  if (dc)
    for_blocks(C, 16, [&](int64_t j0, int64_t j1) {
      for (int64_t r = 0; r < R; ++r)
        for (int64_t j = j0; j < j1; ++j) dc[j] += dy[r * C + j];
    });
}

}  // namespace kern

namespace cuda {
void multiply_forward(const CudaContext& ctx, float* y, const float* a, const float* b, int64_t n);
void multiply_backward(const CudaContext& ctx, float* da, float* db, const float* dy,
                       const float* a, const float* b, int64_t n);
void scale_channels_forward(const CudaContext& ctx, float* y, const float* x, const float* d,
                            int64_t R, int64_t C);
void scale_channels_backward(const CudaContext& ctx, float* dx, float* dd, const float* dy,
                             const float* x, const float* d, int64_t R, int64_t C);
void add_channels_forward(const CudaContext& ctx, float* y, const float* x, const float* c,
                          int64_t R, int64_t C);
void add_channels_backward(const CudaContext& ctx, float* dx, float* dc, const float* dy, int64_t R,
                           int64_t C);
}  // namespace cuda

namespace ops {
// a ⊙ b, both of the same shape.
Var multiply(Graph& g, Var a, Var b);
// x [..., C] with channel j scaled by d[j], d [C].
Var scale_channels(Graph& g, Var x, Var d);
// x [..., C] with c[j] added to channel j, c [C].
Var add_channels(Graph& g, Var x, Var c);
}  // namespace ops

}  // namespace icl

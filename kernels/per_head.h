#pragma once
// Ops over the heads of a [..., H·d] activation (head h owns columns h·d .. h·d + d − 1 of every
// row, the layout of kernels/linear_recurrence.h), with R rows in all.
//   scale_heads:   y[r, h, :] = s[r, h] · x[r, h, :]                     s [..., H]
//   l2norm_heads:  y[r, h, :] = x[r, h, :] / √(‖x[r, h, :]‖² + ε)
//   ssm_decay:     y[r, h] = a or 2a − 1,  a = exp(−Δ[r, h] · exp(A_log[h]))  Δ [..., H], A_log [H]
// ssm_decay is Mamba's discretised transition exp(Δ·A) with A = −exp(A_log) < 0; its 2a − 1 form
// (Grazzi et al. 2025) moves the eigenvalue range from (0, 1] to (−1, 1].
// Backward adds (+=) into the input gradients. The A_log gradient sums over rows in row order
// inside one thread per head, so it does not depend on the thread count either.
// The CUDA twins are in per_head.cu.
#include <algorithm>
#include <cmath>

#include "core/blocks.h"
#include "core/cuda_context.h"
#include "core/graph.h"

namespace icl {

namespace kern {

template <class T>
void scale_heads_forward(T* y, const T* x, const T* s, int64_t R, int64_t H, int64_t d) {
  for_blocks(R, std::max<int64_t>(1, 16384 / (H * d)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t j = 0; j < d; ++j)
          y[(r * H + h) * d + j] = s[r * H + h] * x[(r * H + h) * d + j];
  });
}

template <class T>
void scale_heads_backward(T* dx, T* ds, const T* dy, const T* x, const T* s, int64_t R, int64_t H,
                          int64_t d) {
  for_blocks(R, std::max<int64_t>(1, 16384 / (H * d)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t h = 0; h < H; ++h) {
        const int64_t o = (r * H + h) * d;
        T acc = 0;
        for (int64_t j = 0; j < d; ++j) {
          if (dx) dx[o + j] += dy[o + j] * s[r * H + h];
          acc += dy[o + j] * x[o + j];
        }
        if (ds) ds[r * H + h] += acc;
      }
  });
}

template <class T>
void l2norm_heads_forward(T* y, const T* x, T eps, int64_t rows, int64_t d) {
  for_blocks(rows, std::max<int64_t>(1, 16384 / d), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      T ss = 0;
      for (int64_t j = 0; j < d; ++j) ss += x[r * d + j] * x[r * d + j];
      const T inv = T(1) / std::sqrt(ss + eps);
      for (int64_t j = 0; j < d; ++j) y[r * d + j] = x[r * d + j] * inv;
    }
  });
}

// dx = (dy − y (y·dy)) / √(‖x‖² + ε), per row of d (a head of a token).
template <class T>
void l2norm_heads_backward(T* dx, const T* dy, const T* y, const T* x, T eps, int64_t rows,
                           int64_t d) {
  if (!dx) return;
  for_blocks(rows, std::max<int64_t>(1, 16384 / d), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      T ss = 0, yd = 0;
      for (int64_t j = 0; j < d; ++j) {
        ss += x[r * d + j] * x[r * d + j];
        yd += y[r * d + j] * dy[r * d + j];
      }
      const T inv = T(1) / std::sqrt(ss + eps);
      for (int64_t j = 0; j < d; ++j) dx[r * d + j] += (dy[r * d + j] - y[r * d + j] * yd) * inv;
    }
  });
}

template <class T>
void ssm_decay_forward(T* y, const T* dt, const T* a_log, bool negative, int64_t R, int64_t H) {
  for_blocks(R, std::max<int64_t>(1, 16384 / H), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t h = 0; h < H; ++h) {
        const T a = std::exp(-dt[r * H + h] * std::exp(a_log[h]));
        y[r * H + h] = negative ? T(2) * a - T(1) : a;
      }
  });
}

template <class T>
void ssm_decay_backward(T* ddt, T* da_log, const T* dy, const T* dt, const T* a_log, bool negative,
                        int64_t R, int64_t H) {
  const T c = negative ? T(2) : T(1);
  // ∂y/∂Δ = −c · a · e and ∂y/∂A_log = −c · a · Δ · e, with e = exp(A_log).
  if (ddt)
    for_blocks(R, std::max<int64_t>(1, 16384 / H), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t h = 0; h < H; ++h) {
          const T e = std::exp(a_log[h]), a = std::exp(-dt[r * H + h] * e);
          ddt[r * H + h] -= dy[r * H + h] * c * a * e;
        }
    });
  if (da_log)
    for_blocks(H, 1, [&](int64_t h0, int64_t h1) {
      for (int64_t h = h0; h < h1; ++h) {
        const T e = std::exp(a_log[h]);
        T acc = 0;
        for (int64_t r = 0; r < R; ++r) {
          const T a = std::exp(-dt[r * H + h] * e);
          acc += dy[r * H + h] * a * dt[r * H + h];
        }
        da_log[h] -= c * e * acc;
      }
    });
}

}  // namespace kern

namespace cuda {
void scale_heads_forward(const CudaContext& ctx, float* y, const float* x, const float* s,
                         int64_t R, int64_t H, int64_t d);
void scale_heads_backward(const CudaContext& ctx, float* dx, float* ds, const float* dy,
                          const float* x, const float* s, int64_t R, int64_t H, int64_t d);
void l2norm_heads_forward(const CudaContext& ctx, float* y, const float* x, float eps, int64_t rows,
                          int64_t d);
void l2norm_heads_backward(const CudaContext& ctx, float* dx, const float* dy, const float* y,
                           const float* x, float eps, int64_t rows, int64_t d);
void ssm_decay_forward(const CudaContext& ctx, float* y, const float* dt, const float* a_log,
                       bool negative, int64_t R, int64_t H);
void ssm_decay_backward(const CudaContext& ctx, float* ddt, float* da_log, const float* dy,
                        const float* dt, const float* a_log, bool negative, int64_t R, int64_t H);
}  // namespace cuda

namespace ops {
// x [..., H·d] scaled per head by s [..., H] (same leading shape).
Var scale_heads(Graph& g, Var x, Var s);
// Each head of x [..., H·d] divided by its Euclidean norm (ε inside the root keeps 0 finite).
Var l2norm_heads(Graph& g, Var x, int64_t heads, float eps = 1e-6f);
// Per-head transitions from step sizes dt [..., H] and A_log [H]; negative: 2·exp(Δ·A) − 1.
Var ssm_decay(Graph& g, Var dt, Var a_log, bool negative);
}  // namespace ops

}  // namespace icl

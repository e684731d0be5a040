#pragma once
// Smooth pointwise maps that the linear-RNN mixers build their gates and feature maps from.
//   sigmoid_gate:  y = c · σ(x)^p       dy/dx = p · y · (1 − σ(x))
//   softplus:      y = log(1 + eˣ)      dy/dx = σ(x)
//   elu_plus_one:  y = elu(x) + 1       dy/dx = 1 (x > 0), eˣ (x ≤ 0)
//   silu:          y = x · σ(x)         dy/dx = σ(x) · (1 + x · (1 − σ(x)))
// sigmoid_gate covers DeltaNet's β (c = 1, or c = 2 for eigenvalues in [−1, 1]) and GLA's gate
// σ(·)^(1/τ) (p = 1/τ). σ(x)^p is evaluated as exp(−p · softplus(−x)), so p < 1 never takes a root
// of an underflowed σ: the gate of a very negative x is a tiny positive number, not 0 or NaN.
// Backward adds (+=) into dx. Every element is independent, so results do not depend on threads.
// The CUDA twins are in smooth_activations.cu.
#include <cmath>

#include "core/blocks.h"
#include "core/cuda_context.h"
#include "core/graph.h"

namespace icl {

namespace kern {

inline constexpr int64_t kSmoothBlock = int64_t(1) << 14;

// log(1 + eˣ) without overflow for large x or loss of precision for very negative x.
template <class T>
T stable_softplus(T x) {
  return x > T(0) ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}

template <class T>
T stable_sigmoid(T x) {
  if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
  const T e = std::exp(x);
  return e / (T(1) + e);
}

template <class T>
void sigmoid_gate_forward(T* y, const T* x, T c, T p, int64_t n) {
  for_blocks(n, kSmoothBlock, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) y[i] = c * std::exp(-p * stable_softplus(-x[i]));
  });
}

template <class T>
void sigmoid_gate_backward(T* dx, const T* dy, const T* y, const T* x, T p, int64_t n) {
  if (!dx) return;
  for_blocks(n, kSmoothBlock, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) dx[i] += dy[i] * p * y[i] * stable_sigmoid(-x[i]);
  });
}

template <class T>
void softplus_forward(T* y, const T* x, int64_t n) {
  for_blocks(n, kSmoothBlock, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) y[i] = stable_softplus(x[i]);
  });
}

template <class T>
void softplus_backward(T* dx, const T* dy, const T* x, int64_t n) {
  if (!dx) return;
  for_blocks(n, kSmoothBlock, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) dx[i] += dy[i] * stable_sigmoid(x[i]);
  });
}

template <class T>
void elu_plus_one_forward(T* y, const T* x, int64_t n) {
  for_blocks(n, kSmoothBlock, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) y[i] = x[i] > T(0) ? x[i] + T(1) : std::exp(x[i]);
  });
}

template <class T>
void elu_plus_one_backward(T* dx, const T* dy, const T* x, int64_t n) {
  if (!dx) return;
  for_blocks(n, kSmoothBlock, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) dx[i] += x[i] > T(0) ? dy[i] : dy[i] * std::exp(x[i]);
  });
}

template <class T>
void silu_forward(T* y, const T* x, int64_t n) {
  for_blocks(n, kSmoothBlock, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) y[i] = x[i] * stable_sigmoid(x[i]);
  });
}

template <class T>
void silu_backward(T* dx, const T* dy, const T* x, int64_t n) {
  if (!dx) return;
  for_blocks(n, kSmoothBlock, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const T s = stable_sigmoid(x[i]);
      dx[i] += dy[i] * s * (T(1) + x[i] * (T(1) - s));
    }
  });
}

}  // namespace kern

namespace cuda {
void sigmoid_gate_forward(const CudaContext& ctx, float* y, const float* x, float c, float p,
                          int64_t n);
void sigmoid_gate_backward(const CudaContext& ctx, float* dx, const float* dy, const float* y,
                           const float* x, float p, int64_t n);
void softplus_forward(const CudaContext& ctx, float* y, const float* x, int64_t n);
void softplus_backward(const CudaContext& ctx, float* dx, const float* dy, const float* x,
                       int64_t n);
void elu_plus_one_forward(const CudaContext& ctx, float* y, const float* x, int64_t n);
void elu_plus_one_backward(const CudaContext& ctx, float* dx, const float* dy, const float* x,
                           int64_t n);
void silu_forward(const CudaContext& ctx, float* y, const float* x, int64_t n);
void silu_backward(const CudaContext& ctx, float* dx, const float* dy, const float* x, int64_t n);
}  // namespace cuda

namespace ops {
// c · σ(x)^p, elementwise.
Var sigmoid_gate(Graph& g, Var x, float c = 1.f, float p = 1.f);
// log(1 + eˣ), elementwise.
Var softplus(Graph& g, Var x);
// elu(x) + 1 (Katharopoulos et al.'s feature map, positive everywhere), elementwise.
Var elu_plus_one(Graph& g, Var x);
// x · σ(x), elementwise.
Var silu(Graph& g, Var x);
}  // namespace ops

}  // namespace icl

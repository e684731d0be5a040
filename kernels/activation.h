#pragma once
// Activations, elementwise over n contiguous values; dx may be null, backward adds (+=).
//   gelu (GPT-2's tanh approximation), with k = √(2/π), a = 0.044715:
//     u = k·(x + a·x³),  t = tanh(u),  y = ½·x·(1 + t)
//     dy/dx = ½·(1 + t) + ½·x·(1 − t²)·k·(1 + 3a·x²)
//   relu:  y = max(x, 0),  dy/dx = 1 for x > 0, else 0 (the subgradient 0 at x = 0)
// Backward reads the input x, not the output.
#include <Eigen/Dense>
#include <algorithm>
#include <cmath>

#include "kernels/elementwise.h"

namespace icl {

namespace kern {

// tanh through Eigen's arrays: vectorised (a rational approximation accurate to a few ulp for
// float, std::tanh for double), where scalar tanhf dominated a whole training step.
template <class T>
using GeluChunk = Eigen::Array<T, Eigen::Dynamic, 1, 0, 1024, 1>;  // fixed storage: no allocation

template <class T>
void gelu_forward(T* y, const T* x, int64_t n) {
  const T k = T(0.7978845608028654), a = T(0.044715);  // √(2/π)
  for_blocks(n, kElementwiseBlock, [&](int64_t i0, int64_t i1) {
    for (int64_t c = i0; c < i1; c += 1024) {
      const int64_t len = std::min<int64_t>(1024, i1 - c);
      const Eigen::Map<const GeluChunk<T>> v(x + c, len);
      Eigen::Map<GeluChunk<T>>(y + c, len) = T(0.5) * v * (T(1) + (k * (v + a * v.cube())).tanh());
    }
  });
}

template <class T>
void gelu_backward(T* dx, const T* dy, const T* x, int64_t n, bool accumulate = true) {
  if (!dx) return;
  const T k = T(0.7978845608028654), a = T(0.044715);
  for_blocks(n, kElementwiseBlock, [&](int64_t i0, int64_t i1) {
    for (int64_t c = i0; c < i1; c += 1024) {
      const int64_t len = std::min<int64_t>(1024, i1 - c);
      const Eigen::Map<const GeluChunk<T>> v(x + c, len), d(dy + c, len);
      const GeluChunk<T> t = (k * (v + a * v.cube())).tanh();
      const auto g =
          d * (T(0.5) * (T(1) + t) + T(0.5) * v * (T(1) - t * t) * k * (T(1) + T(3) * a * v * v));
      if (accumulate)
        Eigen::Map<GeluChunk<T>>(dx + c, len) += g;
      else
        Eigen::Map<GeluChunk<T>>(dx + c, len) = g;
    }
  });
}

template <class T>
void relu_forward(T* y, const T* x, int64_t n) {
  for_blocks(n, kElementwiseBlock, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) y[i] = x[i] > T(0) ? x[i] : T(0);
  });
}

template <class T>
void relu_backward(T* dx, const T* dy, const T* x, int64_t n) {
  if (!dx) return;
  for_blocks(n, kElementwiseBlock, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) dx[i] += x[i] > T(0) ? dy[i] : T(0);
  });
}

}  // namespace kern

// The CUDA twins (kernels/*.cu): same math, layout and accumulation (+=) as kern::, on device
// pointers, enqueued on the context's stream. Defined only in CUDA builds; ops dispatch to them
// when their Graph is on a GPU.
namespace cuda {
void gelu_forward(const CudaContext& ctx, float* y, const float* x, int64_t n);
void gelu_backward(const CudaContext& ctx, float* dx, const float* dy, const float* x, int64_t n);
void relu_forward(const CudaContext& ctx, float* y, const float* x, int64_t n);
void relu_backward(const CudaContext& ctx, float* dx, const float* dy, const float* x, int64_t n);
}  // namespace cuda

namespace ops {
// Elementwise on a tensor of any shape.
Var gelu(Graph& g, Var x);
Var relu(Graph& g, Var x);
}  // namespace ops

}  // namespace icl

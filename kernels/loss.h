#pragma once
// Losses: each is the mean of a per-element loss ℓ_i over the scored elements,
//   L = (1 / S) Σ_{i scored} ℓ_i,   S = #scored,
// where element i is scored when mask is null or mask[i] != 0. With S = 0 the loss is 0 and no
// gradient flows. Unscored elements are never read (their targets may be anything, even NaN or
// −1). Per-element work is in T; the sum over elements is in fp64, serially in element order,
// so the value does not depend on the thread count. Backward adds dL·∂L/∂input into the gradient
// (may be null); dL is the gradient of the loss scalar.
//
//   mse:       pred [N], target [N]:        ℓ_i = (z_i − y_i)²,          ∂ℓ_i/∂z_i = 2 (z_i − y_i)
//   logistic:  logit [N], target [N] ±1:    ℓ_i = softplus(−y_i z_i) = log(1 + exp(−y_i z_i)),
//                                           ∂ℓ_i/∂z_i = −y_i σ(−y_i z_i)
//              softplus(a) = max(a, 0) + log1p(exp(−|a|)) never overflows.
//   cross-entropy: logits [N, V], target [N] int32 in [0, V):
//              ℓ_n = lse_n − z[n, t_n],  lse_n = m_n + log Σ_v exp(z[n, v] − m_n),  m_n = max_v
//              z[n, v] ∂ℓ_n/∂z[n, v] = softmax(z_n)[v] − [v = t_n] The forward writes lse [N] (0
//              for unscored rows) for the backward. Rows run in fixed blocks; each row is computed
//              by one thread.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "core/blocks.h"
#include "core/cuda_context.h"
#include "core/graph.h"

namespace icl {

namespace kern {

inline bool scored(const float* mask, int64_t i) { return !mask || mask[i] != 0.f; }

inline int64_t count_scored(const float* mask, int64_t N) {
  if (!mask) return N;
  int64_t s = 0;
  for (int64_t i = 0; i < N; ++i) s += mask[i] != 0.f;
  return s;
}

template <class T>
T mse_forward(const T* pred, const float* target, const float* mask, int64_t N) {
  const int64_t S = count_scored(mask, N);
  if (S == 0) return T(0);
  double sum = 0;
  for (int64_t i = 0; i < N; ++i)
    if (scored(mask, i)) {
      const T d = pred[i] - T(target[i]);
      sum += double(d * d);
    }
  return T(sum / double(S));
}

template <class T>
void mse_backward(T* dpred, T dloss, const T* pred, const float* target, const float* mask,
                  int64_t N) {
  const int64_t S = count_scored(mask, N);
  if (!dpred || S == 0) return;
  const T scale = dloss * T(2) / T(S);
  for (int64_t i = 0; i < N; ++i)
    if (scored(mask, i)) dpred[i] += scale * (pred[i] - T(target[i]));
}

template <class T>
T softplus(T a) {
  return std::max(a, T(0)) + std::log1p(std::exp(-std::abs(a)));
}

template <class T>
T sigmoid(T a) {
  if (a >= T(0)) return T(1) / (T(1) + std::exp(-a));
  const T e = std::exp(a);
  return e / (T(1) + e);
}

template <class T>
T logistic_forward(const T* logit, const float* target, const float* mask, int64_t N) {
  const int64_t S = count_scored(mask, N);
  if (S == 0) return T(0);
  double sum = 0;
  for (int64_t i = 0; i < N; ++i)
    if (scored(mask, i)) sum += double(softplus(-T(target[i]) * logit[i]));
  return T(sum / double(S));
}

template <class T>
void logistic_backward(T* dlogit, T dloss, const T* logit, const float* target, const float* mask,
                       int64_t N) {
  const int64_t S = count_scored(mask, N);
  if (!dlogit || S == 0) return;
  const T scale = dloss / T(S);
  for (int64_t i = 0; i < N; ++i)
    if (scored(mask, i)) {
      const T y = T(target[i]);
      dlogit[i] -= scale * y * sigmoid(-y * logit[i]);
    }
}

// Targets of scored rows must lie in [0, V); ops::cross_entropy checks them.
template <class T>
T cross_entropy_forward(T* lse, const T* logits, const int32_t* targets, const float* mask,
                        int64_t N, int64_t V) {
  for_blocks(N, 32, [&](int64_t r0, int64_t r1) {
    for (int64_t n = r0; n < r1; ++n) {
      if (!scored(mask, n)) {
        lse[n] = T(0);
        continue;
      }
      const T* z = logits + n * V;
      T m = z[0];
      for (int64_t v = 1; v < V; ++v) m = std::max(m, z[v]);
      T s = 0;
      for (int64_t v = 0; v < V; ++v) s += std::exp(z[v] - m);
      lse[n] = m + std::log(s);
    }
  });
  const int64_t S = count_scored(mask, N);
  if (S == 0) return T(0);
  double sum = 0;
  for (int64_t n = 0; n < N; ++n)
    if (scored(mask, n)) sum += double(lse[n] - logits[n * V + targets[n]]);
  return T(sum / double(S));
}

template <class T>
void cross_entropy_backward(T* dlogits, T dloss, const T* lse, const T* logits,
                            const int32_t* targets, const float* mask, int64_t N, int64_t V) {
  const int64_t S = count_scored(mask, N);
  if (!dlogits || S == 0) return;
  const T scale = dloss / T(S);
  for_blocks(N, 32, [&](int64_t r0, int64_t r1) {
    for (int64_t n = r0; n < r1; ++n) {
      if (!scored(mask, n)) continue;
      const T* z = logits + n * V;
      T* dz = dlogits + n * V;
      const T l = lse[n];
      for (int64_t v = 0; v < V; ++v) dz[v] += scale * std::exp(z[v] - l);
      dz[targets[n]] -= scale;
    }
  });
}

}  // namespace kern

// The CUDA twins (kernels/*.cu): same math, layout and accumulation (+=) as kern::, on device
// pointers, enqueued on the context's stream. Defined only in CUDA builds; ops dispatch to them
// when their Graph is on a GPU.
namespace cuda {
// The loss and the count of scored elements are reduced on the GPU (one block, fixed tree order,
// fp64), so nothing is read back and a captured step works with masks that change between steps.
// dloss is the device gradient of the loss scalar.
void mse_forward(const CudaContext& ctx, float* loss, const float* pred, const float* target,
                 const float* mask, int64_t N);
void mse_backward(const CudaContext& ctx, float* dpred, const float* dloss, const float* pred,
                  const float* target, const float* mask, int64_t N);
void logistic_forward(const CudaContext& ctx, float* loss, const float* logit, const float* target,
                      const float* mask, int64_t N);
void logistic_backward(const CudaContext& ctx, float* dlogit, const float* dloss,
                       const float* logit, const float* target, const float* mask, int64_t N);
void cross_entropy_forward(const CudaContext& ctx, float* loss, float* lse, const float* logits,
                           const int32_t* targets, const float* mask, int64_t N, int64_t V);
void cross_entropy_backward(const CudaContext& ctx, float* dlogits, const float* dloss,
                            const float* lse, const float* logits, const int32_t* targets,
                            const float* mask, int64_t N, int64_t V);
}  // namespace cuda

namespace ops {
// Each returns a scalar Var of shape [1]. target/targets and mask are CPU tensors that outlive the
// step's backward; mask is float with one entry per scored unit (element, or row for
// cross_entropy), 1 = scored, or undefined (ptr == nullptr) for all scored.
// pred: any shape, N elements; target: N floats.
Var mse_loss(Graph& g, Var pred, const Tensor& target, const Tensor& mask = {});
// logit: any shape, N elements; target: N floats, each −1 or +1 where scored.
Var logistic_loss(Graph& g, Var logit, const Tensor& target, const Tensor& mask = {});
// logits [..., V] (N rows); targets: N int32, in [0, V) where scored.
Var cross_entropy(Graph& g, Var logits, const Tensor& targets, const Tensor& mask = {});
}  // namespace ops

}  // namespace icl

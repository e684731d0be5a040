#pragma once
// LayerNorm over the last dimension C of x [N, C]:
//   forward:  μ = mean(x),  rstd = 1/√(mean((x − μ)²) + eps)   (biased variance)
//             x̂ = (x − μ)·rstd,  y = x̂·γ + β                   γ, β [C]; saves μ, rstd [N]
//   backward: dŷ = dy·γ
//             dx += rstd·(dŷ − mean(dŷ) − x̂·mean(dŷ·x̂))        (means over the row)
//             dγ += Σ_n dy·x̂,  dβ += Σ_n dy
// mean/rstd may be null in the forward (nothing saved, for steps without gradients); any of dx,
// dγ, dβ may be null. Rows are processed in fixed blocks (a row's sums in row_sum's fixed lanes)
// and dγ/dβ in fixed column blocks, each summing over all N rows in row order, so the result does
// not depend on the thread count.
#include <cmath>

#include "core/blocks.h"
#include "core/cuda_context.h"
#include "core/graph.h"
#include "kernels/row_sum.h"

namespace icl {

namespace kern {

template <class T>
void layernorm_forward(T* y, T* mean, T* rstd, const T* x, const T* gamma, const T* beta, int64_t N,
                       int64_t C, T eps) {
  for_blocks(N, 64, [&](int64_t r0, int64_t r1) {
    for (int64_t n = r0; n < r1; ++n) {
      const T* xr = x + n * C;
      T* yr = y + n * C;
      const T m = row_sum<T>(C, [&](int64_t c) { return xr[c]; }) / T(C);
      const T v = row_sum<T>(C, [&](int64_t c) { return (xr[c] - m) * (xr[c] - m); });
      const T r = T(1) / std::sqrt(v / T(C) + eps);
      for (int64_t c = 0; c < C; ++c) yr[c] = (xr[c] - m) * r * gamma[c] + beta[c];
      if (mean) mean[n] = m;
      if (rstd) rstd[n] = r;
    }
  });
}

template <class T>
void layernorm_backward(T* dx, T* dgamma, T* dbeta, const T* dy, const T* x, const T* gamma,
                        const T* mean, const T* rstd, int64_t N, int64_t C,
                        bool dx_accumulate = true) {
  if (dx)
    for_blocks(N, 64, [&](int64_t r0, int64_t r1) {
      for (int64_t n = r0; n < r1; ++n) {
        const T *xr = x + n * C, *dyr = dy + n * C;
        T* dxr = dx + n * C;
        const T m = mean[n], r = rstd[n];
        // mean(dŷ), mean(dŷ·x̂)
        const T s1 = row_sum<T>(C, [&](int64_t c) { return dyr[c] * gamma[c]; }) / T(C);
        const T s2 =
            row_sum<T>(C, [&](int64_t c) { return dyr[c] * gamma[c] * (xr[c] - m) * r; }) / T(C);
        if (!dx_accumulate) std::fill(dxr, dxr + C, T(0));  // a fresh buffer (Graph::grad_out)
        for (int64_t c = 0; c < C; ++c)
          dxr[c] += r * (dyr[c] * gamma[c] - s1 - (xr[c] - m) * r * s2);
      }
    });
  if (dgamma || dbeta) {
    constexpr int64_t kCols = 32;
    for_blocks(C, kCols, [&](int64_t c0, int64_t c1) {
      const int64_t w = c1 - c0;
      T sg[kCols] = {}, sb[kCols] = {};
      for (int64_t n = 0; n < N; ++n) {
        const T *xr = x + n * C + c0, *dyr = dy + n * C + c0;
        const T m = mean[n], r = rstd[n];
        for (int64_t j = 0; j < w; ++j) {
          sg[j] += dyr[j] * (xr[j] - m) * r;
          sb[j] += dyr[j];
        }
      }
      for (int64_t j = 0; j < w; ++j) {
        if (dgamma) dgamma[c0 + j] += sg[j];
        if (dbeta) dbeta[c0 + j] += sb[j];
      }
    });
  }
}

}  // namespace kern

// The CUDA twins (kernels/*.cu): same math, layout and accumulation (+=) as kern::, on device
// pointers, enqueued on the context's stream. Defined only in CUDA builds; ops dispatch to them
// when their Graph is on a GPU.
namespace cuda {
void layernorm_forward(const CudaContext& ctx, float* y, float* mean, float* rstd, const float* x,
                       const float* gamma, const float* beta, int64_t N, int64_t C, float eps);
void layernorm_backward(const CudaContext& ctx, float* dx, float* dgamma, float* dbeta,
                        const float* dy, const float* x, const float* gamma, const float* mean,
                        const float* rstd, int64_t N, int64_t C);
// Residual add fused with the norm: s = a + b, y = LayerNorm(s). Forward only writes s and y
// (and mean/rstd); the backward of the pair is add_backward after layernorm_backward.
void add_layernorm_forward(const CudaContext& ctx, float* s, float* y, float* mean, float* rstd,
                           const float* a, const float* b, const float* gamma, const float* beta,
                           int64_t N, int64_t C, float eps);
}  // namespace cuda

namespace ops {
// x [..., C] (any leading shape), gamma [C], beta [C] → [..., C].
Var layernorm(Graph& g, Var x, Var gamma, Var beta, float eps = 1e-5f);
// The backward of y = layernorm(x) on g's device, from the forward's saved mean and rstd: the
// gradients of x (assigned when fresh, Graph::grad_out), gamma and beta, those that need one.
// ops::layernorm and the fused ops::add_norm record it.
void layernorm_backward(Graph& g, Var x, Var gamma, Var beta, Var y, const float* mean,
                        const float* rstd);
}  // namespace ops

}  // namespace icl

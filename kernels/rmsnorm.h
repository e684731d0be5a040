#pragma once
// RMSNorm over the last dimension C of x [N, C]:
//   forward:  rstd = 1/√(mean(x²) + eps),  x̂ = x·rstd,  y = x̂·γ      γ [C]; saves rstd [N]
//   backward: dŷ = dy·γ
//             dx += rstd·(dŷ − x̂·mean(dŷ·x̂))                         (mean over the row)
//             dγ += Σ_n dy·x̂
// rstd may be null in the forward (nothing saved); dx or dγ may be null. Rows are processed in
// fixed blocks (a row's sums in row_sum's fixed lanes) and dγ in fixed column blocks, each summing
// over all N rows in row order, so the result does not depend on the thread count.
#include <cmath>

#include "core/blocks.h"
#include "core/cuda_context.h"
#include "core/graph.h"
#include "kernels/row_sum.h"

namespace icl {

namespace kern {

template <class T>
void rmsnorm_forward(T* y, T* rstd, const T* x, const T* gamma, int64_t N, int64_t C, T eps) {
  for_blocks(N, 64, [&](int64_t r0, int64_t r1) {
    for (int64_t n = r0; n < r1; ++n) {
      const T* xr = x + n * C;
      T* yr = y + n * C;
      const T ss = row_sum<T>(C, [&](int64_t c) { return xr[c] * xr[c]; });
      const T r = T(1) / std::sqrt(ss / T(C) + eps);
      for (int64_t c = 0; c < C; ++c) yr[c] = xr[c] * r * gamma[c];
      if (rstd) rstd[n] = r;
    }
  });
}

template <class T>
void rmsnorm_backward(T* dx, T* dgamma, const T* dy, const T* x, const T* gamma, const T* rstd,
                      int64_t N, int64_t C) {
  if (dx)
    for_blocks(N, 64, [&](int64_t r0, int64_t r1) {
      for (int64_t n = r0; n < r1; ++n) {
        const T *xr = x + n * C, *dyr = dy + n * C;
        T* dxr = dx + n * C;
        const T r = rstd[n];
        // mean(dŷ·x̂)
        const T s = row_sum<T>(C, [&](int64_t c) { return dyr[c] * gamma[c] * xr[c] * r; }) / T(C);
        for (int64_t c = 0; c < C; ++c) dxr[c] += r * (dyr[c] * gamma[c] - xr[c] * r * s);
      }
    });
  if (dgamma) {
    constexpr int64_t kCols = 32;
    for_blocks(C, kCols, [&](int64_t c0, int64_t c1) {
      const int64_t w = c1 - c0;
      T sg[kCols] = {};
      for (int64_t n = 0; n < N; ++n) {
        const T *xr = x + n * C + c0, *dyr = dy + n * C + c0;
        const T r = rstd[n];
        for (int64_t j = 0; j < w; ++j) sg[j] += dyr[j] * xr[j] * r;
      }
      for (int64_t j = 0; j < w; ++j) dgamma[c0 + j] += sg[j];
    });
  }
}

}  // namespace kern

// The CUDA twins (kernels/*.cu): same math, layout and accumulation (+=) as kern::, on device
// pointers, enqueued on the context's stream. Defined only in CUDA builds; ops dispatch to them
// when their Graph is on a GPU.
namespace cuda {
void rmsnorm_forward(const CudaContext& ctx, float* y, float* rstd, const float* x,
                     const float* gamma, int64_t N, int64_t C, float eps);
void rmsnorm_backward(const CudaContext& ctx, float* dx, float* dgamma, const float* dy,
                      const float* x, const float* gamma, const float* rstd, int64_t N, int64_t C);
// Residual add fused with the norm: s = a + b, y = RMSNorm(s).
void add_rmsnorm_forward(const CudaContext& ctx, float* s, float* y, float* rstd, const float* a,
                         const float* b, const float* gamma, int64_t N, int64_t C, float eps);
}  // namespace cuda

namespace ops {
// x [..., C] (any leading shape), gamma [C] → [..., C].
Var rmsnorm(Graph& g, Var x, Var gamma, float eps = 1e-5f);
}  // namespace ops

}  // namespace icl

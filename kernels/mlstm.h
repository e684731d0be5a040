#pragma once
// The two ops that turn the gated linear recurrence into xLSTM's mLSTM cell (Beck et al. 2024):
//     C_t = f_t C_{t−1} + i_t v_t k_tᵀ,   n_t = f_t n_{t−1} + i_t k_t,
//     h_t = C_t q_t / max(|n_tᵀ q_t|, 1),   f_t = σ(f̃_t),   i_t = exp(ĩ_t)
// per head, computed in the paper's stabilised form: with m_0 = 0 and
//     m_t = max(log f_t + m_{t−1}, ĩ_t),
// the recurrences run with f'_t = exp(log f_t + m_{t−1} − m_t) ≤ 1 and i'_t = exp(ĩ_t − m_t) ≤ 1,
// which scales C_t and n_t by exp(−m_t), and the normaliser becomes max(|n'_tᵀ q_t|, exp(−m_t)).
// h_t is unchanged by this, for any m: m only keeps exp(ĩ) from overflowing. So m's own gradient
// is zero and the backward treats it as a constant (as the paper's reference kernels do).
//
//   mlstm_stabilise(f̃, ĩ) -> decay f', input scale i', floor exp(−m)      all [B, T, H]
//       backward: df̃ += df' · f' · σ(−f̃),  dĩ += di' · i'  (the floor gets no gradient)
//   mlstm_normalise(o [B, T, H·d], den [B, T, H], floor [B, T, H])
//       y = o / max(|den|, floor) per head;  backward: do += dy / z,
//       dden += −sign(den) (dy·o) / z² where |den| > floor (z the max)
// One thread owns a whole (b, h) sequence in the scan, so results do not depend on the thread
// count. The CUDA twins are in mlstm.cu.
#include <algorithm>
#include <cmath>

#include "core/blocks.h"
#include "core/graph.h"
#include "kernels/smooth_activations.h"

namespace icl {

namespace kern {

template <class T>
void mlstm_stabilise_forward(T* decay, T* in_scale, T* floor, const T* f_pre, const T* i_pre,
                             int64_t B, int64_t L, int64_t H) {
  for_blocks(B * H, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t b = p / H, h = p % H;
      T m = 0;
      for (int64_t t = 0; t < L; ++t) {
        const int64_t i = (b * L + t) * H + h;
        const T log_f = -stable_softplus(-f_pre[i]);
        const T m_next = std::max(log_f + m, i_pre[i]);
        decay[i] = std::exp(log_f + m - m_next);
        in_scale[i] = std::exp(i_pre[i] - m_next);
        floor[i] = std::exp(-m_next);
        m = m_next;
      }
    }
  });
}

template <class T>
void mlstm_stabilise_backward(T* df_pre, T* di_pre, const T* ddecay, const T* din_scale,
                              const T* decay, const T* in_scale, const T* f_pre, int64_t n) {
  for_blocks(n, kSmoothBlock, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      if (df_pre) df_pre[i] += ddecay[i] * decay[i] * stable_sigmoid(-f_pre[i]);
      if (di_pre) di_pre[i] += din_scale[i] * in_scale[i];
    }
  });
}

template <class T>
void mlstm_normalise_forward(T* y, const T* o, const T* den, const T* floor, int64_t R, int64_t H,
                             int64_t d) {
  for_blocks(R * H, std::max<int64_t>(1, 16384 / d), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T z = std::max(std::abs(den[r]), floor[r]);
      for (int64_t j = 0; j < d; ++j) y[r * d + j] = o[r * d + j] / z;
    }
  });
}

template <class T>
void mlstm_normalise_backward(T* d_o, T* dden, const T* dy, const T* o, const T* den,
                              const T* floor, int64_t R, int64_t H, int64_t d) {
  for_blocks(R * H, std::max<int64_t>(1, 16384 / d), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T z = std::max(std::abs(den[r]), floor[r]);
      T dot = 0;
      for (int64_t j = 0; j < d; ++j) {
        if (d_o) d_o[r * d + j] += dy[r * d + j] / z;
        dot += dy[r * d + j] * o[r * d + j];
      }
      if (dden && std::abs(den[r]) > floor[r])
        dden[r] -= (den[r] > T(0) ? T(1) : T(-1)) * dot / (z * z);
    }
  });
}

}  // namespace kern

namespace cuda {
void mlstm_stabilise_forward(const CudaContext& ctx, float* decay, float* in_scale, float* floor,
                             const float* f_pre, const float* i_pre, int64_t B, int64_t L,
                             int64_t H);
void mlstm_stabilise_backward(const CudaContext& ctx, float* df_pre, float* di_pre,
                              const float* ddecay, const float* din_scale, const float* decay,
                              const float* in_scale, const float* f_pre, int64_t n);
void mlstm_normalise_forward(const CudaContext& ctx, float* y, const float* o, const float* den,
                             const float* floor, int64_t R, int64_t H, int64_t d);
void mlstm_normalise_backward(const CudaContext& ctx, float* d_o, float* dden, const float* dy,
                              const float* o, const float* den, const float* floor, int64_t R,
                              int64_t H, int64_t d);
}  // namespace cuda

namespace ops {

struct MlstmGates {
  Var decay;        // f' [B, T, H]
  Var input_scale;  // i' [B, T, H]
  Var floor;        // exp(−m) [B, T, H], no gradient
};

// Stabilised gates from the pre-activations f̃, ĩ [B, T, H].
MlstmGates mlstm_stabilise(Graph& g, Var f_pre, Var i_pre);
// o [B, T, H·d] divided per head by max(|den|, floor), den and floor [B, T, H].
Var mlstm_normalise(Graph& g, Var o, Var den, Var floor);

}  // namespace ops

}  // namespace icl

#pragma once
// LSTM recurrence over a sequence, given the input projections.
//
// Layout (see kernels/rnn_common.h). gates_x [B, T, 4H]: the input pre-activations x_t W_x + b of
// the four gates, bias included by the caller, in PyTorch's gate order
//     columns [0, H) input i,  [H, 2H) forget f,  [2H, 3H) cell candidate g,  [3H, 4H) output o.
// W_h [H, 4H] the recurrent weight in the same column order. h0, c0 [B, H] (absent: zeros).
// For every batch element, t = 1..T, with a_t = h_{t−1} W_h + gates_x_t:
//     i = σ(a_i),  f = σ(a_f),  g = tanh(a_g),  o = σ(a_o)
//     c_t = f ⊙ c_{t−1} + i ⊙ g,      h_t = o ⊙ tanh(c_t)
// Outputs h [B, T, H] and, when asked for, the final state h_T, c_T [B, H].
//
// The forward saves, per step, the four activated gates and c_t: saved [B, T, 5H] (null when no
// backward follows). The backward runs through time from the gradient dh of every h_t and the
// gradients dh_T, dc_T of the final state (any may be null: zero), carrying dh, dc backwards:
//     dh_t ← dh_t + (carried);  dc_t ← dc_t + dh_t ⊙ o ⊙ (1 − tanh²c_t)
//     da_i = dc_t ⊙ g ⊙ i(1 − i),   da_f = dc_t ⊙ c_{t−1} ⊙ f(1 − f),
//     da_g = dc_t ⊙ i ⊙ (1 − g²),   da_o = dh_t ⊙ tanh(c_t) ⊙ o(1 − o)
//     carried: dh_{t−1} = da_t W_hᵀ,  dc_{t−1} = dc_t ⊙ f
// giving dgates_x = da, dW_h = Σ_{b,t} h_{t−1}ᵀ da_t, dh0 and dc0 (the carried values after step
// 1). All gradients accumulate (+=); any output may be null. `work` [B, T, 4H] holds da for the
// weight gradient (needed only when dW_h is asked for).
#include "core/cuda_context.h"
#include "core/graph.h"
#include "kernels/rnn_common.h"

namespace icl {
namespace kern {

template <class T>
void lstm_forward(T* h, T* h_last, T* c_last, T* saved, const T* gates_x, const T* w_h, const T* h0,
                  const T* c0, const RnnDims& d) {
  using namespace rnn;
  const int64_t H = d.H, G = 4 * H;
  parallel_for(d.B, [&](int64_t b) {
    Row<T> hp = row_or_zero(h0, b, H), c = row_or_zero(c0, b, H), a(G);
    for (int64_t t = 0; t < d.T; ++t) {
      const int64_t tok = b * d.T + t;
      row_times(a.data(), hp.data(), w_h, H, G);
      a += ConstRowMap<T>(gates_x + tok * G, G);
      T* ht = h + tok * H;
      T* s = saved ? saved + tok * 5 * H : nullptr;
      for (int64_t j = 0; j < H; ++j) {
        const T i = sigmoid(a[j]), f = sigmoid(a[H + j]), g = std::tanh(a[2 * H + j]),
                o = sigmoid(a[3 * H + j]);
        c[j] = f * c[j] + i * g;
        ht[j] = o * std::tanh(c[j]);
        if (s) {
          s[j] = i;
          s[H + j] = f;
          s[2 * H + j] = g;
          s[3 * H + j] = o;
          s[4 * H + j] = c[j];
        }
      }
      hp = ConstRowMap<T>(ht, H);
    }
    if (h_last) RowMap<T>(h_last + b * H, H) = hp;
    if (c_last) RowMap<T>(c_last + b * H, H) = c;
  });
}

template <class T>
void lstm_backward(T* dgates_x, T* dw_h, T* dh0, T* dc0, T* work, const T* dh, const T* dh_last,
                   const T* dc_last, const T* w_h, const T* h0, const T* c0, const T* h,
                   const T* saved, const RnnDims& d) {
  using namespace rnn;
  ICL_ASSERT(saved && (work || !dw_h));
  const int64_t H = d.H, G = 4 * H;
  const Mat<T> Wt = transposed(w_h, H, G);
  parallel_for(d.B, [&](int64_t b) {
    Row<T> dhc = row_or_zero(dh_last, b, H), dc = row_or_zero(dc_last, b, H), da(G);
    const Row<T> c_init = row_or_zero(c0, b, H);
    for (int64_t t = d.T - 1; t >= 0; --t) {
      const int64_t tok = b * d.T + t;
      const T* s = saved + tok * 5 * H;
      const T* cp = t > 0 ? saved + (tok - 1) * 5 * H + 4 * H : c_init.data();
      const T* dht = dh ? dh + tok * H : nullptr;
      for (int64_t j = 0; j < H; ++j) {
        const T i = s[j], f = s[H + j], g = s[2 * H + j], o = s[3 * H + j],
                tc = std::tanh(s[4 * H + j]);
        const T dhj = dht ? dhc[j] + dht[j] : dhc[j];
        const T dcj = dc[j] + dhj * o * (T(1) - tc * tc);
        da[j] = dcj * g * i * (T(1) - i);
        da[H + j] = dcj * cp[j] * f * (T(1) - f);
        da[2 * H + j] = dcj * i * (T(1) - g * g);
        da[3 * H + j] = dhj * tc * o * (T(1) - o);
        dc[j] = dcj * f;
      }
      row_times(dhc.data(), da.data(), Wt.data(), G, H);
      if (dgates_x) RowMap<T>(dgates_x + tok * G, G) += da;
      if (work) RowMap<T>(work + tok * G, G) = da;
    }
    if (dh0) RowMap<T>(dh0 + b * H, H) += dhc;
    if (dc0) RowMap<T>(dc0 + b * H, H) += dc;
  });
  add_weight_grad(dw_h, h, h0, work, G, d);
}

}  // namespace kern

namespace cuda {
void lstm_forward(const CudaContext& ctx, float* h, float* h_last, float* c_last, float* saved,
                  const float* gates_x, const float* w_h, const float* h0, const float* c0,
                  const RnnDims& d);
void lstm_backward(const CudaContext& ctx, float* dgates_x, float* dw_h, float* dh0, float* dc0,
                   float* work, const float* dh, const float* dh_last, const float* dc_last,
                   const float* w_h, const float* h0, const float* c0, const float* h,
                   const float* saved, const RnnDims& d);
}  // namespace cuda

namespace ops {

// h [B, T, H]; h_last, c_last [B, H] when asked for, else empty.
struct LstmResult {
  Var h, h_last, c_last;
};

// gates_x [B, T, 4H] (gate order i, f, g, o), w_h [H, 4H], h0 and c0 [B, H] or empty Vars
// (zeros). On a GPU, lstm.cu (one block per batch element).
LstmResult lstm(Graph& g, Var gates_x, Var w_h, Var h0 = {}, Var c0 = {}, bool final_state = false);

}  // namespace ops
}  // namespace icl

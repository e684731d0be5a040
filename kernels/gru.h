#pragma once
// GRU recurrence over a sequence, given the input projections, in PyTorch's convention (the reset
// gate multiplies the recurrent term of the candidate after its matrix product, bias included).
//
// Layout (see kernels/rnn_common.h). gates_x [B, T, 3H]: the input pre-activations x_t W_x + b_x,
// gate order
//     columns [0, H) reset r,  [H, 2H) update z,  [2H, 3H) candidate n.
// W_h [H, 3H] the recurrent weight in the same column order; b_hn [H] the recurrent bias of the
// candidate (absent: zero). PyTorch's recurrent biases of r and z only add to the input ones, so
// the caller folds them into gates_x; b_hn cannot be folded because r multiplies it. h0 [B, H]
// (absent: zeros). For every batch element, t = 1..T, with u_t = h_{t−1} W_h, u_n += b_hn:
//     r = σ(x_r + u_r),  z = σ(x_z + u_z),  n = tanh(x_n + r ⊙ u_n)
//     h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}
// Outputs h [B, T, H] and, when asked for, h_T [B, H].
//
// The forward saves r, z, n and u_n per step: saved [B, T, 4H] (null when no backward follows).
// The backward runs through time from dh (every h_t) and dh_T (either may be null), carrying dh:
//     dz = dh ⊙ (h_{t−1} − n),  dn = dh ⊙ (1 − z),  dp_n = dn ⊙ (1 − n²)
//     du_n = dp_n ⊙ r,  dp_r = dp_n ⊙ u_n ⊙ r(1 − r),  dp_z = dz ⊙ z(1 − z)
//     dgates_x = (dp_r, dp_z, dp_n),  du = (dp_r, dp_z, du_n)
//     carried: dh_{t−1} = du W_hᵀ + dh ⊙ z
// giving dW_h = Σ_{b,t} h_{t−1}ᵀ du_t, db_hn = Σ_{b,t} du_n and dh0. All gradients accumulate (+=);
// any may be null. `work` [B, T, 3H] holds du (needed when dW_h or db_hn is asked for).
#include "core/cuda_context.h"
#include "core/graph.h"
#include "kernels/rnn_common.h"

namespace icl {
namespace kern {

template <class T>
void gru_forward(T* h, T* h_last, T* saved, const T* gates_x, const T* w_h, const T* b_hn,
                 const T* h0, const RnnDims& d) {
  using namespace rnn;
  const int64_t H = d.H, G = 3 * H;
  parallel_for(d.B, [&](int64_t b) {
    Row<T> hp = row_or_zero(h0, b, H), u(G);
    for (int64_t t = 0; t < d.T; ++t) {
      const int64_t tok = b * d.T + t;
      const T* x = gates_x + tok * G;
      row_times(u.data(), hp.data(), w_h, H, G);
      T* ht = h + tok * H;
      T* s = saved ? saved + tok * 4 * H : nullptr;
      for (int64_t j = 0; j < H; ++j) {
        const T un = b_hn ? u[2 * H + j] + b_hn[j] : u[2 * H + j];
        const T r = sigmoid(x[j] + u[j]), z = sigmoid(x[H + j] + u[H + j]),
                n = std::tanh(x[2 * H + j] + r * un);
        ht[j] = (T(1) - z) * n + z * hp[j];
        if (s) {
          s[j] = r;
          s[H + j] = z;
          s[2 * H + j] = n;
          s[3 * H + j] = un;
        }
      }
      hp = ConstRowMap<T>(ht, H);
    }
    if (h_last) RowMap<T>(h_last + b * H, H) = hp;
  });
}

template <class T>
void gru_backward(T* dgates_x, T* dw_h, T* db_hn, T* dh0, T* work, const T* dh, const T* dh_last,
                  const T* w_h, const T* h0, const T* h, const T* saved, const RnnDims& d) {
  using namespace rnn;
  ICL_ASSERT(saved && (work || (!dw_h && !db_hn)));
  const int64_t H = d.H, G = 3 * H;
  const Mat<T> Wt = transposed(w_h, H, G);
  parallel_for(d.B, [&](int64_t b) {
    Row<T> dhc = row_or_zero(dh_last, b, H), du(G), direct(H);
    const Row<T> h_init = row_or_zero(h0, b, H);
    for (int64_t t = d.T - 1; t >= 0; --t) {
      const int64_t tok = b * d.T + t;
      const T* s = saved + tok * 4 * H;
      const T* hp = t > 0 ? h + (tok - 1) * H : h_init.data();
      const T* dht = dh ? dh + tok * H : nullptr;
      T* dx = dgates_x ? dgates_x + tok * G : nullptr;
      for (int64_t j = 0; j < H; ++j) {
        const T r = s[j], z = s[H + j], n = s[2 * H + j], un = s[3 * H + j];
        const T dhj = dht ? dhc[j] + dht[j] : dhc[j];
        const T dpn = dhj * (T(1) - z) * (T(1) - n * n);
        const T dpr = dpn * un * r * (T(1) - r), dpz = dhj * (hp[j] - n) * z * (T(1) - z);
        du[j] = dpr;
        du[H + j] = dpz;
        du[2 * H + j] = dpn * r;
        direct[j] = dhj * z;
        if (dx) {
          dx[j] += dpr;
          dx[H + j] += dpz;
          dx[2 * H + j] += dpn;
        }
      }
      row_times(dhc.data(), du.data(), Wt.data(), G, H);
      dhc += direct;
      if (work) RowMap<T>(work + tok * G, G) = du;
    }
    if (dh0) RowMap<T>(dh0 + b * H, H) += dhc;
  });
  add_weight_grad(dw_h, h, h0, work, G, d);
  add_column_sums(db_hn, work, G, 2 * H, H, d);
}

}  // namespace kern

namespace cuda {
void gru_forward(const CudaContext& ctx, float* h, float* h_last, float* saved,
                 const float* gates_x, const float* w_h, const float* b_hn, const float* h0,
                 const RnnDims& d);
void gru_backward(const CudaContext& ctx, float* dgates_x, float* dw_h, float* db_hn, float* dh0,
                  float* work, const float* dh, const float* dh_last, const float* w_h,
                  const float* h0, const float* h, const float* saved, const RnnDims& d);
}  // namespace cuda

namespace ops {

// h [B, T, H]; h_last [B, H] when asked for, else empty.
struct GruResult {
  Var h, h_last;
};

// gates_x [B, T, 3H] (gate order r, z, n), w_h [H, 3H], b_hn [H] or empty (zero), h0 [B, H] or
// empty (zeros). On a GPU, gru.cu (one block per batch element).
GruResult gru(Graph& g, Var gates_x, Var w_h, Var b_hn = {}, Var h0 = {}, bool final_state = false);

}  // namespace ops
}  // namespace icl

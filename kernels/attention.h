#pragma once
// Fused multi-head attention (softmax, or ReLU attention), causal or bidirectional.
//   qkv [B, T, 3C]: q = columns [0, C), k = [C, 2C), v = [2C, 3C); head h owns columns
//   h·hd .. (h+1)·hd of each, hd = C/H. out [B, T, C], heads concatenated in the same order.
//   For each (b, h) and query position t, over the keys s < n_t, n_t = t + 1 (causal) or T
//   (non-causal: every position sees the whole sequence, for masked-token objectives like MLM-U):
//     S_ts  = q_t·k_s / √hd, or −∞ where the key is hidden: visible [B, T] (int32, 1 = visible;
//             null: all visible) removes key s of sequence b from every query's view, as the
//             attention mask of an encoder-decoder for MLM-U removes the hidden slots (softmax
//             only; every sequence must keep at least one visible key, and with causal its
//             first, which the op checks)
//     P_ts  = exp(S_ts − lse_t),  lse_t = log Σ_{s<n_t} exp(S_ts)        (Softmax; lse [B, H, T])
//     P_ts  = relu(S_ts) / n_t                                             (Relu; lse unused)
//     out_t = Σ_{s<n_t} P_ts v_s
//   backward (flash-attention style: P is recomputed row by row from q, k and lse, never stored):
//     dP_ts = dout_t·v_s
//     dS_ts = P_ts (dP_ts − D_t),  D_t = Σ_i dout_t,i out_t,i  (= Σ_s P_ts dP_ts)   (Softmax)
//     dS_ts = dP_ts / n_t · 1[S_ts > 0]                                            (Relu)
//     dq_t += Σ_s dS_ts k_s / √hd,   dk_s += Σ_t dS_ts q_t / √hd,   dv_s += Σ_t P_ts dout_t
// The only saved statistic is lse (the forward may skip it: lse = null when no backward follows).
// Each (b, h) pair is computed by one thread, writes only its own slices of out, lse and dqkv and
// always in the same order, so the results do not depend on the thread count. Scratch: one or two
// rows of T scalars per thread, kept between calls.
#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "core/blocks.h"
#include "core/cuda_context.h"
#include "core/graph.h"

namespace icl {

enum class AttentionKind { Softmax, Relu };

namespace kern {

namespace attn {

template <class T>
using Vec = Eigen::Matrix<T, Eigen::Dynamic, 1>;
// hd columns of every row of a [T, ld] block: one head's q, k, v, out or gradient.
template <class T>
using HeadRows = Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>, 0,
                            Eigen::OuterStride<>>;
template <class T>
using ConstHeadRows =
    Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>, 0,
               Eigen::OuterStride<>>;

// Per-thread scratch of at least n scalars; grows once, then is reused. Aligned like Eigen's own
// allocations: Eigen peels vector loops to the data's alignment, so a buffer whose alignment
// varied from thread to thread would round differently on different threads.
template <class T>
T* scratch(int64_t n) {
  thread_local std::vector<T, Eigen::aligned_allocator<T>> buf;
  if (buf.size() < static_cast<size_t>(n)) buf.resize(static_cast<size_t>(n));
  return buf.data();
}

// f(bh) for every (b, h) pair, in parallel tasks of whole pairs; small pairs are grouped so a task
// does at least ~64k multiply-adds (a pair costs about T²·hd/2). The grouping changes only which
// thread runs a pair, never its arithmetic.
template <class F>
void for_pairs(int64_t pairs, int64_t Tn, int64_t hd, F&& f) {
  const int64_t per_pair = std::max<int64_t>(1, Tn * (Tn + 1) / 2 * hd);
  for_blocks(pairs, std::max<int64_t>(1, (int64_t(1) << 16) / per_pair),
             [&](int64_t p0, int64_t p1) {
               for (int64_t bh = p0; bh < p1; ++bh) f(bh);
             });
}

// S[0..t] = K[0..t] · q_t / √hd (the same code in forward and backward, so P is recomputed
// exactly).
template <class T, class Q>
void scores(Eigen::Map<Vec<T>> s, const ConstHeadRows<T>& K, const Q& q, T scale) {
  s.noalias() = K.topRows(s.size()) * q.transpose();
  s *= scale;
}

// Scores of hidden keys become −∞ (kept out of the row's maximum), and after the exponential their
// weights become exactly 0: Eigen's vectorised exp clamps its argument, so exp(−∞) would be a
// denormal, not 0.
template <class T>
void hide(Eigen::Map<Vec<T>> s, const int32_t* visible, T value) {
  for (int64_t j = 0; j < s.size(); ++j)
    if (!visible[j]) s[j] = value;
}

}  // namespace attn

template <class T>
void attention_forward(T* out, T* lse, const T* qkv, int64_t B, int64_t Tn, int64_t C, int64_t H,
                       AttentionKind kind = AttentionKind::Softmax, bool causal = true,
                       const int32_t* visible = nullptr) {
  ICL_ASSERT(H > 0 && C % H == 0 && (!visible || kind == AttentionKind::Softmax));
  const int64_t hd = C / H, ld = 3 * C;
  const T scale = T(1) / std::sqrt(T(hd));
  attn::for_pairs(B * H, Tn, hd, [&](int64_t bh) {
    const int64_t b = bh / H, h = bh % H;
    const T* q0 = qkv + b * Tn * ld + h * hd;
    const attn::ConstHeadRows<T> Q(q0, Tn, hd, Eigen::OuterStride<>(ld)),
        K(q0 + C, Tn, hd, Eigen::OuterStride<>(ld)),
        V(q0 + 2 * C, Tn, hd, Eigen::OuterStride<>(ld));
    attn::HeadRows<T> O(out + b * Tn * C + h * hd, Tn, hd, Eigen::OuterStride<>(C));
    T* row = attn::scratch<T>(Tn);
    for (int64_t t = 0; t < Tn; ++t) {
      const int64_t n = causal ? t + 1 : Tn;
      Eigen::Map<attn::Vec<T>> p(row, n);
      attn::scores<T>(p, K, Q.row(t), scale);
      if (visible) attn::hide<T>(p, visible + b * Tn, -std::numeric_limits<T>::infinity());
      if (kind == AttentionKind::Softmax) {
        const T m = p.maxCoeff();
        p = (p.array() - m).exp();
        if (visible) attn::hide<T>(p, visible + b * Tn, T(0));
        const T sum = p.sum();
        p /= sum;
        if (lse) lse[bh * Tn + t] = m + std::log(sum);
      } else {
        p = p.cwiseMax(T(0)) * (T(1) / T(n));
      }
      O.row(t).noalias() = p.transpose() * V.topRows(n);
    }
  });
}

template <class T>
void attention_backward(T* dqkv, const T* dout, const T* out, const T* lse, const T* qkv, int64_t B,
                        int64_t Tn, int64_t C, int64_t H,
                        AttentionKind kind = AttentionKind::Softmax, bool causal = true,
                        const int32_t* visible = nullptr) {
  ICL_ASSERT(H > 0 && C % H == 0 && (lse || kind != AttentionKind::Softmax) &&
             (!visible || kind == AttentionKind::Softmax));
  const int64_t hd = C / H, ld = 3 * C;
  const T scale = T(1) / std::sqrt(T(hd));
  attn::for_pairs(B * H, Tn, hd, [&](int64_t bh) {
    const int64_t b = bh / H, h = bh % H;
    const T* q0 = qkv + b * Tn * ld + h * hd;
    T* dq0 = dqkv + b * Tn * ld + h * hd;
    const Eigen::OuterStride<> sq(ld), so(C);
    const attn::ConstHeadRows<T> Q(q0, Tn, hd, sq), K(q0 + C, Tn, hd, sq),
        V(q0 + 2 * C, Tn, hd, sq), O(out + b * Tn * C + h * hd, Tn, hd, so),
        dO(dout + b * Tn * C + h * hd, Tn, hd, so);
    attn::HeadRows<T> dQ(dq0, Tn, hd, sq), dK(dq0 + C, Tn, hd, sq), dV(dq0 + 2 * C, Tn, hd, sq);
    T* rows = attn::scratch<T>(2 * Tn);
    for (int64_t t = 0; t < Tn; ++t) {
      const int64_t n = causal ? t + 1 : Tn;
      Eigen::Map<attn::Vec<T>> p(rows, n), ds(rows + Tn, n);
      attn::scores<T>(p, K, Q.row(t), scale);
      ds.noalias() = V.topRows(n) * dO.row(t).transpose();  // dP
      if (kind == AttentionKind::Softmax) {
        p = (p.array() - lse[bh * Tn + t]).exp();
        if (visible) attn::hide<T>(p, visible + b * Tn, T(0));  // P = 0 there: no gradient
        const T D = dO.row(t).dot(O.row(t));
        ds = p.cwiseProduct(ds - attn::Vec<T>::Constant(n, D));
      } else {
        const T inv_n = T(1) / T(n);
        for (int64_t s = 0; s < n; ++s) {
          const bool on = p[s] > T(0);
          ds[s] = on ? ds[s] * inv_n : T(0);
          p[s] = on ? p[s] * inv_n : T(0);
        }
      }
      dV.topRows(n).noalias() += p * dO.row(t);
      ds *= scale;
      dQ.row(t).noalias() += ds.transpose() * K.topRows(n);
      dK.topRows(n).noalias() += ds * Q.row(t);
    }
  });
}

}  // namespace kern

// The CUDA twins (kernels/*.cu): same math, layout and accumulation (+=) as kern::, on device
// pointers, enqueued on the context's stream. Defined only in CUDA builds; ops dispatch to them
// when their Graph is on a GPU.
namespace cuda {
// Two paths, chosen by T: up to kShortAttention tokens a whole (batch, head) sequence is one
// thread block; longer sequences are cut into query tiles and keys stream through shared memory
// in tiles (flash-attention style). Both are deterministic: every output element is written by
// one thread, with a fixed order of summation. Causal or not, as kern::.
inline constexpr int64_t kShortAttention = 256;
void attention_forward(const CudaContext& ctx, float* out, float* lse, const float* qkv, int64_t B,
                       int64_t Tn, int64_t C, int64_t H, AttentionKind kind, bool causal = true,
                       const int32_t* visible = nullptr);
void attention_backward(const CudaContext& ctx, float* dqkv, const float* dout, const float* out,
                        const float* lse, const float* qkv, int64_t B, int64_t Tn, int64_t C,
                        int64_t H, AttentionKind kind, bool causal = true,
                        const int32_t* visible = nullptr);
}  // namespace cuda

namespace ops {
// Multi-head attention: qkv [B, T, 3C] (q, k, v side by side) → [B, T, C], causal or not.
// visible: int32 [B, T] host memory that outlives the step's backward (1 = key visible; empty: all
// visible), softmax only; a sequence without a visible key (causal: with position 0 hidden) is an
// icl::Error.
Var attention(Graph& g, Var qkv, int64_t heads, AttentionKind kind, bool causal,
              const Tensor& visible = {});
inline Var causal_attention(Graph& g, Var qkv, int64_t heads,
                            AttentionKind kind = AttentionKind::Softmax) {
  return attention(g, qkv, heads, kind, true);
}
}  // namespace ops

}  // namespace icl

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
//   backward (flash-attention style: P is recomputed from q, k and lse, never stored):
//     dP_ts = dout_t·v_s
//     dS_ts = P_ts (dP_ts − D_t),  D_t = Σ_i dout_t,i out_t,i  (= Σ_s P_ts dP_ts)   (Softmax)
//     dS_ts = dP_ts / n_t · 1[S_ts > 0]                                            (Relu)
//     dq_t += Σ_s dS_ts k_s / √hd,   dk_s += Σ_t dS_ts q_t / √hd,   dv_s += Σ_t P_ts dout_t
// The only saved statistic is lse (the forward may skip it: lse = null when no backward follows).
// Queries are taken in tiles of kQueryTile rows, and each tile is a few matrix products against
// the keys it may see (all of them, or those up to its last row when causal):
//     S = Q_tile·K_{<n}ᵀ [rows, n],  O_tile = P·V_{<n};  backward dP = dO_tile·V_{<n}ᵀ,
//     dV_{<n} += Pᵀ·dO_tile,  dQ_tile += dS·K_{<n},  dK_{<n} += dSᵀ·Q_tile
// with the entries past each row's own n_t (and hidden keys) set to exactly 0 in P and dS. One
// product per tile instead of a matrix-vector product per row keeps the vector units busy (3x on
// the Garg-small step's attention). The tiles are fixed, so forward and backward compute the same
// S. accumulate = false: dqkv is a fresh buffer, assigned rather than added to (Graph::grad_out).
// Each (b, h) pair is computed by one thread, writes only its own slices of out, lse and dqkv and
// always in the same order, so the results do not depend on the thread count. Scratch: two tiles
// of kQueryTile × T scalars per thread, kept between calls.
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

// Query rows per tile: enough rows that the tile's products run at matrix-product speed, few
// enough that a causal tile computes little above the diagonal.
inline constexpr int64_t kQueryTile = 64;

// hd columns of every row of a [T, ld] block: one head's q, k, v, out or gradient.
template <class T>
using HeadRows = Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>, 0,
                            Eigen::OuterStride<>>;
template <class T>
using ConstHeadRows =
    Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>, 0,
               Eigen::OuterStride<>>;
// A [rows, n] tile of scores, probabilities or their gradients, contiguous.
template <class T>
using Tile = Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;
template <class T>
using Row = Eigen::Map<Eigen::Array<T, 1, Eigen::Dynamic>>;

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

// The query tiles of a sequence: f(t0, rows, n), n = the keys the tile's last row sees.
template <class F>
void for_tiles(int64_t Tn, bool causal, F&& f) {
  for (int64_t t0 = 0; t0 < Tn; t0 += kQueryTile) {
    const int64_t rows = std::min(kQueryTile, Tn - t0);
    f(t0, rows, causal ? t0 + rows : Tn);
  }
}

// S = Q[t0, t0 + rows) · K[0, n)ᵀ / √hd (the same code in forward and backward, so P is
// recomputed exactly).
template <class T>
void scores(Tile<T>& S, const ConstHeadRows<T>& Q, const ConstHeadRows<T>& K, int64_t t0, T scale) {
  S.noalias() = Q.middleRows(t0, S.rows()) * K.topRows(S.cols()).transpose();
  S *= scale;
}

// Scores of hidden keys become −∞ (kept out of the row's maximum), and after the exponential their
// weights become exactly 0: Eigen's vectorised exp clamps its argument, so exp(−∞) would be a
// denormal, not 0.
template <class T>
void hide(Row<T> s, const int32_t* visible, T value) {
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
    const int32_t* vis = visible ? visible + b * Tn : nullptr;
    T* buf = attn::scratch<T>(attn::kQueryTile * Tn);
    attn::for_tiles(Tn, causal, [&](int64_t t0, int64_t rows, int64_t nk) {
      attn::Tile<T> P(buf, rows, nk);
      attn::scores<T>(P, Q, K, t0, scale);
      for (int64_t i = 0; i < rows; ++i) {
        const int64_t t = t0 + i, n = causal ? t + 1 : Tn;
        attn::Row<T> p(buf + i * nk, n);
        if (kind == AttentionKind::Softmax) {
          if (vis) attn::hide<T>(p, vis, -std::numeric_limits<T>::infinity());
          const T m = p.maxCoeff();
          p = (p - m).exp();
          if (vis) attn::hide<T>(p, vis, T(0));
          const T sum = p.sum();
          p /= sum;
          if (lse) lse[bh * Tn + t] = m + std::log(sum);
        } else {
          p = p.cwiseMax(T(0)) * (T(1) / T(n));
        }
        std::fill(buf + i * nk + n, buf + (i + 1) * nk, T(0));  // keys after t (causal)
      }
      O.middleRows(t0, rows).noalias() = P * V.topRows(nk);
    });
  });
}

template <class T>
void attention_backward(T* dqkv, const T* dout, const T* out, const T* lse, const T* qkv, int64_t B,
                        int64_t Tn, int64_t C, int64_t H,
                        AttentionKind kind = AttentionKind::Softmax, bool causal = true,
                        const int32_t* visible = nullptr, bool accumulate = true) {
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
    if (!accumulate) {  // a fresh buffer (Graph::grad_out): this pair's columns start at 0
      dQ.setZero();
      dK.setZero();
      dV.setZero();
    }
    const int32_t* vis = visible ? visible + b * Tn : nullptr;
    T* buf = attn::scratch<T>(2 * attn::kQueryTile * Tn);
    attn::for_tiles(Tn, causal, [&](int64_t t0, int64_t rows, int64_t nk) {
      attn::Tile<T> P(buf, rows, nk), dS(buf + rows * nk, rows, nk);
      attn::scores<T>(P, Q, K, t0, scale);
      dS.noalias() = dO.middleRows(t0, rows) * V.topRows(nk).transpose();  // dP
      for (int64_t i = 0; i < rows; ++i) {
        const int64_t t = t0 + i, n = causal ? t + 1 : Tn;
        attn::Row<T> p(buf + i * nk, n), ds(buf + (rows + i) * nk, n);
        if (kind == AttentionKind::Softmax) {
          p = (p - lse[bh * Tn + t]).exp();
          if (vis) attn::hide<T>(p, vis, T(0));  // P = 0 there: no gradient
          const T D = dO.row(t).dot(O.row(t));
          ds = p * (ds - D);
        } else {
          const T inv_n = T(1) / T(n);
          for (int64_t s = 0; s < n; ++s) {
            const bool on = p[s] > T(0);
            ds[s] = on ? ds[s] * inv_n : T(0);
            p[s] = on ? p[s] * inv_n : T(0);
          }
        }
        std::fill(buf + i * nk + n, buf + (i + 1) * nk, T(0));  // keys after t (causal)
        std::fill(buf + (rows + i) * nk + n, buf + (rows + i + 1) * nk, T(0));
      }
      dV.topRows(nk).noalias() += P.transpose() * dO.middleRows(t0, rows);
      dS *= scale;
      dQ.middleRows(t0, rows).noalias() += dS * K.topRows(nk);
      dK.topRows(nk).noalias() += dS.transpose() * Q.middleRows(t0, rows);
    });
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

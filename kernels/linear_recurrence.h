#pragma once
// Gated linear attention: the state recurrence shared by linear attention (gate 1), RetNet (a fixed
// per-head γ), GLA (data-dependent gates in (0,1)) and Mamba-2-style selective SSMs (exp(Δ·A), or
// 2·exp(Δ·A) − 1 in (−1,1) for the negative-eigenvalue variant).
//
// Layout. q, k [B, T, H, dk], v [B, T, H, dv], out [B, T, H, dv]: head h of token t owns a row of
// dk (dv) scalars, so a [B, T, H·dk] projection output is already in place. gates [B, T, H]
// (one scalar per head: gate_width 1) or [B, T, H, dk] (one per key dimension: gate_width dk).
// States [B, H, dk, dv], row-major. For every (b, h), with S_0 the initial state (zeros if none):
//     S_t = diag(a_t) S_{t−1} + k_t v_tᵀ,      o_t = S_tᵀ q_t                       t = 1..T
// Gate values are any reals, 0 and negatives included: nothing ever divides by a gate or a product
// of gates, every decay factor is a running product.
//
// Two forms compute the same function.
//  * Recurrent: the steps above, one after the other.
//  * Chunked: the sequence is cut into chunks of `chunk` positions. Within a chunk (positions
//    0..L−1 relative to its start, entry state S) with Γ_ij = Π_{s=j+1..i} a_s (j ≤ i),
//    pre_i = Π_{s≤i} a_s and suf_j = Π_{s>j} a_s:
//        o_i   = S ᵀ(pre_i ⊙ q_i) + Σ_{j≤i} A_ij v_j,    A_ij = Σ_d q_i[d] k_j[d] Γ_ij[d]
//        S_end = diag(pre_{L−1}) S + Σ_j (suf_j ⊙ k_j) v_jᵀ
//    With one gate per head, Γ is a scalar matrix and A = (Q Kᵀ) ⊙ Γ is a matrix product.
//
// Backward, from dout and the gradient dS_T of the final state (null: zero), giving dq, dk, dv,
// dgates and dS_0 (any may be null; all accumulate, +=). Both forms run backwards over chunks,
// carrying dS (the gradient of the state at the chunk's end) and restarting from the entry states
// the forward saved (`chunk_states` [B, H, ⌈T/chunk⌉, dk, dv], the state entering each chunk):
//  * Recurrent: the chunk's states are recomputed step by step, then for t backwards
//        dS += q_t do_tᵀ;  dq_t = S_t do_t;  dk_t = dS v_t;  dv_t = dSᵀ k_t;
//        da_t[d] = Σ_e dS[d,e] S_{t−1}[d,e];  dS = diag(a_t) dS.
//  * Chunked: with dA_ij = do_i·v_j (j ≤ i),
//        dq_i = pre_i ⊙ (S do_i) + Σ_{j≤i} dA_ij Γ_ij ⊙ k_j
//        dk_j = suf_j ⊙ (dS v_j) + Σ_{i≥j} dA_ij Γ_ij ⊙ q_i
//        dv_j = (suf_j ⊙ k_j)ᵀ dS + Σ_{i≥j} A_ij do_i
//        dS  ← diag(pre_{L−1}) dS + Σ_i (pre_i ⊙ q_i) do_iᵀ
//    and the gate gradient da_r[d] = Σ_e dS_r[d,e] S_{r−1}[d,e], split by what S_{r−1} and dS_r
//    are made of, without forming either:
//        da_r = suf_r ⊙ R_r + Σ_{i≥r} Γ_ir ⊙ q_i ⊙ h_i(r)
//        R_0 = rowsum(dS ⊙ S),  R_{r+1} = a_r ⊙ R_r + k_r ⊙ (dS v_r)        (R_r = rowsum(dS ⊙
//        S_{r−1})) h_i(0) = S do_i,       h_i(r+1) = a_r ⊙ h_i(r) + dA_ir k_r          (h_i(r) =
//        S_{r−1} do_i)
//    which costs O(L²·dk) per chunk like A itself. With one gate per head the same recursions run
//    on scalars (rows summed over d).
//
// Each (b, h) pair is computed by one thread in a fixed order and writes only its own slices, so
// results do not depend on the thread count.
#include <Eigen/Dense>

#include <algorithm>
#include <cstdint>

#include "core/blocks.h"
#include "core/cuda_context.h"
#include "core/graph.h"

namespace icl {

enum class RecurrenceForm { Recurrent, Chunked };

struct RecurrenceDims {
  int64_t B = 1, T = 1, H = 1, dk = 1, dv = 1;
  // Chunk length of the chunked form; the recurrent form saves its states at the same stride.
  int64_t chunk = 64;
  int64_t chunks() const { return (T + chunk - 1) / chunk; }
};

namespace kern {

namespace lrec {

template <class T>
using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using Vec = Eigen::Matrix<T, Eigen::Dynamic, 1>;
template <class T>
using Rows = Eigen::Map<Mat<T>, 0, Eigen::OuterStride<>>;
template <class T>
using ConstRows = Eigen::Map<const Mat<T>, 0, Eigen::OuterStride<>>;
template <class T>
using StateMap = Eigen::Map<Mat<T>>;
template <class T>
using ConstStateMap = Eigen::Map<const Mat<T>>;

// The rows of head h of batch b in a [B, T, H, w] tensor.
template <class T>
ConstRows<T> head_rows(const T* p, int64_t b, int64_t h, const RecurrenceDims& d, int64_t w) {
  return ConstRows<T>(p + (b * d.T * d.H + h) * w, d.T, w, Eigen::OuterStride<>(d.H * w));
}

// f(bh) for every (b, h) pair, pairs grouped so that a task does at least ~64k multiply-adds; the
// grouping changes which thread runs a pair, never its arithmetic.
template <class F>
void for_pairs(const RecurrenceDims& d, F&& f) {
  const int64_t per_pair = std::max<int64_t>(1, d.T * (std::min(d.T, d.chunk) + d.dv) * d.dk);
  for_blocks(d.B * d.H, std::max<int64_t>(1, (int64_t(1) << 16) / per_pair),
             [&](int64_t p0, int64_t p1) {
               for (int64_t bh = p0; bh < p1; ++bh) f(bh);
             });
}

// Per-pair gradient accumulators: the gradients of one (b, h) pair are summed in contiguous
// buffers and added to the (strided, possibly absent) outputs once at the end.
template <class T>
void add_rows(T* dst, int64_t b, int64_t h, const RecurrenceDims& d, const Mat<T>& src) {
  if (!dst) return;
  const int64_t w = src.cols();
  Rows<T>(dst + (b * d.T * d.H + h) * w, d.T, w, Eigen::OuterStride<>(d.H * w)) += src;
}

// Running products of the gates of one chunk (rows t0..t0+L−1 of a, width 1 or dk): pre_i =
// Π_{s≤i} a_s and suf_j = Π_{s>j} a_s.
template <class T>
void gate_products(Mat<T>& pre, Mat<T>& suf, const ConstRows<T>& a, int64_t t0, int64_t L) {
  const int64_t w = a.cols();
  pre.resize(L, w);
  suf.resize(L, w);
  pre.row(0) = a.row(t0);
  for (int64_t i = 1; i < L; ++i) pre.row(i) = pre.row(i - 1).cwiseProduct(a.row(t0 + i));
  suf.row(L - 1).setOnes();
  for (int64_t j = L - 1; j > 0; --j) suf.row(j - 1) = suf.row(j).cwiseProduct(a.row(t0 + j));
}

// X ⊙ P row by row, P of width 1 (a scalar per row) or X's width.
template <class T, class X>
Mat<T> scale_rows(const X& x, const Mat<T>& p) {
  if (p.cols() == 1) return p.col(0).asDiagonal() * x;
  return x.cwiseProduct(p);
}

// S ← diag(a) S, a of width 1 or S's rows.
template <class T, class S, class A>
void decay(S&& s, const A& a) {
  if (a.size() == 1)
    s *= a(0);
  else
    s = a.transpose().asDiagonal() * s;
}

// Scalar gates: Γ_ij = Π_{s=j+1..i} a_s below and on the diagonal, 0 above.
template <class T>
void decay_matrix(Mat<T>& G, const ConstRows<T>& a, int64_t t0, int64_t L) {
  G.setZero(L, L);
  for (int64_t i = 0; i < L; ++i) {
    T g = 1;
    for (int64_t j = i; j >= 0; --j) {
      G(i, j) = g;
      g *= a(t0 + j, 0);
    }
  }
}

// Key-dimension gates: rows j = 0..i of G become Γ_ij (width dk), by a running product from i
// down.
template <class T>
void decay_rows(Mat<T>& G, const ConstRows<T>& a, int64_t t0, int64_t i) {
  G.row(i).setOnes();
  for (int64_t j = i; j > 0; --j) G.row(j - 1) = G.row(j).cwiseProduct(a.row(t0 + j));
}

// Intra-chunk scores A_ij = Σ_d q_i[d] k_j[d] Γ_ij[d] for j ≤ i (0 above the diagonal).
template <class T>
void chunk_scores(Mat<T>& A, Mat<T>& G, const ConstRows<T>& Q, const ConstRows<T>& K,
                  const ConstRows<T>& a, int64_t t0, int64_t L) {
  if (a.cols() == 1) {
    decay_matrix(G, a, t0, L);
    A.noalias() = Q.middleRows(t0, L) * K.middleRows(t0, L).transpose();
    A = A.cwiseProduct(G);
    return;
  }
  A.setZero(L, L);
  G.resize(L, a.cols());
  for (int64_t i = 0; i < L; ++i) {
    decay_rows(G, a, t0, i);
    for (int64_t j = 0; j <= i; ++j)
      A(i, j) = (Q.row(t0 + i).cwiseProduct(K.row(t0 + j))).dot(G.row(j));
  }
}

// One (b, h) pair's forward, either form: O [T, dv] from Q, K [T, dk], V [T, dv], A [T, 1 or dk]
// and the entry state S [dk, dv], which is left as the state after the last step. When
// `chunk_states` is given, the state entering chunk c is written at chunk_states + c·dk·dv.
template <class T>
void pair_forward(Rows<T>& O, Mat<T>& S, T* chunk_states, const ConstRows<T>& Q,
                  const ConstRows<T>& K, const ConstRows<T>& V, const ConstRows<T>& A,
                  const RecurrenceDims& d, RecurrenceForm form) {
  const int64_t n = d.dk * d.dv, NC = d.chunks();
  Mat<T> pre, suf, G, P;
  for (int64_t c = 0; c < NC; ++c) {
    const int64_t t0 = c * d.chunk, L = std::min(d.chunk, d.T - t0);
    if (chunk_states) StateMap<T>(chunk_states + c * n, d.dk, d.dv) = S;
    if (form == RecurrenceForm::Recurrent) {
      for (int64_t t = t0; t < t0 + L; ++t) {
        decay<T>(S, A.row(t));
        S.noalias() += K.row(t).transpose() * V.row(t);
        O.row(t).noalias() = Q.row(t) * S;
      }
      continue;
    }
    gate_products(pre, suf, A, t0, L);
    chunk_scores(P, G, Q, K, A, t0, L);
    O.middleRows(t0, L).noalias() = scale_rows<T>(Q.middleRows(t0, L), pre) * S;
    O.middleRows(t0, L).noalias() += P * V.middleRows(t0, L);
    decay<T>(S, pre.row(L - 1));
    S.noalias() += scale_rows<T>(K.middleRows(t0, L), suf).transpose() * V.middleRows(t0, L);
  }
}

// One pair's backward, either form: adds into dQ, dK [T, dk], dV [T, dv] and dA [T, 1 or dk]
// (zeroed by the caller); dS enters as the gradient of the final state and leaves as that of the
// initial one. `chunk_states` are the pair's entry states as pair_forward wrote them.
template <class T>
void pair_backward(Mat<T>& dQ, Mat<T>& dK, Mat<T>& dV, Mat<T>& dA, Mat<T>& dS,
                   const T* chunk_states, const ConstRows<T>& Q, const ConstRows<T>& K,
                   const ConstRows<T>& V, const ConstRows<T>& A, const ConstRows<T>& dO,
                   const RecurrenceDims& d, RecurrenceForm form) {
  const int64_t n = d.dk * d.dv, NC = d.chunks(), w = A.cols();
  const bool vec = w > 1;
  Mat<T> states, pre, suf, G, P, dP, QK, SdO, VdS;
  Vec<T> hv(d.dk), R;
  for (int64_t c = NC - 1; c >= 0; --c) {
    const int64_t t0 = c * d.chunk, L = std::min(d.chunk, d.T - t0);
    const ConstStateMap<T> S(chunk_states + c * n, d.dk, d.dv);
    if (form == RecurrenceForm::Recurrent) {
      // Row r of `states` is the state before step t0 + r (row L: after the chunk).
      states.resize(L + 1, n);
      StateMap<T>(states.row(0).data(), d.dk, d.dv) = S;
      for (int64_t r = 0; r < L; ++r) {
        StateMap<T> next(states.row(r + 1).data(), d.dk, d.dv);
        next = ConstStateMap<T>(states.row(r).data(), d.dk, d.dv);
        decay<T>(next, A.row(t0 + r));
        next.noalias() += K.row(t0 + r).transpose() * V.row(t0 + r);
      }
      for (int64_t r = L - 1; r >= 0; --r) {
        const int64_t t = t0 + r;
        const ConstStateMap<T> before(states.row(r).data(), d.dk, d.dv),
            after(states.row(r + 1).data(), d.dk, d.dv);
        dS.noalias() += Q.row(t).transpose() * dO.row(t);
        dQ.row(t).noalias() += dO.row(t) * after.transpose();
        dK.row(t).noalias() += V.row(t) * dS.transpose();
        dV.row(t).noalias() += K.row(t) * dS;
        if (w == 1)
          dA(t, 0) += dS.cwiseProduct(before).sum();
        else
          dA.row(t) += dS.cwiseProduct(before).rowwise().sum().transpose();
        decay<T>(dS, A.row(t));
      }
      continue;
    }
    const auto Qc = Q.middleRows(t0, L), Kc = K.middleRows(t0, L), Vc = V.middleRows(t0, L),
               dOc = dO.middleRows(t0, L);
    gate_products(pre, suf, A, t0, L);
    chunk_scores(P, G, Q, K, A, t0, L);
    dP.noalias() = dOc * Vc.transpose();  // dA_ij = do_i·v_j, used for j ≤ i only
    SdO.noalias() = dOc * S.transpose();  // row i: S do_i
    VdS.noalias() = Vc * dS.transpose();  // row j: dS v_j
    dV.middleRows(t0, L).noalias() += scale_rows<T>(Kc, suf) * dS;
    dV.middleRows(t0, L).noalias() += P.transpose() * dOc;
    dQ.middleRows(t0, L) += scale_rows<T>(SdO, pre);
    dK.middleRows(t0, L) += scale_rows<T>(VdS, suf);
    // da_r: the part through the carried state (suf_r ⊙ R_r).
    if (vec) {
      R = dS.cwiseProduct(S).rowwise().sum();
      for (int64_t r = 0; r < L; ++r) {
        dA.row(t0 + r) += suf.row(r).cwiseProduct(R.transpose());
        R = R.cwiseProduct(A.row(t0 + r).transpose()) +
            Kc.row(r).cwiseProduct(VdS.row(r)).transpose();
      }
    } else {
      T Rs = dS.cwiseProduct(S).sum();
      for (int64_t r = 0; r < L; ++r) {
        dA(t0 + r, 0) += suf(r, 0) * Rs;
        Rs = A(t0 + r, 0) * Rs + Kc.row(r).dot(VdS.row(r));
      }
    }
    // The intra-chunk parts of dq, dk and da_r (Σ_{i≥r} Γ_ir ⊙ q_i ⊙ h_i(r)).
    if (vec) {
      G.resize(L, d.dk);
      for (int64_t i = 0; i < L; ++i) {
        decay_rows(G, A, t0, i);
        hv = SdO.row(i).transpose();
        for (int64_t j = 0; j <= i; ++j) {
          const T p = dP(i, j);
          dQ.row(t0 + i) += p * G.row(j).cwiseProduct(Kc.row(j));
          dK.row(t0 + j) += p * G.row(j).cwiseProduct(Qc.row(i));
          dA.row(t0 + j) += G.row(j).cwiseProduct(Qc.row(i)).cwiseProduct(hv.transpose());
          hv = hv.cwiseProduct(A.row(t0 + j).transpose()) + p * Kc.row(j).transpose();
        }
      }
    } else {
      const Mat<T> dPG = dP.cwiseProduct(G);  // G is zero above the diagonal
      dQ.middleRows(t0, L).noalias() += dPG * Kc;
      dK.middleRows(t0, L).noalias() += dPG.transpose() * Qc;
      QK.noalias() = Qc * Kc.transpose();
      for (int64_t i = 0; i < L; ++i) {
        T hs = Qc.row(i).dot(SdO.row(i));
        for (int64_t j = 0; j <= i; ++j) {
          dA(t0 + j, 0) += G(i, j) * hs;
          hs = A(t0 + j, 0) * hs + dP(i, j) * QK(i, j);
        }
      }
    }
    decay<T>(dS, pre.row(L - 1));
    dS.noalias() += scale_rows<T>(Qc, pre).transpose() * dOc;
  }
}

}  // namespace lrec

template <class T>
void gated_linear_attention_forward(T* out, T* final_state, T* chunk_states, const T* q, const T* k,
                                    const T* v, const T* gates, int64_t gate_width,
                                    const T* initial, const RecurrenceDims& d,
                                    RecurrenceForm form) {
  using namespace lrec;
  ICL_ASSERT(d.chunk > 0 && (gate_width == 1 || gate_width == d.dk));
  const int64_t n = d.dk * d.dv, NC = d.chunks();
  for_pairs(d, [&](int64_t bh) {
    const int64_t b = bh / d.H, h = bh % d.H;
    const ConstRows<T> Q = head_rows(q, b, h, d, d.dk), K = head_rows(k, b, h, d, d.dk),
                       V = head_rows(v, b, h, d, d.dv), A = head_rows(gates, b, h, d, gate_width);
    Rows<T> O(out + (b * d.T * d.H + h) * d.dv, d.T, d.dv, Eigen::OuterStride<>(d.H * d.dv));
    Mat<T> S = initial ? Mat<T>(ConstStateMap<T>(initial + bh * n, d.dk, d.dv))
                       : Mat<T>(Mat<T>::Zero(d.dk, d.dv));
    pair_forward(O, S, chunk_states ? chunk_states + bh * NC * n : nullptr, Q, K, V, A, d, form);
    if (final_state) StateMap<T>(final_state + bh * n, d.dk, d.dv) = S;
  });
}

template <class T>
void gated_linear_attention_backward(T* dq, T* dk, T* dv, T* dgates, T* dinitial, const T* dout,
                                     const T* dfinal, const T* q, const T* k, const T* v,
                                     const T* gates, int64_t gate_width, const T* chunk_states,
                                     const RecurrenceDims& d, RecurrenceForm form) {
  using namespace lrec;
  ICL_ASSERT(d.chunk > 0 && (gate_width == 1 || gate_width == d.dk) && chunk_states);
  const int64_t n = d.dk * d.dv, NC = d.chunks(), w = gate_width;
  for_pairs(d, [&](int64_t bh) {
    const int64_t b = bh / d.H, h = bh % d.H;
    const ConstRows<T> Q = head_rows(q, b, h, d, d.dk), K = head_rows(k, b, h, d, d.dk),
                       V = head_rows(v, b, h, d, d.dv), A = head_rows(gates, b, h, d, w),
                       dO = head_rows(dout, b, h, d, d.dv);
    Mat<T> dQ = Mat<T>::Zero(d.T, d.dk), dK = Mat<T>::Zero(d.T, d.dk), dV = Mat<T>::Zero(d.T, d.dv),
           dA = Mat<T>::Zero(d.T, w);
    Mat<T> dS = dfinal ? Mat<T>(ConstStateMap<T>(dfinal + bh * n, d.dk, d.dv))
                       : Mat<T>(Mat<T>::Zero(d.dk, d.dv));
    pair_backward(dQ, dK, dV, dA, dS, chunk_states + bh * NC * n, Q, K, V, A, dO, d, form);
    add_rows(dq, b, h, d, dQ);
    add_rows(dk, b, h, d, dK);
    add_rows(dv, b, h, d, dV);
    add_rows(dgates, b, h, d, dA);
    if (dinitial) StateMap<T>(dinitial + bh * n, d.dk, d.dv) += dS;
  });
}

}  // namespace kern

// The CUDA twins (kernels/linear_recurrence.cu): the recurrent arithmetic for either form, on
// device pointers, enqueued on the context's stream; gradients accumulate (+=) as in kern::. The
// backward needs `scratch` of gated_linear_attention_scratch(d) floats for the recomputed states.
namespace cuda {
int64_t gated_linear_attention_scratch(const RecurrenceDims& d);
void gated_linear_attention_forward(const CudaContext& ctx, float* out, float* final_state,
                                    float* chunk_states, const float* q, const float* k,
                                    const float* v, const float* gates, int64_t gate_width,
                                    const float* initial, const RecurrenceDims& d);
void gated_linear_attention_backward(const CudaContext& ctx, float* dq, float* dk, float* dv,
                                     float* dgates, float* dinitial, const float* dout,
                                     const float* dfinal, const float* q, const float* k,
                                     const float* v, const float* gates, int64_t gate_width,
                                     const float* chunk_states, float* scratch,
                                     const RecurrenceDims& d);
}  // namespace cuda

namespace ops {

struct RecurrenceOptions {
  RecurrenceForm form = RecurrenceForm::Chunked;
  int64_t chunk = 64;
  bool final_state = false;  // also return the state after the last position
};

// out [B, T, H·dv]; state [B, H, dk, dv] (delta rule: [B, H, dv, dk]) when asked for, else empty.
struct RecurrenceResult {
  Var out;
  Var state;
};

// q, k [B, T, H·dk], v [B, T, H·dv] (the [B, T, H, d] layout above), gates [B, T, H] or
// [B, T, H·dk], initial [B, H, dk, dv] or an empty Var (zeros). On a GPU the recurrent arithmetic
// runs for either form (kernels/linear_recurrence.cu).
RecurrenceResult gated_linear_attention(Graph& g, Var q, Var k, Var v, Var gates, int64_t heads,
                                        Var initial = {}, RecurrenceOptions opt = {});

}  // namespace ops

}  // namespace icl

#pragma once
// DeltaNet's delta rule. Layout as in kernels/linear_recurrence.h: q, k [B, T, H, dk],
// v [B, T, H, dv], out [B, T, H, dv], beta [B, T, H]; states [B, H, dv, dk] (S maps keys to
// values), row-major. For every (b, h), with S_0 the initial state (zeros if none):
//     S_t = S_{t−1} (I − β_t k_t k_tᵀ) + β_t v_t k_tᵀ  =  S_{t−1} + β_t (v_t − S_{t−1} k_t) k_tᵀ
//     o_t = S_t q_t
// β is any real; the model passes σ(·) ∈ (0,1) or 2σ(·) ∈ (0,2) (eigenvalues of I − β k kᵀ in
// [−1,1] for unit-norm k).
//
// Two forms compute the same function.
//  * Recurrent: the steps above, one after the other.
//  * Chunked (the UT transform of the WY representation): within a chunk of L positions with
//    entry state S, the updates δ_r = β_r (v_r − S_{r−1} k_r) satisfy S_r = S + Σ_{i≤r} δ_i k_iᵀ,
//    hence the unit lower-triangular system
//        (I + M) Δ = Y,   M_ri = β_r k_r·k_i (i < r),   Y = diag(β) (V − K Sᵀ)      (Δ, Y [L, dv])
//    solved by forward substitution, and then
//        O = Q Sᵀ + tril(Q Kᵀ) Δ,     S_end = S + Δᵀ K.
//
// Backward, from dout and the gradient dS_T of the final state (null: zero), giving dq, dk, dv,
// dβ and dS_0 (any may be null; all accumulate, +=). Both forms run backwards over chunks, carrying
// dS and restarting from the entry states saved by the forward (`chunk_states`
// [B, H, ⌈T/chunk⌉, dv, dk]):
//  * Recurrent: the chunk's states are recomputed, then for t backwards, with w = v_t − S_{t−1} k_t
//        dS += do_t q_tᵀ;  dq_t = S_tᵀ do_t;  dβ_t = wᵀ dS k_t;  dw = β_t dS k_t;  dv_t = dw;
//        dk_t = β_t dSᵀ w − S_{t−1}ᵀ dw;  dS −= dw k_tᵀ.
//  * Chunked: with P = tril(Q Kᵀ) and dP = tril(dO Δᵀ)
//        dΔ = Pᵀ dO + K dSᵀ,   dQ = dO S + dP K,   dK = dPᵀ Q + Δ dS,   dS ← dS + dOᵀ Q
//        dY = (I + M)⁻ᵀ dΔ (back substitution),   dM = −dY Δᵀ (strictly lower part)
//        dβ_r = Σ_{i<r} dM_ri k_r·k_i + dY_r·(v_r − S k_r)
//        dK += diag(β) dM K + (diag(β) dM)ᵀ K − diag(β) dY S,   dV = diag(β) dY,
//        dS −= (diag(β) dY)ᵀ K.
//
// Each (b, h) pair is computed by one thread in a fixed order and writes only its own slices, so
// results do not depend on the thread count.
#include "kernels/linear_recurrence.h"

namespace icl {

namespace kern {

template <class T>
void delta_rule_forward(T* out, T* final_state, T* chunk_states, const T* q, const T* k, const T* v,
                        const T* beta, const T* initial, const RecurrenceDims& d,
                        RecurrenceForm form) {
  using namespace lrec;
  ICL_ASSERT(d.chunk > 0);
  const int64_t n = d.dk * d.dv, NC = d.chunks();
  for_pairs(d, [&](int64_t bh) {
    const int64_t b = bh / d.H, h = bh % d.H;
    const ConstRows<T> Q = head_rows(q, b, h, d, d.dk), K = head_rows(k, b, h, d, d.dk),
                       V = head_rows(v, b, h, d, d.dv), Bt = head_rows(beta, b, h, d, 1);
    Rows<T> O(out + (b * d.T * d.H + h) * d.dv, d.T, d.dv, Eigen::OuterStride<>(d.H * d.dv));
    Mat<T> S = initial ? Mat<T>(ConstStateMap<T>(initial + bh * n, d.dv, d.dk))
                       : Mat<T>(Mat<T>::Zero(d.dv, d.dk));
    Vec<T> u(d.dv);
    Mat<T> M, Dl, P;
    for (int64_t c = 0; c < NC; ++c) {
      const int64_t t0 = c * d.chunk, L = std::min(d.chunk, d.T - t0);
      if (chunk_states) StateMap<T>(chunk_states + (bh * NC + c) * n, d.dv, d.dk) = S;
      if (form == RecurrenceForm::Recurrent) {
        for (int64_t t = t0; t < t0 + L; ++t) {
          u.noalias() = S * K.row(t).transpose();
          u = Bt(t, 0) * (V.row(t).transpose() - u);
          S.noalias() += u * K.row(t);
          O.row(t).noalias() = Q.row(t) * S.transpose();
        }
        continue;
      }
      const auto Qc = Q.middleRows(t0, L), Kc = K.middleRows(t0, L), Vc = V.middleRows(t0, L);
      const auto bc = Bt.col(0).segment(t0, L);
      M.noalias() = Kc * Kc.transpose();
      M = bc.asDiagonal() * M;  // only the strictly lower part is read
      Dl.noalias() = Vc - Kc * S.transpose();
      Dl = bc.asDiagonal() * Dl;
      M.template triangularView<Eigen::UnitLower>().solveInPlace(Dl);
      P.noalias() = Qc * Kc.transpose();
      P.template triangularView<Eigen::StrictlyUpper>().setZero();
      O.middleRows(t0, L).noalias() = Qc * S.transpose();
      O.middleRows(t0, L).noalias() += P * Dl;
      S.noalias() += Dl.transpose() * Kc;
    }
    if (final_state) StateMap<T>(final_state + bh * n, d.dv, d.dk) = S;
  });
}

template <class T>
void delta_rule_backward(T* dq, T* dk, T* dv, T* dbeta, T* dinitial, const T* dout, const T* dfinal,
                         const T* q, const T* k, const T* v, const T* beta, const T* chunk_states,
                         const RecurrenceDims& d, RecurrenceForm form) {
  using namespace lrec;
  ICL_ASSERT(d.chunk > 0 && chunk_states);
  const int64_t n = d.dk * d.dv, NC = d.chunks();
  for_pairs(d, [&](int64_t bh) {
    const int64_t b = bh / d.H, h = bh % d.H;
    const ConstRows<T> Q = head_rows(q, b, h, d, d.dk), K = head_rows(k, b, h, d, d.dk),
                       V = head_rows(v, b, h, d, d.dv), Bt = head_rows(beta, b, h, d, 1),
                       dO = head_rows(dout, b, h, d, d.dv);
    Mat<T> dQ = Mat<T>::Zero(d.T, d.dk), dK = Mat<T>::Zero(d.T, d.dk), dV = Mat<T>::Zero(d.T, d.dv),
           dB = Mat<T>::Zero(d.T, 1);
    Mat<T> dS = dfinal ? Mat<T>(ConstStateMap<T>(dfinal + bh * n, d.dv, d.dk))
                       : Mat<T>(Mat<T>::Zero(d.dv, d.dk));
    Mat<T> states, M, KK, Wv, Dl, P, dP, dD, dM;
    Vec<T> wv(d.dv), dw(d.dv);
    for (int64_t c = NC - 1; c >= 0; --c) {
      const int64_t t0 = c * d.chunk, L = std::min(d.chunk, d.T - t0);
      const ConstStateMap<T> S(chunk_states + (bh * NC + c) * n, d.dv, d.dk);
      if (form == RecurrenceForm::Recurrent) {
        // Row r of `states` is the state before step t0 + r (row L: after the chunk).
        states.resize(L + 1, n);
        StateMap<T>(states.row(0).data(), d.dv, d.dk) = S;
        for (int64_t r = 0; r < L; ++r) {
          const int64_t t = t0 + r;
          const ConstStateMap<T> before(states.row(r).data(), d.dv, d.dk);
          wv.noalias() = before * K.row(t).transpose();
          wv = Bt(t, 0) * (V.row(t).transpose() - wv);
          StateMap<T> next(states.row(r + 1).data(), d.dv, d.dk);
          next = before;
          next.noalias() += wv * K.row(t);
        }
        for (int64_t r = L - 1; r >= 0; --r) {
          const int64_t t = t0 + r;
          const ConstStateMap<T> before(states.row(r).data(), d.dv, d.dk),
              after(states.row(r + 1).data(), d.dv, d.dk);
          dS.noalias() += dO.row(t).transpose() * Q.row(t);
          dQ.row(t).noalias() += dO.row(t) * after;
          wv.noalias() = before * K.row(t).transpose();
          wv = V.row(t).transpose() - wv;
          dw.noalias() = dS * K.row(t).transpose();
          dB(t, 0) += wv.dot(dw);
          dw *= Bt(t, 0);
          dV.row(t) += dw.transpose();
          dK.row(t).noalias() += Bt(t, 0) * (wv.transpose() * dS);
          dK.row(t).noalias() -= dw.transpose() * before;
          dS.noalias() -= dw * K.row(t);
        }
        continue;
      }
      const auto Qc = Q.middleRows(t0, L), Kc = K.middleRows(t0, L), Vc = V.middleRows(t0, L),
                 dOc = dO.middleRows(t0, L);
      const auto bc = Bt.col(0).segment(t0, L);
      KK.noalias() = Kc * Kc.transpose();
      M = bc.asDiagonal() * KK;
      Wv.noalias() = Vc - Kc * S.transpose();
      Dl = bc.asDiagonal() * Wv;
      M.template triangularView<Eigen::UnitLower>().solveInPlace(Dl);
      P.noalias() = Qc * Kc.transpose();
      P.template triangularView<Eigen::StrictlyUpper>().setZero();
      dP.noalias() = dOc * Dl.transpose();
      dP.template triangularView<Eigen::StrictlyUpper>().setZero();

      dD.noalias() = P.transpose() * dOc;
      dD.noalias() += Kc * dS.transpose();
      dQ.middleRows(t0, L).noalias() += dOc * S;
      dQ.middleRows(t0, L).noalias() += dP * Kc;
      dK.middleRows(t0, L).noalias() += dP.transpose() * Qc;
      dK.middleRows(t0, L).noalias() += Dl * dS;
      dS.noalias() += dOc.transpose() * Qc;

      M.transpose().template triangularView<Eigen::UnitUpper>().solveInPlace(dD);  // dD is now dY
      dM.noalias() = -dD * Dl.transpose();
      dM.template triangularView<Eigen::Upper>().setZero();
      dB.middleRows(t0, L) += dM.cwiseProduct(KK).rowwise().sum();
      dB.middleRows(t0, L) += dD.cwiseProduct(Wv).rowwise().sum();
      dM = bc.asDiagonal() * dM;
      dK.middleRows(t0, L).noalias() += dM * Kc;
      dK.middleRows(t0, L).noalias() += dM.transpose() * Kc;
      dD = bc.asDiagonal() * dD;
      dV.middleRows(t0, L) += dD;
      dK.middleRows(t0, L).noalias() -= dD * S;
      dS.noalias() -= dD.transpose() * Kc;
    }
    add_rows(dq, b, h, d, dQ);
    add_rows(dk, b, h, d, dK);
    add_rows(dv, b, h, d, dV);
    add_rows(dbeta, b, h, d, dB);
    if (dinitial) StateMap<T>(dinitial + bh * n, d.dv, d.dk) += dS;
  });
}

}  // namespace kern

// The CUDA twins (kernels/delta_rule.cu): the recurrent arithmetic for either form, on device
// pointers, enqueued on the context's stream; gradients accumulate (+=) as in kern::. The backward
// needs `scratch` of delta_rule_scratch(d) floats for the recomputed states.
namespace cuda {
int64_t delta_rule_scratch(const RecurrenceDims& d);
void delta_rule_forward(const CudaContext& ctx, float* out, float* final_state, float* chunk_states,
                        const float* q, const float* k, const float* v, const float* beta,
                        const float* initial, const RecurrenceDims& d);
void delta_rule_backward(const CudaContext& ctx, float* dq, float* dk, float* dv, float* dbeta,
                         float* dinitial, const float* dout, const float* dfinal, const float* q,
                         const float* k, const float* v, const float* beta,
                         const float* chunk_states, float* scratch, const RecurrenceDims& d);
}  // namespace cuda

namespace ops {

// q, k [B, T, H·dk], v [B, T, H·dv], beta [B, T, H], initial [B, H, dv, dk] or an empty Var
// (zeros). Returns out [B, T, H·dv] and, when opt.final_state, the state [B, H, dv, dk]. On a GPU
// the recurrent arithmetic runs for either form (kernels/delta_rule.cu).
RecurrenceResult delta_rule(Graph& g, Var q, Var k, Var v, Var beta, int64_t heads,
                            Var initial = {}, RecurrenceOptions opt = {});

}  // namespace ops

}  // namespace icl

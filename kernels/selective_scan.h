#pragma once
// Mamba-1's selective scan (Gu & Dao 2023), as the reference of Grazzi et al. 2025 runs it
// (mamba.py's selective_scan, with their positive_and_negative option). For every batch b and
// channel e, a state h [N] (zero at t = 0):
//     a_t[n] = exp(Δ_t A[n]),   A = −exp(A_log[e])       (negative: 2·exp(Δ_t A[n]) − 1 ∈ (−1, 1])
//     h_t[n] = a_t[n] h_{t−1}[n] + Δ_t x_t B_t[n],       y_t = Σ_n C_t[n] h_t[n]
// with x, Δ [B, T, E] (x_t, Δ_t of channel e), A_log [E, N], and B_t, C_t [B, T, N] shared by all
// channels; y [B, T, E]. Mamba's D·x skip and the gate are separate ops (kernels/gating.h).
//
// This is the gated linear recurrence (kernels/linear_recurrence.h) with one head per channel,
// dk = N, dv = 1, q = C, k = B, v = Δx and per-key-dimension gates a_t. The two forms:
//  * Recurrent: the loop above, per (b, e), with its backward, for t from T down to 1
//        g += dy_t C_t;  dC_t += dy_t h_t;  du_t = g·B_t;  dB_t += u_t g;
//        da_t = g ⊙ h_{t−1};  g ← a_t ⊙ g                                   (u_t = Δ_t x_t)
//  * Chunked: linear_recurrence.h's chunked pair code (lrec::pair_forward, pair_backward) on
//    these rows, so the two are checked against each other like the other recurrences. It costs
//    O(chunk) more per step than the loop: with a state of N scalars per channel there is no
//    matrix product to gain, and the recurrent form is the one to train with.
// Both end in the same chain rule through the gates: with s = 1 (2 when negative) and
// ε = exp(Δ_t A[n]),  dΔ_t += du_t x_t + Σ_n da_t[n] s A[n] ε,  dx_t += du_t Δ_t,
// dA_log[e, n] += Σ_t da_t[n] s Δ_t ε A[n]  (dA/dA_log = A).
//
// Backward restarts each chunk from the entry states the forward saved (`chunk_states`
// [B, E, ⌈T/chunk⌉, N]). Work is split by batch row: row b's channels run in order in one thread,
// which owns dB[b], dC[b] and a slice of `partial_dA_log` [B, E, N]; the slices are then summed
// over b in order. So results do not depend on the thread count.
#include <cmath>
#include <cstdint>

#include "core/blocks.h"
#include "core/cuda_context.h"
#include "core/graph.h"
#include "kernels/linear_recurrence.h"

namespace icl {

struct ScanDims {
  int64_t B = 1, T = 1, E = 1, N = 1;
  int64_t chunk = 64;  // the chunked form's chunk; the stride at which states are saved
  int64_t chunks() const { return (T + chunk - 1) / chunk; }
};

namespace kern {

namespace scan {

template <class T>
T gate(T dt, T A, bool negative) {
  const T e = std::exp(dt * A);
  return negative ? T(2) * e - T(1) : e;
}

// A[n] = −exp(A_log[e, n]) of channel e.
template <class T>
void channel_rates(lrec::Vec<T>& A, const T* a_log, int64_t e, const ScanDims& d) {
  A.resize(d.N);
  for (int64_t n = 0; n < d.N; ++n) A(n) = -std::exp(a_log[e * d.N + n]);
}

// Channel e of row b, one exp per (t, n): ε_t[n] = exp(Δ_t A[n]) and the gates a_t[n] [T, N]
// (gate()'s values, bit for bit), and u_t = Δ_t x_t [T].
template <class T>
void channel_inputs(lrec::Mat<T>& eps, lrec::Mat<T>& a, lrec::Mat<T>& u, const T* x, const T* dt,
                    const lrec::Vec<T>& A, int64_t b, int64_t e, const ScanDims& d, bool negative) {
  eps.resize(d.T, d.N);
  a.resize(d.T, d.N);
  u.resize(d.T, 1);
  for (int64_t t = 0; t < d.T; ++t) {
    const int64_t i = (b * d.T + t) * d.E + e;
    for (int64_t n = 0; n < d.N; ++n) {
      eps(t, n) = std::exp(dt[i] * A(n));
      a(t, n) = negative ? T(2) * eps(t, n) - T(1) : eps(t, n);
    }
    u(t, 0) = dt[i] * x[i];
  }
}

inline RecurrenceDims as_recurrence(const ScanDims& d) { return {1, d.T, 1, d.N, 1, d.chunk}; }

}  // namespace scan

template <class T>
void selective_scan_forward(T* y, T* chunk_states, const T* x, const T* dt, const T* a_log,
                            const T* Bm, const T* Cm, const ScanDims& d, bool negative,
                            RecurrenceForm form) {
  using namespace lrec;
  const int64_t NC = d.chunks();
  const int64_t per_pair = std::max<int64_t>(1, d.T * d.N);
  for_blocks(d.B * d.E, std::max<int64_t>(1, (int64_t(1) << 15) / per_pair),
             [&](int64_t p0, int64_t p1) {
               Mat<T> eps, a, u, S;
               Vec<T> A;
               for (int64_t p = p0; p < p1; ++p) {
                 const int64_t b = p / d.E, e = p % d.E;
                 scan::channel_rates(A, a_log, e, d);
                 T* saved = chunk_states ? chunk_states + p * NC * d.N : nullptr;
                 if (form == RecurrenceForm::Chunked) {
                   scan::channel_inputs(eps, a, u, x, dt, A, b, e, d, negative);
                   const ConstRows<T> Q(Cm + b * d.T * d.N, d.T, d.N, Eigen::OuterStride<>(d.N)),
                       K(Bm + b * d.T * d.N, d.T, d.N, Eigen::OuterStride<>(d.N)),
                       V(u.data(), d.T, 1, Eigen::OuterStride<>(1)),
                       G(a.data(), d.T, d.N, Eigen::OuterStride<>(d.N));
                   Rows<T> O(y + b * d.T * d.E + e, d.T, 1, Eigen::OuterStride<>(d.E));
                   S.setZero(d.N, 1);
                   pair_forward(O, S, saved, Q, K, V, G, scan::as_recurrence(d), form);
                   continue;
                 }
                 S.setZero(d.N, 1);
                 for (int64_t t = 0; t < d.T; ++t) {
                   if (saved && t % d.chunk == 0)
                     std::copy(S.data(), S.data() + d.N, saved + (t / d.chunk) * d.N);
                   const int64_t i = (b * d.T + t) * d.E + e;
                   const T u_t = dt[i] * x[i];
                   const T *Bt = Bm + (b * d.T + t) * d.N, *Ct = Cm + (b * d.T + t) * d.N;
                   T acc = 0;
                   for (int64_t n = 0; n < d.N; ++n) {
                     S(n) = scan::gate(dt[i], A(n), negative) * S(n) + u_t * Bt[n];
                     acc += Ct[n] * S(n);
                   }
                   y[i] = acc;
                 }
               }
             });
}

// Gradients accumulate (+=); any may be null except partial_dA_log when dA_log is wanted.
template <class T>
void selective_scan_backward(T* dx, T* ddt, T* dA_log, T* dB, T* dC, T* partial_dA_log, const T* dy,
                             const T* x, const T* dt, const T* a_log, const T* Bm, const T* Cm,
                             const T* chunk_states, const ScanDims& d, bool negative,
                             RecurrenceForm form) {
  using namespace lrec;
  const int64_t NC = d.chunks(), N = d.N;
  const T s = negative ? T(2) : T(1);
  if (dA_log) std::fill(partial_dA_log, partial_dA_log + d.B * d.E * N, T(0));
  for_blocks(d.B, 1, [&](int64_t b0, int64_t b1) {
    Mat<T> eps, a, u, states, dQ, dK, dV, dA, dS, g;
    Vec<T> A;
    for (int64_t b = b0; b < b1; ++b) {
      T* dBb = dB ? dB + b * d.T * N : nullptr;
      T* dCb = dC ? dC + b * d.T * N : nullptr;
      for (int64_t e = 0; e < d.E; ++e) {
        const T* saved = chunk_states + (b * d.E + e) * NC * N;
        scan::channel_rates(A, a_log, e, d);
        scan::channel_inputs(eps, a, u, x, dt, A, b, e, d, negative);
        // da [T, N] and du [T] of this channel, from either form.
        dA.setZero(d.T, N);
        dV.setZero(d.T, 1);
        if (form == RecurrenceForm::Chunked) {
          const ConstRows<T> Q(Cm + b * d.T * N, d.T, N, Eigen::OuterStride<>(N)),
              K(Bm + b * d.T * N, d.T, N, Eigen::OuterStride<>(N)),
              V(u.data(), d.T, 1, Eigen::OuterStride<>(1)),
              G(a.data(), d.T, N, Eigen::OuterStride<>(N)),
              dO(dy + b * d.T * d.E + e, d.T, 1, Eigen::OuterStride<>(d.E));
          dQ.setZero(d.T, N);
          dK.setZero(d.T, N);
          dS.setZero(N, 1);
          pair_backward(dQ, dK, dV, dA, dS, saved, Q, K, V, G, dO, scan::as_recurrence(d), form);
          if (dCb) Eigen::Map<Mat<T>>(dCb, d.T, N) += dQ;
          if (dBb) Eigen::Map<Mat<T>>(dBb, d.T, N) += dK;
        } else {
          g.setZero(N, 1);
          for (int64_t c = NC - 1; c >= 0; --c) {
            const int64_t t0 = c * d.chunk, L = std::min(d.chunk, d.T - t0);
            // Row r: the state before step t0 + r (row L: after the chunk).
            states.resize(L + 1, N);
            std::copy(saved + c * N, saved + (c + 1) * N, states.row(0).data());
            for (int64_t r = 0; r < L; ++r) {
              const int64_t t = t0 + r;
              const T* Bt = Bm + (b * d.T + t) * N;
              for (int64_t n = 0; n < N; ++n)
                states(r + 1, n) = a(t, n) * states(r, n) + u(t, 0) * Bt[n];
            }
            for (int64_t r = L - 1; r >= 0; --r) {
              const int64_t t = t0 + r;
              const T u_t = u(t, 0), dy_t = dy[(b * d.T + t) * d.E + e];
              const T *Bt = Bm + (b * d.T + t) * N, *Ct = Cm + (b * d.T + t) * N;
              T du = 0;
              for (int64_t n = 0; n < N; ++n) {
                g(n) += dy_t * Ct[n];
                if (dCb) dCb[t * N + n] += dy_t * states(r + 1, n);
                du += g(n) * Bt[n];
                if (dBb) dBb[t * N + n] += u_t * g(n);
                dA(t, n) = g(n) * states(r, n);
                g(n) *= a(t, n);
              }
              dV(t, 0) = du;
            }
          }
        }
        // The chain rule through u = Δx and the gates.
        for (int64_t t = 0; t < d.T; ++t) {
          const int64_t i = (b * d.T + t) * d.E + e;
          T ddt_t = dV(t, 0) * x[i];
          for (int64_t n = 0; n < N; ++n) {
            const T da = dA(t, n) * s * eps(t, n);
            ddt_t += da * A(n);
            if (dA_log) partial_dA_log[(b * d.E + e) * N + n] += da * dt[i] * A(n);
          }
          if (dx) dx[i] += dV(t, 0) * dt[i];
          if (ddt) ddt[i] += ddt_t;
        }
      }
    }
  });
  if (dA_log)
    for (int64_t b = 0; b < d.B; ++b)
      for (int64_t j = 0; j < d.E * N; ++j) dA_log[j] += partial_dA_log[b * d.E * N + j];
}

}  // namespace kern

// The CUDA twins (kernels/selective_scan.cu): the recurrent arithmetic for either form, on device
// pointers, enqueued on the context's stream; gradients accumulate (+=). The backward needs
// `scratch` of selective_scan_scratch(d) floats.
namespace cuda {
int64_t selective_scan_scratch(const ScanDims& d);
void selective_scan_forward(const CudaContext& ctx, float* y, float* chunk_states, const float* x,
                            const float* dt, const float* a_log, const float* Bm, const float* Cm,
                            const ScanDims& d, bool negative);
void selective_scan_backward(const CudaContext& ctx, float* dx, float* ddt, float* dA_log,
                             float* dB, float* dC, const float* dy, const float* x, const float* dt,
                             const float* a_log, const float* Bm, const float* Cm,
                             const float* chunk_states, float* scratch, const ScanDims& d,
                             bool negative);
}  // namespace cuda

namespace ops {
// x, dt [B, T, E], a_log [E, N], b, c [B, T, N] -> y [B, T, E] (the scan above, A = −exp(a_log)).
// `opt.form` and `opt.chunk` as for the other recurrences; on a GPU the recurrent arithmetic runs
// for either form.
Var selective_scan(Graph& g, Var x, Var dt, Var a_log, Var b, Var c, bool negative,
                   RecurrenceOptions opt = {});
}  // namespace ops

}  // namespace icl

// CUDA twin of DeltaNet's delta rule (kernels/delta_rule.h). As for the gated recurrence
// (kernels/linear_recurrence.cu), one block per (b, h) pair runs the recurrent arithmetic for
// either form; the state S [dv, dk] lives in shared memory, thread i owns elements i, i +
// blockDim, ... of it, and every reduction is one thread's serial loop in a fixed order (no
// atomics). Step t:
//     u = β_t (v_t − S k_t);  S += u k_tᵀ;  o_t = S q_t.
// Backward restarts each chunk from its saved entry state, recomputes the chunk's states into
// `scratch` [B·H, chunk + 1, dv, dk], then for t backwards, with w = v_t − S_{t−1} k_t:
//     dS += do_t q_tᵀ;  dq_t = S_tᵀ do_t;  dβ_t = wᵀ dS k_t;  dw = β_t dS k_t;  dv_t += dw;
//     dk_t += β_t dSᵀ w − S_{t−1}ᵀ dw;  dS −= dw k_tᵀ.
#include "core/cuda_check.h"
#include "kernels/delta_rule.h"
#include "kernels/recurrence.cuh"

namespace icl::cuda {

namespace {

using recurrence::Dims;
using recurrence::kThreads;

__device__ void load_rows(const Dims& d, int64_t b, int64_t t, int64_t h, const float* q,
                          const float* k, const float* v, const float* dout, float* qs, float* ks,
                          float* vs, float* dos) {
  for (int64_t i = threadIdx.x; i < d.dk; i += blockDim.x) {
    if (qs) qs[i] = q[d.row(b, t, h, d.dk) + i];
    ks[i] = k[d.row(b, t, h, d.dk) + i];
  }
  for (int64_t e = threadIdx.x; e < d.dv; e += blockDim.x) {
    vs[e] = v[d.row(b, t, h, d.dv) + e];
    if (dos) dos[e] = dout[d.row(b, t, h, d.dv) + e];
  }
}

// us[e] = scale·(v[e] − Σ_c S[e, c] k[c]) for the rows e this thread owns (scale 1: the residual
// w).
__device__ void residual(const Dims& d, const float* S, const float* ks, const float* vs,
                         float scale, float* us) {
  for (int64_t e = threadIdx.x; e < d.dv; e += blockDim.x) {
    float sk = 0.f;
    for (int64_t c = 0; c < d.dk; ++c) sk += S[e * d.dk + c] * ks[c];
    us[e] = scale * (vs[e] - sk);
  }
}

__global__ void forward_kernel(float* out, float* final_state, float* chunk_states, const float* q,
                               const float* k, const float* v, const float* beta,
                               const float* initial, Dims d) {
  extern __shared__ float sh[];
  const int64_t n = d.dk * d.dv, bh = blockIdx.x, b = bh / d.H, h = bh % d.H;
  float *S = sh, *qs = S + n, *ks = qs + d.dk, *vs = ks + d.dk, *us = vs + d.dv;
  recurrence::copy_state(S, initial ? initial + bh * n : nullptr, n);
  __syncthreads();
  for (int64_t t = 0; t < d.T; ++t) {
    if (t % d.chunk == 0 && chunk_states)
      recurrence::copy_state(chunk_states + (bh * d.chunks() + t / d.chunk) * n, S, n);
    load_rows(d, b, t, h, q, k, v, nullptr, qs, ks, vs, nullptr);
    __syncthreads();
    residual(d, S, ks, vs, beta[d.row(b, t, h, 1)], us);
    __syncthreads();
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) S[i] += us[i / d.dk] * ks[i % d.dk];
    __syncthreads();
    for (int64_t e = threadIdx.x; e < d.dv; e += blockDim.x) {
      float o = 0.f;
      for (int64_t c = 0; c < d.dk; ++c) o += S[e * d.dk + c] * qs[c];
      out[d.row(b, t, h, d.dv) + e] = o;
    }
    __syncthreads();
  }
  if (final_state) recurrence::copy_state(final_state + bh * n, S, n);
}

__global__ void backward_kernel(float* dq, float* dk, float* dv, float* dbeta, float* dinitial,
                                const float* dout, const float* dfinal, const float* q,
                                const float* k, const float* v, const float* beta,
                                const float* chunk_states, float* scratch, Dims d) {
  extern __shared__ float sh[];
  const int64_t n = d.dk * d.dv, bh = blockIdx.x, b = bh / d.H, h = bh % d.H;
  float *dS = sh, *qs = dS + n, *ks = qs + d.dk, *vs = ks + d.dk, *dos = vs + d.dv,
        *ws = dos + d.dv, *dws = ws + d.dv;
  float* states = scratch + bh * (d.chunk + 1) * n;
  recurrence::copy_state(dS, dfinal ? dfinal + bh * n : nullptr, n);
  for (int64_t c = d.chunks() - 1; c >= 0; --c) {
    const int64_t t0 = c * d.chunk, L = d.T - t0 < d.chunk ? d.T - t0 : d.chunk;
    recurrence::copy_state(states, chunk_states + (bh * d.chunks() + c) * n, n);
    __syncthreads();
    for (int64_t r = 0; r < L; ++r) {
      load_rows(d, b, t0 + r, h, q, k, v, nullptr, nullptr, ks, vs, nullptr);
      __syncthreads();
      residual(d, states + r * n, ks, vs, beta[d.row(b, t0 + r, h, 1)], ws);
      __syncthreads();
      for (int64_t i = threadIdx.x; i < n; i += blockDim.x)
        states[(r + 1) * n + i] = states[r * n + i] + ws[i / d.dk] * ks[i % d.dk];
      __syncthreads();
    }
    for (int64_t r = L - 1; r >= 0; --r) {
      const int64_t t = t0 + r;
      const float *before = states + r * n, *after = states + (r + 1) * n;
      const float bt = beta[d.row(b, t, h, 1)];
      load_rows(d, b, t, h, q, k, v, dout, qs, ks, vs, dos);
      __syncthreads();
      for (int64_t i = threadIdx.x; i < n; i += blockDim.x) dS[i] += dos[i / d.dk] * qs[i % d.dk];
      __syncthreads();
      for (int64_t col = threadIdx.x; col < d.dk; col += blockDim.x) {
        float s = 0.f;
        for (int64_t e = 0; e < d.dv; ++e) s += after[e * d.dk + col] * dos[e];
        if (dq) dq[d.row(b, t, h, d.dk) + col] += s;
      }
      residual(d, before, ks, vs, 1.f, ws);
      for (int64_t e = threadIdx.x; e < d.dv; e += blockDim.x) {
        float s = 0.f;
        for (int64_t col = 0; col < d.dk; ++col) s += dS[e * d.dk + col] * ks[col];
        dws[e] = s;  // dS k_t, before the factor β_t
      }
      __syncthreads();
      if (dbeta && threadIdx.x == 0) {
        float s = 0.f;
        for (int64_t e = 0; e < d.dv; ++e) s += ws[e] * dws[e];
        dbeta[d.row(b, t, h, 1)] += s;
      }
      for (int64_t e = threadIdx.x; e < d.dv; e += blockDim.x)
        if (dv) dv[d.row(b, t, h, d.dv) + e] += bt * dws[e];
      for (int64_t col = threadIdx.x; col < d.dk; col += blockDim.x) {
        float through_w = 0.f, through_s = 0.f;
        for (int64_t e = 0; e < d.dv; ++e) {
          through_w += ws[e] * dS[e * d.dk + col];
          through_s += bt * dws[e] * before[e * d.dk + col];
        }
        if (dk) dk[d.row(b, t, h, d.dk) + col] += bt * through_w - through_s;
      }
      __syncthreads();
      for (int64_t i = threadIdx.x; i < n; i += blockDim.x)
        dS[i] -= bt * dws[i / d.dk] * ks[i % d.dk];
      __syncthreads();
    }
  }
  if (dinitial) recurrence::add_state(dinitial + bh * n, dS, n);
}

size_t shared_bytes(const RecurrenceDims& d, bool backward) {
  return recurrence::shared_bytes("delta_rule", d,
                                  d.dk * d.dv + 2 * d.dk + 2 * d.dv + (backward ? 2 * d.dv : 0));
}

}  // namespace

int64_t delta_rule_scratch(const RecurrenceDims& d) {
  return d.B * d.H * (d.chunk + 1) * d.dk * d.dv;
}

void delta_rule_forward(const CudaContext& ctx, float* out, float* final_state, float* chunk_states,
                        const float* q, const float* k, const float* v, const float* beta,
                        const float* initial, const RecurrenceDims& d) {
  forward_kernel<<<unsigned(d.B * d.H), kThreads, shared_bytes(d, false), ctx.stream()>>>(
      out, final_state, chunk_states, q, k, v, beta, initial, recurrence::dims(d));
  KERNEL_CHECK();
}

void delta_rule_backward(const CudaContext& ctx, float* dq, float* dk, float* dv, float* dbeta,
                         float* dinitial, const float* dout, const float* dfinal, const float* q,
                         const float* k, const float* v, const float* beta,
                         const float* chunk_states, float* scratch, const RecurrenceDims& d) {
  ICL_ASSERT(chunk_states && scratch);
  backward_kernel<<<unsigned(d.B * d.H), kThreads, shared_bytes(d, true), ctx.stream()>>>(
      dq, dk, dv, dbeta, dinitial, dout, dfinal, q, k, v, beta, chunk_states, scratch,
      recurrence::dims(d));
  KERNEL_CHECK();
}

}  // namespace icl::cuda

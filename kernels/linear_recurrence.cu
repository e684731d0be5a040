// CUDA twin of the gated linear recurrence (kernels/linear_recurrence.h). One block per (b, h)
// pair walks the sequence step by step, as the recurrent form does on the CPU, for either form:
// the chunked form is the same function, and at the lengths and head sizes of this suite a block
// per pair already fills the GPU's (B·H pairs) without the chunked form's extra products.
//
// The state S [dk, dv] lives in shared memory; thread i of the block owns elements i, i + blockDim,
// ... of it in every phase, and every reduction (o_t over d, dq/dk/da over e, dv over d) is one
// thread's serial loop in a fixed order: no atomics, bit-identical reruns. Gradients accumulate
// (+=) into rows that only this pair's block touches.
//
// Backward restarts each chunk from the entry state the forward saved (chunk_states, the CPU's
// layout [B·H, ⌈T/chunk⌉, dk, dv]) and recomputes the chunk's states into `scratch`
// [B·H, chunk + 1, dk, dv] (row r: the state before step t0 + r), then runs the steps backwards:
//     dS += q_t do_tᵀ;  dq_t = S_t do_t;  dk_t = dS v_t;  dv_t = dSᵀ k_t;
//     da_t[d] = Σ_e dS[d,e] S_{t−1}[d,e];  dS = diag(a_t) dS.
#include "core/cuda_check.h"
#include "kernels/linear_recurrence.h"
#include "kernels/recurrence.cuh"

namespace icl::cuda {

namespace {

using recurrence::Dims;
using recurrence::kThreads;

// Loads the rows of step t that a phase needs into shared memory (null destinations are skipped);
// a, of width dk, repeats a scalar gate.
__device__ void load_step(const Dims& d, int64_t b, int64_t t, int64_t h, const float* q,
                          const float* k, const float* v, const float* gates, const float* dout,
                          float* qs, float* ks, float* vs, float* as, float* dos) {
  for (int64_t i = threadIdx.x; i < d.dk; i += blockDim.x) {
    if (qs) qs[i] = q[d.row(b, t, h, d.dk) + i];
    ks[i] = k[d.row(b, t, h, d.dk) + i];
    as[i] = d.gw == 1 ? gates[d.row(b, t, h, 1)] : gates[d.row(b, t, h, d.dk) + i];
  }
  for (int64_t e = threadIdx.x; e < d.dv; e += blockDim.x) {
    vs[e] = v[d.row(b, t, h, d.dv) + e];
    if (dos) dos[e] = dout[d.row(b, t, h, d.dv) + e];
  }
}

__global__ void forward_kernel(float* out, float* final_state, float* chunk_states, const float* q,
                               const float* k, const float* v, const float* gates,
                               const float* initial, Dims d) {
  extern __shared__ float sh[];
  const int64_t n = d.dk * d.dv, bh = blockIdx.x, b = bh / d.H, h = bh % d.H;
  float *S = sh, *qs = S + n, *ks = qs + d.dk, *as = ks + d.dk, *vs = as + d.dk;
  recurrence::copy_state(S, initial ? initial + bh * n : nullptr, n);
  for (int64_t t = 0; t < d.T; ++t) {
    if (t % d.chunk == 0 && chunk_states)
      recurrence::copy_state(chunk_states + (bh * d.chunks() + t / d.chunk) * n, S, n);
    load_step(d, b, t, h, q, k, v, gates, nullptr, qs, ks, vs, as, nullptr);
    __syncthreads();
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
      const int64_t r = i / d.dv, e = i % d.dv;
      S[i] = as[r] * S[i] + ks[r] * vs[e];
    }
    __syncthreads();
    for (int64_t e = threadIdx.x; e < d.dv; e += blockDim.x) {
      float o = 0.f;
      for (int64_t r = 0; r < d.dk; ++r) o += qs[r] * S[r * d.dv + e];
      out[d.row(b, t, h, d.dv) + e] = o;
    }
    __syncthreads();  // the next step's loads overwrite qs, ks, vs, as
  }
  if (final_state) recurrence::copy_state(final_state + bh * n, S, n);
}

__global__ void backward_kernel(float* dq, float* dk, float* dv, float* dgates, float* dinitial,
                                const float* dout, const float* dfinal, const float* q,
                                const float* k, const float* v, const float* gates,
                                const float* chunk_states, float* scratch, Dims d) {
  extern __shared__ float sh[];
  const int64_t n = d.dk * d.dv, bh = blockIdx.x, b = bh / d.H, h = bh % d.H;
  float *dS = sh, *qs = dS + n, *ks = qs + d.dk, *as = ks + d.dk, *vs = as + d.dk, *dos = vs + d.dv,
        *da = dos + d.dv;
  float* states = scratch + bh * (d.chunk + 1) * n;
  recurrence::copy_state(dS, dfinal ? dfinal + bh * n : nullptr, n);
  for (int64_t c = d.chunks() - 1; c >= 0; --c) {
    const int64_t t0 = c * d.chunk, L = d.T - t0 < d.chunk ? d.T - t0 : d.chunk;
    recurrence::copy_state(states, chunk_states + (bh * d.chunks() + c) * n, n);
    for (int64_t r = 0; r < L; ++r) {
      load_step(d, b, t0 + r, h, nullptr, k, v, gates, nullptr, nullptr, ks, vs, as, nullptr);
      __syncthreads();
      for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
        const int64_t row = i / d.dv, e = i % d.dv;
        states[(r + 1) * n + i] = as[row] * states[r * n + i] + ks[row] * vs[e];
      }
      __syncthreads();
    }
    for (int64_t r = L - 1; r >= 0; --r) {
      const int64_t t = t0 + r;
      const float *before = states + r * n, *after = states + (r + 1) * n;
      load_step(d, b, t, h, q, k, v, gates, dout, qs, ks, vs, as, dos);
      __syncthreads();
      for (int64_t i = threadIdx.x; i < n; i += blockDim.x) dS[i] += qs[i / d.dv] * dos[i % d.dv];
      __syncthreads();
      for (int64_t row = threadIdx.x; row < d.dk; row += blockDim.x) {
        float sq = 0.f, sk = 0.f, sa = 0.f;
        for (int64_t e = 0; e < d.dv; ++e) {
          const int64_t i = row * d.dv + e;
          sq += after[i] * dos[e];
          sk += dS[i] * vs[e];
          sa += dS[i] * before[i];
        }
        if (dq) dq[d.row(b, t, h, d.dk) + row] += sq;
        if (dk) dk[d.row(b, t, h, d.dk) + row] += sk;
        if (d.gw == 1)
          da[row] = sa;
        else if (dgates)
          dgates[d.row(b, t, h, d.dk) + row] += sa;
      }
      for (int64_t e = threadIdx.x; e < d.dv; e += blockDim.x) {
        float s = 0.f;
        for (int64_t row = 0; row < d.dk; ++row) s += dS[row * d.dv + e] * ks[row];
        if (dv) dv[d.row(b, t, h, d.dv) + e] += s;
      }
      __syncthreads();
      if (d.gw == 1 && dgates && threadIdx.x == 0) {
        float s = 0.f;
        for (int64_t row = 0; row < d.dk; ++row) s += da[row];
        dgates[d.row(b, t, h, 1)] += s;
      }
      for (int64_t i = threadIdx.x; i < n; i += blockDim.x) dS[i] *= as[i / d.dv];
      __syncthreads();
    }
  }
  if (dinitial) recurrence::add_state(dinitial + bh * n, dS, n);
}

size_t shared_bytes(const RecurrenceDims& d, bool backward) {
  return recurrence::shared_bytes("gated_linear_attention", d,
                                  d.dk * d.dv + 3 * d.dk + d.dv + (backward ? d.dv + d.dk : 0));
}

}  // namespace

int64_t gated_linear_attention_scratch(const RecurrenceDims& d) {
  return d.B * d.H * (d.chunk + 1) * d.dk * d.dv;
}

void gated_linear_attention_forward(const CudaContext& ctx, float* out, float* final_state,
                                    float* chunk_states, const float* q, const float* k,
                                    const float* v, const float* gates, int64_t gate_width,
                                    const float* initial, const RecurrenceDims& d) {
  forward_kernel<<<unsigned(d.B * d.H), kThreads, shared_bytes(d, false), ctx.stream()>>>(
      out, final_state, chunk_states, q, k, v, gates, initial, recurrence::dims(d, gate_width));
  KERNEL_CHECK();
}

void gated_linear_attention_backward(const CudaContext& ctx, float* dq, float* dk, float* dv,
                                     float* dgates, float* dinitial, const float* dout,
                                     const float* dfinal, const float* q, const float* k,
                                     const float* v, const float* gates, int64_t gate_width,
                                     const float* chunk_states, float* scratch,
                                     const RecurrenceDims& d) {
  ICL_ASSERT(chunk_states && scratch);
  backward_kernel<<<unsigned(d.B * d.H), kThreads, shared_bytes(d, true), ctx.stream()>>>(
      dq, dk, dv, dgates, dinitial, dout, dfinal, q, k, v, gates, chunk_states, scratch,
      recurrence::dims(d, gate_width));
  KERNEL_CHECK();
}

}  // namespace icl::cuda

// CUDA twin of Mamba-1's selective scan (kernels/selective_scan.h): the recurrent arithmetic for
// either form. A block of kChannels threads takes kChannels channels of one batch row, one thread
// per channel, and walks the sequence step by step; B_t and C_t, shared by the row's channels, are
// staged in shared memory at each step.
//
// Backward: each thread recomputes its channel's states over a chunk from the saved entry state
// into `scratch` (the CPU's chunk_states layout [B·E, ⌈T/chunk⌉, N]), then runs the steps
// backwards as the CPU's recurrent form does. dB_t and dC_t sum over channels: each thread writes
// its terms to shared memory, and thread n adds them up in channel order into a per-block row
// (part_dB, part_dC [B, blocks, T, N]); a second kernel adds the blocks in order. dA_log sums over
// batch rows the same way (part_dA [B, E, N]). No atomics: reruns are bit-identical, and the sums
// run in another order than the CPU's, so the two agree to rounding.
#include <algorithm>

#include "core/cuda_check.h"
#include "core/error.h"
#include "kernels/selective_scan.h"

namespace icl::cuda {

namespace {

constexpr int kChannels = 32;
constexpr size_t kSharedBytes = 48 * 1024;

struct Dims {
  int64_t B, T, E, N, chunk, blocks;
  bool negative;
  __device__ int64_t chunks() const { return (T + chunk - 1) / chunk; }
};

Dims dims(const ScanDims& d, bool negative) {
  return {d.B, d.T, d.E, d.N, d.chunk, (d.E + kChannels - 1) / kChannels, negative};
}

__device__ float gate(float dt, float A, bool negative) {
  const float e = expf(dt * A);
  return negative ? 2.f * e - 1.f : e;
}

// B_t and C_t of row b into shared memory (c may be null).
__device__ void load_bc(const Dims& d, int64_t b, int64_t t, const float* Bm, const float* Cm,
                        float* bs, float* cs) {
  for (int64_t n = threadIdx.x; n < d.N; n += blockDim.x) {
    bs[n] = Bm[(b * d.T + t) * d.N + n];
    if (cs) cs[n] = Cm[(b * d.T + t) * d.N + n];
  }
}

__global__ void forward_kernel(float* y, float* chunk_states, const float* x, const float* dt,
                               const float* a_log, const float* Bm, const float* Cm, Dims d) {
  extern __shared__ float sh[];
  const int64_t b = blockIdx.x, e = int64_t(blockIdx.y) * kChannels + threadIdx.x;
  const bool live = e < d.E;
  float *h = sh + threadIdx.x * d.N, *bs = sh + kChannels * d.N, *cs = bs + d.N;
  for (int64_t n = 0; n < d.N; ++n) h[n] = 0.f;
  for (int64_t t = 0; t < d.T; ++t) {
    load_bc(d, b, t, Bm, Cm, bs, cs);
    __syncthreads();
    if (live) {
      if (chunk_states && t % d.chunk == 0)
        for (int64_t n = 0; n < d.N; ++n)
          chunk_states[((b * d.E + e) * d.chunks() + t / d.chunk) * d.N + n] = h[n];
      const int64_t i = (b * d.T + t) * d.E + e;
      const float u = dt[i] * x[i];
      float acc = 0.f;
      for (int64_t n = 0; n < d.N; ++n) {
        h[n] = gate(dt[i], -expf(a_log[e * d.N + n]), d.negative) * h[n] + u * bs[n];
        acc += cs[n] * h[n];
      }
      y[i] = acc;
    }
    __syncthreads();  // the next step overwrites bs, cs
  }
}

__global__ void backward_kernel(float* dx, float* ddt, float* part_dA, float* part_dB,
                                float* part_dC, const float* dy, const float* x, const float* dt,
                                const float* a_log, const float* Bm, const float* Cm,
                                const float* chunk_states, float* scratch, Dims d) {
  extern __shared__ float sh[];
  const int64_t b = blockIdx.x, blk = blockIdx.y, e = blk * kChannels + threadIdx.x;
  const bool live = e < d.E;
  const int64_t N = d.N;
  float *g = sh + threadIdx.x * N, *tb = sh + (kChannels + threadIdx.x) * N,
        *tc = sh + (2 * kChannels + threadIdx.x) * N, *bs = sh + 3 * kChannels * N, *cs = bs + N;
  float* states = scratch + (b * d.E + (live ? e : 0)) * (d.chunk + 1) * N;
  for (int64_t n = 0; n < N; ++n) g[n] = 0.f;
  for (int64_t c = d.chunks() - 1; c >= 0; --c) {
    const int64_t t0 = c * d.chunk, L = d.T - t0 < d.chunk ? d.T - t0 : d.chunk;
    if (live)
      for (int64_t n = 0; n < N; ++n)
        states[n] = chunk_states[((b * d.E + e) * d.chunks() + c) * N + n];
    for (int64_t r = 0; r < L; ++r) {
      load_bc(d, b, t0 + r, Bm, nullptr, bs, nullptr);
      __syncthreads();
      if (live) {
        const int64_t i = (b * d.T + t0 + r) * d.E + e;
        const float u = dt[i] * x[i];
        for (int64_t n = 0; n < N; ++n)
          states[(r + 1) * N + n] =
              gate(dt[i], -expf(a_log[e * N + n]), d.negative) * states[r * N + n] + u * bs[n];
      }
      __syncthreads();
    }
    for (int64_t r = L - 1; r >= 0; --r) {
      const int64_t t = t0 + r;
      load_bc(d, b, t, Bm, Cm, bs, cs);
      __syncthreads();
      if (live) {
        const int64_t i = (b * d.T + t) * d.E + e;
        const float u = dt[i] * x[i], dy_t = dy[i], s = d.negative ? 2.f : 1.f;
        float du = 0.f, ddt_t = 0.f;
        for (int64_t n = 0; n < N; ++n) {
          const float A = -expf(a_log[e * N + n]), eps = expf(dt[i] * A);
          g[n] += dy_t * cs[n];
          tc[n] = dy_t * states[(r + 1) * N + n];
          du += g[n] * bs[n];
          tb[n] = u * g[n];
          const float da = g[n] * states[r * N + n] * s * eps;
          ddt_t += da * A;
          if (part_dA) part_dA[(b * d.E + e) * N + n] += da * dt[i] * A;
          g[n] *= gate(dt[i], A, d.negative);
        }
        ddt_t += du * x[i];
        if (dx) dx[i] += du * dt[i];
        if (ddt) ddt[i] += ddt_t;
      } else {
        for (int64_t n = 0; n < N; ++n) tb[n] = tc[n] = 0.f;
      }
      __syncthreads();
      for (int64_t n = threadIdx.x; n < N; n += blockDim.x) {
        float sb = 0.f, sc = 0.f;
        for (int j = 0; j < kChannels; ++j) {
          sb += sh[(kChannels + j) * N + n];
          sc += sh[(2 * kChannels + j) * N + n];
        }
        const int64_t row = ((b * d.blocks + blk) * d.T + t) * N + n;
        part_dB[row] = sb;
        part_dC[row] = sc;
      }
      __syncthreads();
    }
  }
}

// dB[b, t, n] += Σ_blk part[b, blk, t, n], blocks in order (likewise dC).
__global__ void sum_blocks_kernel(float* dB, float* dC, const float* part_dB, const float* part_dC,
                                  Dims d) {
  const int64_t total = d.B * d.T * d.N;
  for (int64_t j = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; j < total;
       j += int64_t(gridDim.x) * blockDim.x) {
    const int64_t b = j / (d.T * d.N), tn = j % (d.T * d.N);
    float sb = 0.f, sc = 0.f;
    for (int64_t k = 0; k < d.blocks; ++k) {
      sb += part_dB[(b * d.blocks + k) * d.T * d.N + tn];
      sc += part_dC[(b * d.blocks + k) * d.T * d.N + tn];
    }
    if (dB) dB[j] += sb;
    if (dC) dC[j] += sc;
  }
}

// dA_log[e, n] += Σ_b part_dA[b, e, n], rows in order.
__global__ void sum_rows_kernel(float* dA_log, const float* part_dA, Dims d) {
  const int64_t total = d.E * d.N;
  for (int64_t j = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; j < total;
       j += int64_t(gridDim.x) * blockDim.x) {
    float s = 0.f;
    for (int64_t b = 0; b < d.B; ++b) s += part_dA[b * total + j];
    dA_log[j] += s;
  }
}

size_t shared_bytes(const ScanDims& d, bool backward) {
  const size_t bytes = sizeof(float) * size_t((backward ? 3 : 1) * kChannels * d.N + 2 * d.N);
  if (bytes > kSharedBytes)
    fail("op selective_scan on CUDA: d_state = {} does not fit in shared memory (at most {})", d.N,
         kSharedBytes / sizeof(float) / (3 * kChannels + 2));
  return bytes;
}

unsigned reduce_blocks(int64_t n) { return unsigned(std::min<int64_t>((n + 255) / 256, 4096)); }

}  // namespace

int64_t selective_scan_scratch(const ScanDims& d) {
  const int64_t blocks = (d.E + kChannels - 1) / kChannels;
  return d.B * d.E * (d.chunk + 1) * d.N + 2 * d.B * blocks * d.T * d.N + d.B * d.E * d.N;
}

void selective_scan_forward(const CudaContext& ctx, float* y, float* chunk_states, const float* x,
                            const float* dt, const float* a_log, const float* Bm, const float* Cm,
                            const ScanDims& d, bool negative) {
  const Dims k = dims(d, negative);
  forward_kernel<<<dim3(unsigned(d.B), unsigned(k.blocks)), kChannels, shared_bytes(d, false),
                   ctx.stream()>>>(y, chunk_states, x, dt, a_log, Bm, Cm, k);
  KERNEL_CHECK();
}

void selective_scan_backward(const CudaContext& ctx, float* dx, float* ddt, float* dA_log,
                             float* dB, float* dC, const float* dy, const float* x, const float* dt,
                             const float* a_log, const float* Bm, const float* Cm,
                             const float* chunk_states, float* scratch, const ScanDims& d,
                             bool negative) {
  ICL_ASSERT(chunk_states && scratch);
  const Dims k = dims(d, negative);
  float* states = scratch;
  float* part_dB = states + d.B * d.E * (d.chunk + 1) * d.N;
  float* part_dC = part_dB + d.B * k.blocks * d.T * d.N;
  float* part_dA = part_dC + d.B * k.blocks * d.T * d.N;
  if (dA_log)
    CUDA_CHECK(cudaMemsetAsync(part_dA, 0, sizeof(float) * size_t(d.B * d.E * d.N), ctx.stream()));
  backward_kernel<<<dim3(unsigned(d.B), unsigned(k.blocks)), kChannels, shared_bytes(d, true),
                    ctx.stream()>>>(dx, ddt, dA_log ? part_dA : nullptr, part_dB, part_dC, dy, x,
                                    dt, a_log, Bm, Cm, chunk_states, states, k);
  KERNEL_CHECK();
  if (dB || dC) {
    sum_blocks_kernel<<<reduce_blocks(d.B * d.T * d.N), 256, 0, ctx.stream()>>>(dB, dC, part_dB,
                                                                                part_dC, k);
    KERNEL_CHECK();
  }
  if (dA_log) {
    sum_rows_kernel<<<reduce_blocks(d.E * d.N), 256, 0, ctx.stream()>>>(dA_log, part_dA, k);
    KERNEL_CHECK();
  }
}

}  // namespace icl::cuda

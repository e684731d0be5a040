// Attention on the GPU, causal or not, deterministic, in the two shapes kernels/attention.h
// promises. Non-causal attention (d.causal false) runs the same code with every key visible to
// every query: the loop bounds become T and the causality predicate is off.
// A key mask (the visible argument) joins the same predicate: a hidden key is skipped by every
// query, so it gets no weight in the forward and no dk, dv in the backward.
//
// Work split. A query row (or, in the dk/dv kernels, a key row) belongs to a group of G adjacent
// lanes of one warp; lane j of the group owns the head dimensions j, j+G, j+2G, ... and keeps its
// slice of q/k, dout/v and of the accumulators in registers (at most 16 floats each, so hd up to
// 256 stays in registers). A score q·k is the lane's partial dot product, then a butterfly over
// the group's lanes: both partners of every step add the same two numbers, so every lane ends with
// the bitwise same sum, and the order depends on hd only. Keys (or queries) live in shared memory
// and every group of a warp walks them in the same order, so shared reads are broadcasts and the
// shuffles always have the whole warp present: loop bounds are per warp (the warp's last row), and
// causality is a predicate on the update, never a divergent loop.
//
// Determinism without atomics: out/lse/dq of a query row are written only by its group, dk/dv of
// a key row only by its group, each summing over the other side in increasing position order.
// Hence the backward runs as "query side computes dq" and "key side computes dk, dv" -- two
// phases of one block for short prompts, two kernels for long ones. D_t = dout_t·out_t is
// recomputed where needed (cheap: T·hd per block) instead of going through scratch memory.
//
// Short prompts (T <= kShortAttention, and the head fits in shared memory): one block per (b, h)
// holds all K and V (backward: then all Q, dout, lse, D) in shared memory; groups loop over rows.
// Long prompts: flash-attention style: blocks of query (or key) tiles, the other side streams
// through shared memory in tiles of 4096 floats per tensor, online softmax in the forward.
#include <cmath>
#include <cstdint>

#include "core/cuda_check.h"
#include "core/cuda_launch.cuh"
#include "kernels/attention.h"

namespace icl::cuda {

namespace {

// Block sizes and tiles are this kernel's design (its work split above), not launch helpers;
// kWarp and ceil_div are core/cuda_launch.cuh's.
constexpr int kTileThreads = 256;  // threads of a tiled (long prompt) block
constexpr int kTileFloats = 4096;  // floats per streamed tile of one tensor (16 KB)
constexpr int kShortFwdThreads = 512;
constexpr int kShortBwdThreads = 512;  // the dk/dv phase keeps four register slices per lane
// Dynamic shared memory the short path may use: the H100/H200 opt-in maximum per block. A fixed
// number, so which path runs (and hence the rounding) depends on the shapes only.
constexpr int kShortSmemMax = 227 * 1024;

// Head dimensions are padded up to HD in {16, 32, 64, 128, 256}; a lane owns E = HD / G of them.
template <int HD>
struct Cfg {
  static constexpr int G = HD <= 16 ? 1 : HD / 16;  // lanes per row
  static constexpr int E = HD / G;                  // dimensions per lane (<= 16)
  static constexpr int Rows = kTileThreads / G;     // rows of a tiled block
  static constexpr int Tile = kTileFloats / HD;     // rows of a streamed tile
  static_assert(G <= kWarp && kWarp % G == 0, "a row's lanes must sit in one warp");
};

struct Dims {
  int T, C, H, hd;
  float scale;
  bool causal;
  // Key visibility (kernels/attention.h; null: all visible): [B, T] as passed in, one sequence's
  // row once a kernel has offset it by its b. Softmax only, so inv_seen never meets it.
  const int32_t* vis;
  __host__ __device__ int64_t ld() const { return 3 * int64_t(C); }
  // Whether query t sees key s, and 1 / (the number of keys query t sees), ReLU's normaliser.
  __device__ bool hidden(int t, int s) const { return (causal && s > t) || (vis && !vis[s]); }
  __device__ float inv_seen(int t) const { return 1.f / float(causal ? t + 1 : T); }
};

// Sum over the G lanes of a group; every lane gets the bitwise same result (see top).
template <int G>
__device__ __forceinline__ float group_sum(float x) {
#pragma unroll
  for (int o = 1; o < G; o <<= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
  return x;
}

// The lane's partial dot product of its register slice with a row of hd floats.
template <int G, int E>
__device__ __forceinline__ float partial_dot(const float (&r)[E], const float* row, int j, int hd) {
  float acc = 0.f;
#pragma unroll
  for (int e = 0; e < E; ++e) {
    const int i = j + G * e;
    if (i < hd) acc += r[e] * row[i];
  }
  return acc;
}

// Loads the lane's slice of a row (zeros beyond hd or for a row that does not exist).
template <int G, int E>
__device__ __forceinline__ void load_slice(float (&r)[E], const float* row, int j, int hd,
                                           bool valid) {
#pragma unroll
  for (int e = 0; e < E; ++e) {
    const int i = j + G * e;
    r[e] = (valid && i < hd) ? row[i] : 0.f;
  }
}

// r += a * row (the lane's slice).
template <int G, int E>
__device__ __forceinline__ void axpy_slice(float (&r)[E], float a, const float* row, int j,
                                           int hd) {
#pragma unroll
  for (int e = 0; e < E; ++e) {
    const int i = j + G * e;
    if (i < hd) r[e] += a * row[i];
  }
}

// rows [row0, row0 + n) of one head's hd columns (global, row stride ld) -> dense smem [n, hd].
__device__ __forceinline__ void load_rows(float* dst, const float* src, int64_t ld, int row0, int n,
                                          int hd) {
  const int total = n * hd;
  for (int idx = threadIdx.x; idx < total; idx += blockDim.x) {
    const int r = idx / hd, c = idx - r * hd;
    dst[idx] = src[int64_t(row0 + r) * ld + c];
  }
}

// Per query row state of the forward: online softmax (or the plain ReLU sum).
template <int G, int E>
struct FwdRow {
  float q[E], acc[E];
  float m, l;

  __device__ void begin(const float* qrow, int j, int hd, bool valid) {
    load_slice<G, E>(q, qrow, j, hd, valid);
#pragma unroll
    for (int e = 0; e < E; ++e) acc[e] = 0.f;
    m = -INFINITY;
    l = 0.f;
  }
  // Keys ks[0..n) (rows of Ks/Vs, smem), key positions s0.., for the row at position t; `valid`
  // says the row exists. Every lane of the warp calls this with the same n.
  __device__ void keys(const float* Ks, const float* Vs, int n, int s0, int t, bool valid,
                       const Dims& d, bool relu, int j) {
    const float inv_n = d.inv_seen(t);
    for (int ss = 0; ss < n; ++ss) {
      const float* k = Ks + ss * d.hd;
      const float x = group_sum<G>(partial_dot<G, E>(q, k, j, d.hd)) * d.scale;
      if (!valid || d.hidden(t, s0 + ss)) continue;
      const float* v = Vs + ss * d.hd;
      if (relu) {
        if (x > 0.f) axpy_slice<G, E>(acc, x * inv_n, v, j, d.hd);
      } else {
        if (x > m) {  // new running max: rescale what was summed so far
          const float corr = expf(m - x);
          l *= corr;
#pragma unroll
          for (int e = 0; e < E; ++e) acc[e] *= corr;
          m = x;
        }
        const float p = expf(x - m);
        l += p;
        axpy_slice<G, E>(acc, p, v, j, d.hd);
      }
    }
  }
  __device__ void finish(float* orow, float* lse_t, bool relu, int j, int hd) const {
    const float inv_l = relu ? 1.f : 1.f / l;
#pragma unroll
    for (int e = 0; e < E; ++e) {
      const int i = j + G * e;
      if (i < hd) orow[i] = acc[e] * inv_l;
    }
    if (!relu && lse_t && j == 0) *lse_t = m + logf(l);
  }
};

// ---- forward -------------------------------------------------------------------------------

// Short prompts: block = (b, h); all of K and V in smem; groups take rows t = pass·groups + g.
template <int HD>
__global__ void __launch_bounds__(kShortFwdThreads)
    attn_fwd_short(float* out, float* lse, const float* qkv, Dims d, bool relu) {
  using K = Cfg<HD>;
  extern __shared__ float smem[];
  float* Ks = smem;
  float* Vs = smem + d.T * d.hd;
  const int bh = blockIdx.x, b = bh / d.H, h = bh % d.H;
  if (d.vis) d.vis += int64_t(b) * d.T;  // this sequence's key mask
  const int64_t ld = d.ld();
  const float* q0 = qkv + int64_t(b) * d.T * ld + int64_t(h) * d.hd;
  load_rows(Ks, q0 + d.C, ld, 0, d.T, d.hd);
  load_rows(Vs, q0 + 2 * d.C, ld, 0, d.T, d.hd);
  __syncthreads();
  const int groups = blockDim.x / K::G, g = threadIdx.x / K::G, j = threadIdx.x % K::G;
  const int warp_last_g = (threadIdx.x | (kWarp - 1)) / K::G;
  for (int base = 0; base < d.T; base += groups) {
    const int t = base + g;
    const bool valid = t < d.T;
    const int n = d.causal ? min(d.T, base + warp_last_g + 1) : d.T;  // keys the warp's rows need
    FwdRow<K::G, K::E> row;
    row.begin(q0 + int64_t(t) * ld, j, d.hd, valid);
    row.keys(Ks, Vs, n, 0, t, valid, d, relu, j);
    if (valid)
      row.finish(out + (int64_t(b) * d.T + t) * d.C + int64_t(h) * d.hd,
                 lse ? lse + int64_t(bh) * d.T + t : nullptr, relu, j, d.hd);
  }
}

// Long prompts: block = (b, h) x a tile of K::Rows query rows, one row per group; K and V stream
// through smem in tiles of K::Tile keys up to the block's last row.
template <int HD>
__global__ void __launch_bounds__(kTileThreads)
    attn_fwd_tiled(float* out, float* lse, const float* qkv, Dims d, bool relu) {
  using K = Cfg<HD>;
  extern __shared__ float smem[];
  float* Ks = smem;
  float* Vs = smem + K::Tile * d.hd;
  const int bh = blockIdx.x, b = bh / d.H, h = bh % d.H;
  if (d.vis) d.vis += int64_t(b) * d.T;  // this sequence's key mask
  const int64_t ld = d.ld();
  const float* q0 = qkv + int64_t(b) * d.T * ld + int64_t(h) * d.hd;
  const int g = threadIdx.x / K::G, j = threadIdx.x % K::G;
  const int row0 = blockIdx.y * K::Rows, t = row0 + g;
  const bool valid = t < d.T;
  const int block_end = d.causal ? min(d.T, row0 + K::Rows) : d.T;
  const int warp_end =
      d.causal ? min(d.T, row0 + (int(threadIdx.x) | (kWarp - 1)) / K::G + 1) : d.T;
  FwdRow<K::G, K::E> row;
  row.begin(q0 + int64_t(t) * ld, j, d.hd, valid);
  for (int s0 = 0; s0 < block_end; s0 += K::Tile) {
    const int n = min(K::Tile, block_end - s0);
    __syncthreads();  // the previous tile is consumed
    load_rows(Ks, q0 + d.C, ld, s0, n, d.hd);
    load_rows(Vs, q0 + 2 * d.C, ld, s0, n, d.hd);
    __syncthreads();
    row.keys(Ks, Vs, max(0, min(n, warp_end - s0)), s0, t, valid, d, relu, j);
  }
  if (valid)
    row.finish(out + (int64_t(b) * d.T + t) * d.C + int64_t(h) * d.hd,
               lse ? lse + int64_t(bh) * d.T + t : nullptr, relu, j, d.hd);
}

// ---- backward ------------------------------------------------------------------------------

// P_ts and dS_ts (without the 1/√hd of dS) from the score x, dP and the row's lse, D, 1/(t+1).
struct PdS {
  float p, ds;
};
__device__ __forceinline__ PdS p_ds(float x, float dp, float lse_t, float D_t, float inv_n,
                                    bool relu) {
  if (relu) {
    if (x > 0.f) return {x * inv_n, dp * inv_n};
    return {0.f, 0.f};
  }
  const float p = expf(x - lse_t);
  return {p, p * (dp - D_t)};
}

// Query side: dq_t += Σ_{s≤t} dS_ts k_s / √hd for the row at position t, keys from smem.
template <int G, int E>
struct DqRow {
  float q[E], dout[E], dq[E];
  float lse, D, inv_n;

  // Loads q_t, dout_t and computes D_t; every lane of the warp calls it (shuffles).
  __device__ void begin(const float* qrow, const float* dorow, const float* orow,
                        const float* lse_t, int t, int j, const Dims& d, bool valid, bool relu) {
    const int hd = d.hd;
    load_slice<G, E>(q, qrow, j, hd, valid);
    load_slice<G, E>(dout, dorow, j, hd, valid);
    float o[E];
    load_slice<G, E>(o, orow, j, hd, valid);
    float part = 0.f;
#pragma unroll
    for (int e = 0; e < E; ++e) {
      dq[e] = 0.f;
      part += dout[e] * o[e];
    }
    D = group_sum<G>(part);
    lse = (valid && !relu) ? *lse_t : 0.f;
    inv_n = d.inv_seen(t);
  }
  __device__ void keys(const float* Ks, const float* Vs, int n, int s0, int t, bool valid,
                       const Dims& d, bool relu, int j) {
    for (int ss = 0; ss < n; ++ss) {
      const float* k = Ks + ss * d.hd;
      const float* v = Vs + ss * d.hd;
      const float x = group_sum<G>(partial_dot<G, E>(q, k, j, d.hd)) * d.scale;
      const float dp = group_sum<G>(partial_dot<G, E>(dout, v, j, d.hd));
      if (!valid || d.hidden(t, s0 + ss)) continue;
      const PdS r = p_ds(x, dp, lse, D, inv_n, relu);
      axpy_slice<G, E>(dq, r.ds, k, j, d.hd);
    }
  }
  __device__ void finish(float* dqrow, int j, int hd, float scale) const {
#pragma unroll
    for (int e = 0; e < E; ++e) {
      const int i = j + G * e;
      if (i < hd) dqrow[i] += dq[e] * scale;
    }
  }
};

// Key side: dk_s += Σ_{t≥s} dS_ts q_t / √hd, dv_s += Σ_{t≥s} P_ts dout_t, queries from smem.
template <int G, int E>
struct DkvRow {
  float k[E], v[E], dk[E], dv[E];

  __device__ void begin(const float* krow, const float* vrow, int j, int hd, bool valid) {
    load_slice<G, E>(k, krow, j, hd, valid);
    load_slice<G, E>(v, vrow, j, hd, valid);
#pragma unroll
    for (int e = 0; e < E; ++e) dk[e] = dv[e] = 0.f;
  }
  // Query rows Qs/dOs[0..n) at positions t0.. with their lse (unused for ReLU) and D in smem,
  // for the key at position s; ss_begin is the same for the whole warp.
  __device__ void queries(const float* Qs, const float* dOs, const float* lse_s, const float* D_s,
                          int ss_begin, int n, int t0, int s, bool valid, const Dims& d, bool relu,
                          int j) {
    for (int ss = ss_begin; ss < n; ++ss) {
      const float* qr = Qs + ss * d.hd;
      const float* dor = dOs + ss * d.hd;
      const float x = group_sum<G>(partial_dot<G, E>(k, qr, j, d.hd)) * d.scale;
      const float dp = group_sum<G>(partial_dot<G, E>(v, dor, j, d.hd));
      const int t = t0 + ss;
      if (!valid || d.hidden(t, s)) continue;
      const PdS r = p_ds(x, dp, relu ? 0.f : lse_s[ss], D_s[ss], d.inv_seen(t), relu);
      axpy_slice<G, E>(dv, r.p, dor, j, d.hd);
      axpy_slice<G, E>(dk, r.ds, qr, j, d.hd);
    }
  }
  __device__ void finish(float* dkrow, float* dvrow, int j, int hd, float scale) const {
#pragma unroll
    for (int e = 0; e < E; ++e) {
      const int i = j + G * e;
      if (i < hd) {
        dkrow[i] += dk[e] * scale;
        dvrow[i] += dv[e];
      }
    }
  }
};

// D_r = dOs[r]·out_{t0+r} for the n rows of a smem tile, one group per row, into Ds.
template <int G, int E>
__device__ void tile_D(float* Ds, const float* dOs, const float* out0, int64_t ldo, int t0, int n,
                       int hd) {
  const int groups = blockDim.x / G, g = threadIdx.x / G, j = threadIdx.x % G;
  for (int base = 0; base < n; base += groups) {  // uniform over the block: shuffles are safe
    const int r = base + g;
    float part = 0.f;
    if (r < n) {
#pragma unroll
      for (int e = 0; e < E; ++e) {
        const int i = j + G * e;
        if (i < hd) part += dOs[r * hd + i] * out0[int64_t(t0 + r) * ldo + i];
      }
    }
    const float D = group_sum<G>(part);
    if (r < n && j == 0) Ds[r] = D;
  }
}

// Short prompts: block = (b, h). Phase 1: K, V in smem, groups own query rows (dq, and D_t into
// smem). Phase 2: Q, dout in the same smem, groups own key rows (dk, dv).
template <int HD>
__global__ void __launch_bounds__(kShortBwdThreads)
    attn_bwd_short(float* dqkv, const float* dout, const float* out, const float* lse,
                   const float* qkv, Dims d, bool relu) {
  using K = Cfg<HD>;
  extern __shared__ float smem[];
  float* A = smem;                       // K then Q  [T, hd]
  float* Bm = smem + d.T * d.hd;         // V then dO [T, hd]
  float* lse_s = smem + 2 * d.T * d.hd;  // [T]
  float* D_s = lse_s + d.T;              // [T]
  const int bh = blockIdx.x, b = bh / d.H, h = bh % d.H;
  if (d.vis) d.vis += int64_t(b) * d.T;  // this sequence's key mask
  const int64_t ld = d.ld();
  const int64_t head = int64_t(h) * d.hd;
  const float* q0 = qkv + int64_t(b) * d.T * ld + head;
  float* dq0 = dqkv + int64_t(b) * d.T * ld + head;
  const float* do0 = dout + int64_t(b) * d.T * d.C + head;
  const float* o0 = out + int64_t(b) * d.T * d.C + head;
  const int groups = blockDim.x / K::G, g = threadIdx.x / K::G, j = threadIdx.x % K::G;
  const int warp_first_g = (threadIdx.x & ~(kWarp - 1)) / K::G;
  const int warp_last_g = (threadIdx.x | (kWarp - 1)) / K::G;

  load_rows(A, q0 + d.C, ld, 0, d.T, d.hd);
  load_rows(Bm, q0 + 2 * d.C, ld, 0, d.T, d.hd);
  if (!relu)
    for (int i = threadIdx.x; i < d.T; i += blockDim.x) lse_s[i] = lse[int64_t(bh) * d.T + i];
  __syncthreads();
  for (int base = 0; base < d.T; base += groups) {
    const int t = base + g;
    const bool valid = t < d.T;
    const int n = d.causal ? min(d.T, base + warp_last_g + 1) : d.T;
    DqRow<K::G, K::E> row;
    row.begin(q0 + int64_t(t) * ld, do0 + int64_t(t) * d.C, o0 + int64_t(t) * d.C,
              valid ? lse_s + t : nullptr, t, j, d, valid, relu);
    if (valid && j == 0) D_s[t] = row.D;
    row.keys(A, Bm, n, 0, t, valid, d, relu, j);
    if (valid) row.finish(dq0 + int64_t(t) * ld, j, d.hd, d.scale);
  }
  __syncthreads();  // K, V consumed; D complete
  load_rows(A, q0, ld, 0, d.T, d.hd);
  load_rows(Bm, do0, d.C, 0, d.T, d.hd);
  __syncthreads();
  for (int base = 0; base < d.T; base += groups) {
    const int s = base + g;
    const bool valid = s < d.T;
    const int first = base + warp_first_g;
    if (first >= d.T) continue;  // whole warp: no key row left (warp-uniform)
    DkvRow<K::G, K::E> row;
    row.begin(q0 + d.C + int64_t(s) * ld, q0 + 2 * d.C + int64_t(s) * ld, j, d.hd, valid);
    // Causal: queries before the warp's first key do not matter.
    row.queries(A, Bm, lse_s, D_s, d.causal ? first : 0, d.T, 0, s, valid, d, relu, j);
    if (valid)
      row.finish(dq0 + d.C + int64_t(s) * ld, dq0 + 2 * d.C + int64_t(s) * ld, j, d.hd, d.scale);
  }
}

// Long prompts, query side: block = (b, h) x a tile of query rows; K, V stream through smem.
template <int HD>
__global__ void __launch_bounds__(kTileThreads)
    attn_bwd_dq_tiled(float* dqkv, const float* dout, const float* out, const float* lse,
                      const float* qkv, Dims d, bool relu) {
  using K = Cfg<HD>;
  extern __shared__ float smem[];
  float* Ks = smem;
  float* Vs = smem + K::Tile * d.hd;
  const int bh = blockIdx.x, b = bh / d.H, h = bh % d.H;
  if (d.vis) d.vis += int64_t(b) * d.T;  // this sequence's key mask
  const int64_t ld = d.ld();
  const int64_t head = int64_t(h) * d.hd;
  const float* q0 = qkv + int64_t(b) * d.T * ld + head;
  const int g = threadIdx.x / K::G, j = threadIdx.x % K::G;
  const int row0 = blockIdx.y * K::Rows, t = row0 + g;
  const bool valid = t < d.T;
  const int block_end = d.causal ? min(d.T, row0 + K::Rows) : d.T;
  const int warp_end =
      d.causal ? min(d.T, row0 + (int(threadIdx.x) | (kWarp - 1)) / K::G + 1) : d.T;
  DqRow<K::G, K::E> row;
  const int64_t orow = (int64_t(b) * d.T + t) * d.C + head;
  row.begin(q0 + int64_t(t) * ld, dout + orow, out + orow,
            (valid && !relu) ? lse + int64_t(bh) * d.T + t : nullptr, t, j, d, valid, relu);
  for (int s0 = 0; s0 < block_end; s0 += K::Tile) {
    const int n = min(K::Tile, block_end - s0);
    __syncthreads();
    load_rows(Ks, q0 + d.C, ld, s0, n, d.hd);
    load_rows(Vs, q0 + 2 * d.C, ld, s0, n, d.hd);
    __syncthreads();
    row.keys(Ks, Vs, max(0, min(n, warp_end - s0)), s0, t, valid, d, relu, j);
  }
  if (valid) row.finish(dqkv + int64_t(b) * d.T * ld + head + int64_t(t) * ld, j, d.hd, d.scale);
}

// Long prompts, key side: block = (b, h) x a tile of key rows; the query rows at or after the
// tile's first key stream through smem with their dout, lse and D.
template <int HD>
__global__ void __launch_bounds__(kTileThreads)
    attn_bwd_dkv_tiled(float* dqkv, const float* dout, const float* out, const float* lse,
                       const float* qkv, Dims d, bool relu) {
  using K = Cfg<HD>;
  extern __shared__ float smem[];
  float* Qs = smem;
  float* dOs = smem + K::Tile * d.hd;
  float* lse_s = smem + 2 * K::Tile * d.hd;
  float* D_s = lse_s + K::Tile;
  const int bh = blockIdx.x, b = bh / d.H, h = bh % d.H;
  if (d.vis) d.vis += int64_t(b) * d.T;  // this sequence's key mask
  const int64_t ld = d.ld();
  const int64_t head = int64_t(h) * d.hd;
  const float* q0 = qkv + int64_t(b) * d.T * ld + head;
  const float* do0 = dout + int64_t(b) * d.T * d.C + head;
  const float* o0 = out + int64_t(b) * d.T * d.C + head;
  const int g = threadIdx.x / K::G, j = threadIdx.x % K::G;
  const int key0 = blockIdx.y * K::Rows, s = key0 + g;
  const bool valid = s < d.T;
  const int warp_first = key0 + (int(threadIdx.x) & ~(kWarp - 1)) / K::G;
  DkvRow<K::G, K::E> row;
  row.begin(q0 + d.C + int64_t(s) * ld, q0 + 2 * d.C + int64_t(s) * ld, j, d.hd, valid);
  // Causal: only the queries at or after the tile's first key see its keys.
  for (int t0 = d.causal ? key0 : 0; t0 < d.T; t0 += K::Tile) {
    const int n = min(K::Tile, d.T - t0);
    __syncthreads();
    load_rows(Qs, q0, ld, t0, n, d.hd);
    load_rows(dOs, do0, d.C, t0, n, d.hd);
    if (!relu)
      for (int i = threadIdx.x; i < n; i += blockDim.x) lse_s[i] = lse[int64_t(bh) * d.T + t0 + i];
    __syncthreads();  // dOs complete before D reads it
    tile_D<K::G, K::E>(D_s, dOs, o0, d.C, t0, n, d.hd);
    __syncthreads();
    row.queries(Qs, dOs, lse_s, D_s, d.causal ? max(0, warp_first - t0) : 0, n, t0, s, valid, d,
                relu, j);
  }
  if (valid) {
    float* dk = dqkv + int64_t(b) * d.T * ld + head + d.C + int64_t(s) * ld;
    row.finish(dk, dk + d.C, j, d.hd, d.scale);
  }
}

// ---- launchers -----------------------------------------------------------------------------

// Lets kernel f use more than 48 KB of dynamic shared memory. Set at every launch that needs it
// (cheap, stream-independent, allowed during graph capture) so it holds on whichever device runs.
template <class F>
void allow_smem(F* f, size_t bytes) {
  if (bytes > size_t(48) * 1024)
    CUDA_CHECK(cudaFuncSetAttribute(f, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes)));
}

int short_threads(int T, int G, int max_threads) {
  const int want = int(ceil_div(T * G, kWarp) * kWarp);
  return want < max_threads ? want : max_threads;
}

template <int HD>
void forward_hd(const CudaContext& ctx, float* out, float* lse, const float* qkv, int B,
                const Dims& d, bool relu) {
  using K = Cfg<HD>;
  const size_t short_smem = size_t(2) * d.T * d.hd * sizeof(float);
  if (d.T <= kShortAttention && short_smem <= size_t(kShortSmemMax)) {
    allow_smem(attn_fwd_short<HD>, short_smem);
    attn_fwd_short<HD>
        <<<B * d.H, short_threads(d.T, K::G, kShortFwdThreads), short_smem, ctx.stream()>>>(
            out, lse, qkv, d, relu);
  } else {
    const dim3 grid(unsigned(B * d.H), unsigned(ceil_div(d.T, K::Rows)));
    const size_t smem = size_t(2) * K::Tile * d.hd * sizeof(float);
    attn_fwd_tiled<HD><<<grid, kTileThreads, smem, ctx.stream()>>>(out, lse, qkv, d, relu);
  }
  KERNEL_CHECK();
}

template <int HD>
void backward_hd(const CudaContext& ctx, float* dqkv, const float* dout, const float* out,
                 const float* lse, const float* qkv, int B, const Dims& d, bool relu) {
  using K = Cfg<HD>;
  const size_t short_smem = (size_t(2) * d.T * d.hd + size_t(2) * d.T) * sizeof(float);
  if (d.T <= kShortAttention && short_smem <= size_t(kShortSmemMax)) {
    allow_smem(attn_bwd_short<HD>, short_smem);
    attn_bwd_short<HD>
        <<<B * d.H, short_threads(d.T, K::G, kShortBwdThreads), short_smem, ctx.stream()>>>(
            dqkv, dout, out, lse, qkv, d, relu);
    KERNEL_CHECK();
  } else {
    const dim3 grid(unsigned(B * d.H), unsigned(ceil_div(d.T, K::Rows)));
    const size_t dq_smem = size_t(2) * K::Tile * d.hd * sizeof(float);
    attn_bwd_dq_tiled<HD>
        <<<grid, kTileThreads, dq_smem, ctx.stream()>>>(dqkv, dout, out, lse, qkv, d, relu);
    KERNEL_CHECK();
    const size_t dkv_smem = (size_t(2) * K::Tile * d.hd + size_t(2) * K::Tile) * sizeof(float);
    attn_bwd_dkv_tiled<HD>
        <<<grid, kTileThreads, dkv_smem, ctx.stream()>>>(dqkv, dout, out, lse, qkv, d, relu);
    KERNEL_CHECK();
  }
}

Dims make_dims(int64_t B, int64_t Tn, int64_t C, int64_t H, bool causal, const int32_t* visible) {
  ICL_ASSERT(B >= 0 && Tn >= 0 && C >= 0 && H > 0 && C % H == 0);
  const int64_t hd = C / H;
  if (hd > 256) fail("cuda attention: head dimension {} (C={}, H={}) exceeds 256", hd, C, H);
  // Blocks index (b, h) in grid.x and tiles in grid.y; positions and columns fit in int.
  if (B * H > int64_t(0x7fffffff) || Tn > int64_t(65535) * 16 || 3 * C > int64_t(0x7fffffff))
    fail("cuda attention: shape B={} T={} C={} H={} is too large", B, Tn, C, H);
  return Dims{int(Tn), int(C), int(H), int(hd), 1.f / std::sqrt(float(hd)), causal, visible};
}

}  // namespace

void attention_forward(const CudaContext& ctx, float* out, float* lse, const float* qkv, int64_t B,
                       int64_t Tn, int64_t C, int64_t H, AttentionKind kind, bool causal,
                       const int32_t* visible) {
  const Dims d = make_dims(B, Tn, C, H, causal, visible);
  if (B == 0 || Tn == 0 || C == 0) return;
  const bool relu = kind == AttentionKind::Relu;
  const int b = int(B);
  if (d.hd <= 16)
    forward_hd<16>(ctx, out, lse, qkv, b, d, relu);
  else if (d.hd <= 32)
    forward_hd<32>(ctx, out, lse, qkv, b, d, relu);
  else if (d.hd <= 64)
    forward_hd<64>(ctx, out, lse, qkv, b, d, relu);
  else if (d.hd <= 128)
    forward_hd<128>(ctx, out, lse, qkv, b, d, relu);
  else
    forward_hd<256>(ctx, out, lse, qkv, b, d, relu);
}

void attention_backward(const CudaContext& ctx, float* dqkv, const float* dout, const float* out,
                        const float* lse, const float* qkv, int64_t B, int64_t Tn, int64_t C,
                        int64_t H, AttentionKind kind, bool causal, const int32_t* visible) {
  const Dims d = make_dims(B, Tn, C, H, causal, visible);
  if (!dqkv || B == 0 || Tn == 0 || C == 0) return;
  const bool relu = kind == AttentionKind::Relu;
  ICL_ASSERT(relu || lse);
  const int b = int(B);
  if (d.hd <= 16)
    backward_hd<16>(ctx, dqkv, dout, out, lse, qkv, b, d, relu);
  else if (d.hd <= 32)
    backward_hd<32>(ctx, dqkv, dout, out, lse, qkv, b, d, relu);
  else if (d.hd <= 64)
    backward_hd<64>(ctx, dqkv, dout, out, lse, qkv, b, d, relu);
  else if (d.hd <= 128)
    backward_hd<128>(ctx, dqkv, dout, out, lse, qkv, b, d, relu);
  else
    backward_hd<256>(ctx, dqkv, dout, out, lse, qkv, b, d, relu);
}

}  // namespace icl::cuda

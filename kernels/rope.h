#pragma once
// Rotary position embedding (RoPE, Su et al. 2021) on the q and k of a fused qkv [B, T, 3C]
// (kernels/attention.h's layout: q = columns [0, C), k = [C, 2C), v = [2C, 3C), head h owning
// columns h·hd .. (h+1)·hd − 1 of each, hd = C/H, hd even). Position t is the token's index.
// Each head's columns are paired half by half (GPT-NeoX's convention): for i < hd/2,
//   θ_i = base^(−2i/hd),  (c, s) = (cos tθ_i, sin tθ_i)
//   y_i        = x_i c − x_{i+hd/2} s
//   y_{i+hd/2} = x_i s + x_{i+hd/2} c
// and v is copied. So q_t·k_u after the rotation depends on t and u only through t − u.
// backward (the transpose rotation, i.e. by −tθ, accumulated):
//   dx_i += dy_i c + dy_{i+hd/2} s,   dx_{i+hd/2} += −dy_i s + dy_{i+hd/2} c,   dv += dy_v.
// The angles are computed in double and rounded once to T (the paper behind the maze benchmark
// keeps position computations out of low precision), identically on the CPU and the GPU.
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/blocks.h"
#include "core/cuda_context.h"
#include "core/graph.h"

namespace icl {

namespace kern {

namespace rope {
// cos and sin of t·θ_i for t < Tn, i < half: [Tn, half] each.
template <class T>
void table(std::vector<T>& cs, std::vector<T>& sn, int64_t Tn, int64_t half, double base) {
  cs.resize(size_t(Tn * half));
  sn.resize(size_t(Tn * half));
  for (int64_t i = 0; i < half; ++i) {
    const double theta = std::pow(base, -2.0 * double(i) / double(2 * half));
    for (int64_t t = 0; t < Tn; ++t) {
      cs[size_t(t * half + i)] = T(std::cos(double(t) * theta));
      sn[size_t(t * half + i)] = T(std::sin(double(t) * theta));
    }
  }
}

// out = R(±tθ) in, applied to q and k, v passed through; added into out when Accumulate. The
// backward is the same rotation by −tθ (R is orthogonal: R(θ)ᵀ = R(−θ)), so one loop serves both.
template <bool Accumulate, class T>
void rotate(T* out, const T* in, bool inverse, int64_t B, int64_t Tn, int64_t C, int64_t H,
            double base) {
  const int64_t hd = C / H, half = hd / 2, ld = 3 * C;
  std::vector<T> cs, sn;
  table(cs, sn, Tn, half, base);
  if (inverse)
    for (T& v : sn) v = -v;
  const auto put = [](T& dst, T v) {
    if constexpr (Accumulate)
      dst += v;
    else
      dst = v;
  };
  for_blocks(B * Tn, std::max<int64_t>(1, 16384 / ld), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T *x = in + r * ld, *c = &cs[size_t((r % Tn) * half)],
              *s = &sn[size_t((r % Tn) * half)];
      T* y = out + r * ld;
      for (int64_t o = 0; o < 2 * C; o += hd)  // every head of q, then of k
        for (int64_t i = 0; i < half; ++i) {
          const T a = x[o + i], b = x[o + i + half];
          put(y[o + i], a * c[i] - b * s[i]);
          put(y[o + i + half], a * s[i] + b * c[i]);
        }
      for (int64_t j = 2 * C; j < ld; ++j) put(y[j], x[j]);
    }
  });
}
}  // namespace rope

template <class T>
void rope_forward(T* y, const T* x, int64_t B, int64_t Tn, int64_t C, int64_t H, double base) {
  rope::rotate<false>(y, x, false, B, Tn, C, H, base);
}

template <class T>
void rope_backward(T* dx, const T* dy, int64_t B, int64_t Tn, int64_t C, int64_t H, double base) {
  rope::rotate<true>(dx, dy, true, B, Tn, C, H, base);
}

}  // namespace kern

namespace cuda {
void rope_forward(const CudaContext& ctx, float* y, const float* x, int64_t B, int64_t Tn,
                  int64_t C, int64_t H, double base);
void rope_backward(const CudaContext& ctx, float* dx, const float* dy, int64_t B, int64_t Tn,
                   int64_t C, int64_t H, double base);
}  // namespace cuda

namespace ops {
// qkv [B, T, 3C] → the same with q and k rotated by their positions (heads of even width C/H).
Var rope(Graph& g, Var qkv, int64_t heads, double base);
}  // namespace ops

}  // namespace icl

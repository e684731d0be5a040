// CUDA twin of kernels/rope.h: one thread per element of qkv. The angle's cos and sin are computed
// in double and rounded to float, as the CPU's table is; the rotation is then the CPU's two
// products and one add in float.
#include "core/cuda_check.h"
#include "core/cuda_launch.cuh"
#include "kernels/rope.h"

namespace icl::cuda {

namespace {

// For element i of [B, T, 3C]: its position t, and for q and k its column j in the head, the
// pair's index p = j mod hd/2 and (c, s) of t·θ_p. Returns false for v.
struct RopeSite {
  int64_t base_col;  // index of the pair's first element (j < hd/2) in the row
  int64_t p, half;
  bool first;  // j < hd/2
  float c, s;
};

__device__ bool rope_site(int64_t i, int64_t Tn, int64_t C, int64_t hd, double base, RopeSite& r) {
  const int64_t col = i % (3 * C);
  if (col >= 2 * C) return false;
  const int64_t t = (i / (3 * C)) % Tn, j = col % hd;
  r.half = hd / 2;
  r.first = j < r.half;
  r.p = r.first ? j : j - r.half;
  r.base_col = col - j + r.p;
  const double theta = pow(base, -2.0 * double(r.p) / double(hd));
  double sd, cd;
  sincos(double(t) * theta, &sd, &cd);
  r.c = float(cd);
  r.s = float(sd);
  return true;
}

// out = R(±tθ) in for q and k, v passed through; added into out when Accumulate (the backward:
// the rotation by −tθ, as kern::rope::rotate).
template <bool Accumulate>
__global__ void rope_kernel(float* out, const float* in, bool inverse, int64_t n, int64_t Tn,
                            int64_t C, int64_t hd, double base) {
  for (int64_t i = grid_start(); i < n; i += grid_stride()) {
    RopeSite r;
    float v = in[i];
    if (rope_site(i, Tn, C, hd, base, r)) {
      const float s = inverse ? -r.s : r.s;
      const int64_t row = i - i % (3 * C);
      const float a = in[row + r.base_col], b = in[row + r.base_col + r.half];
      v = r.first ? a * r.c - b * s : a * s + b * r.c;
    }
    if constexpr (Accumulate)
      out[i] += v;
    else
      out[i] = v;
  }
}

}  // namespace

void rope_forward(const CudaContext& ctx, float* y, const float* x, int64_t B, int64_t Tn,
                  int64_t C, int64_t H, double base) {
  const int64_t n = B * Tn * 3 * C;
  if (n <= 0) return;
  launch_elementwise(ctx, n, rope_kernel<false>, y, x, false, n, Tn, C, C / H, base);
}

void rope_backward(const CudaContext& ctx, float* dx, const float* dy, int64_t B, int64_t Tn,
                   int64_t C, int64_t H, double base) {
  const int64_t n = B * Tn * 3 * C;
  if (n <= 0 || !dx) return;
  launch_elementwise(ctx, n, rope_kernel<true>, dx, dy, true, n, Tn, C, C / H, base);
}

}  // namespace icl::cuda

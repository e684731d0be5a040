#pragma once
// Causal depthwise convolution over the sequence: Hyena's long convolution (a filter as long as the
// sequence) and, with a short filter, the width-w convolution Mamba puts before its SSM.
//
// Layout. x, y [B, T, C] (channel c of token t), filter [C, L] (tap k of channel c). With
// K = min(L, T) taps in use (taps at or beyond T never reach an output):
//     y[b, t, c] = Σ_{k < K, k ≤ t} filter[c, k] · x[b, t − k, c]
// Backward, from dy:
//     dx[b, s, c]      += Σ_{k < K, s + k < T} filter[c, k] · dy[b, s + k, c]
//     dfilter[c, k]    += Σ_b Σ_{t = k..T−1} dy[b, t, c] · x[b, t − k, c]      (k < K; taps ≥ K: 0)
// Either gradient may be null.
//
// Two methods compute the same function.
//  * Direct: the sums above, O(B·T·K·C). Channels are cut into blocks of a fixed width; y and dx
//    are computed per (batch element, channel block), dfilter per channel block (summing the batch
//    elements in order), each by one thread with the sum over taps in a fixed order.
//  * Fft: per channel, zero-padded to N = 2^m ≥ T + K − 1 so that circular convolution equals the
//    causal one on 0..T−1, with X = F(x), Hf = F(filter), Dy = F(dy) (F the N-point DFT):
//        y = F⁻¹(X · Hf),   dx = F⁻¹(Dy · conj Hf),   dfilter = F⁻¹(Σ_b conj X_b · Dy_b)
//    (the last two are correlations: Σ_k h_k dy_{s+k} and Σ_s x_s dy_{s+k}), O(B·C·N log N). Each
//    channel is one thread's, batch elements in order.
// Neither depends on the thread count.
#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/blocks.h"
#include "core/cuda_context.h"
#include "core/graph.h"

namespace icl {

struct ConvDims {
  int64_t B = 1, T = 1, C = 1, L = 1;
  int64_t taps() const { return std::min(L, T); }
};

enum class ConvMethod { Direct, Fft };

namespace kern {

namespace lconv {

constexpr int64_t kChannels = 16;

// The first K taps of channels c0..c0+n−1, tap-major ([K, n]), so the inner loops run over
// contiguous channels.
template <class T>
std::vector<T> taps_by_channel(const T* filter, const ConvDims& d, int64_t c0, int64_t n) {
  const int64_t K = d.taps();
  std::vector<T> ht(size_t(K * n));
  for (int64_t c = 0; c < n; ++c)
    for (int64_t k = 0; k < K; ++k) ht[size_t(k * n + c)] = filter[(c0 + c) * d.L + k];
  return ht;
}

// f(b, c0, n) for every batch element and block of channels.
template <class F>
void for_batch_channels(const ConvDims& d, F&& f) {
  const int64_t nb = (d.C + kChannels - 1) / kChannels;
  parallel_for(d.B * nb, [&](int64_t task) {
    const int64_t b = task / nb, c0 = (task % nb) * kChannels;
    f(b, c0, std::min(kChannels, d.C - c0));
  });
}

}  // namespace lconv

template <class T>
void long_conv_forward(T* y, const T* x, const T* filter, const ConvDims& d) {
  using namespace lconv;
  const int64_t K = d.taps(), C = d.C;
  for_batch_channels(d, [&](int64_t b, int64_t c0, int64_t n) {
    const std::vector<T> ht = taps_by_channel(filter, d, c0, n);
    std::vector<T> acc(static_cast<size_t>(n));
    for (int64_t t = 0; t < d.T; ++t) {
      std::fill(acc.begin(), acc.end(), T(0));
      for (int64_t k = 0; k <= std::min(K - 1, t); ++k) {
        const T* xs = x + (b * d.T + t - k) * C + c0;
        const T* hk = ht.data() + k * n;
        for (int64_t c = 0; c < n; ++c) acc[size_t(c)] += hk[c] * xs[c];
      }
      std::copy(acc.begin(), acc.end(), y + (b * d.T + t) * C + c0);
    }
  });
}

template <class T>
void long_conv_backward(T* dx, T* dfilter, const T* dy, const T* x, const T* filter,
                        const ConvDims& d) {
  using namespace lconv;
  const int64_t K = d.taps(), C = d.C;
  if (dx)
    for_batch_channels(d, [&](int64_t b, int64_t c0, int64_t n) {
      const std::vector<T> ht = taps_by_channel(filter, d, c0, n);
      std::vector<T> acc(static_cast<size_t>(n));
      for (int64_t s = 0; s < d.T; ++s) {
        std::fill(acc.begin(), acc.end(), T(0));
        for (int64_t k = 0; k <= std::min(K - 1, d.T - 1 - s); ++k) {
          const T* g = dy + (b * d.T + s + k) * C + c0;
          const T* hk = ht.data() + k * n;
          for (int64_t c = 0; c < n; ++c) acc[size_t(c)] += hk[c] * g[c];
        }
        T* out = dx + (b * d.T + s) * C + c0;
        for (int64_t c = 0; c < n; ++c) out[c] += acc[size_t(c)];
      }
    });
  if (dfilter)
    for_blocks(C, kChannels, [&](int64_t c0, int64_t c1) {
      const int64_t n = c1 - c0;
      std::vector<T> acc(size_t(K * n), T(0));
      for (int64_t b = 0; b < d.B; ++b)
        for (int64_t k = 0; k < K; ++k) {
          T* ak = acc.data() + k * n;
          for (int64_t t = k; t < d.T; ++t) {
            const T* g = dy + (b * d.T + t) * C + c0;
            const T* xs = x + (b * d.T + t - k) * C + c0;
            for (int64_t c = 0; c < n; ++c) ak[c] += g[c] * xs[c];
          }
        }
      for (int64_t c = 0; c < n; ++c)
        for (int64_t k = 0; k < K; ++k) dfilter[(c0 + c) * d.L + k] += acc[size_t(k * n + c)];
    });
}

namespace lconv {

template <class T>
using Cx = std::complex<T>;

// Written out so the compiler need not guard against NaN operands (a library call per product).
template <class T>
Cx<T> mul(Cx<T> a, Cx<T> b) {
  return {a.real() * b.real() - a.imag() * b.imag(), a.real() * b.imag() + a.imag() * b.real()};
}
template <class T>
Cx<T> mul_conj(Cx<T> a, Cx<T> b) {  // a · conj(b)
  return {a.real() * b.real() + a.imag() * b.imag(), a.imag() * b.real() - a.real() * b.imag()};
}

// The N-point DFT, N a power of two: twiddles e^{−2πik/N}, k < N/2, computed in double so the fp32
// transform carries only its own rounding.
template <class T>
struct Fft {
  int64_t n = 1, log2n = 0;
  std::vector<Cx<T>> tw;
  std::vector<int64_t> rev;
  explicit Fft(int64_t min_size) {
    while (n < min_size) {
      n *= 2;
      ++log2n;
    }
    tw.resize(size_t(n / 2));
    const double pi = std::acos(-1.0);
    for (int64_t k = 0; k < n / 2; ++k)
      tw[size_t(k)] = Cx<T>(T(std::cos(2 * pi * double(k) / double(n))),
                            T(-std::sin(2 * pi * double(k) / double(n))));
    rev.assign(size_t(n), 0);
    for (int64_t i = 1; i < n; ++i)
      rev[size_t(i)] = (rev[size_t(i >> 1)] >> 1) | ((i & 1) << (log2n > 0 ? log2n - 1 : 0));
  }
  // In place; the inverse leaves out the 1/N.
  void operator()(Cx<T>* a, bool inverse) const {
    for (int64_t i = 0; i < n; ++i)
      if (i < rev[size_t(i)]) std::swap(a[i], a[rev[size_t(i)]]);
    for (int64_t len = 2; len <= n; len *= 2) {
      const int64_t half = len / 2, step = n / len;
      for (int64_t i = 0; i < n; i += len)
        for (int64_t j = 0; j < half; ++j) {
          const Cx<T> w = tw[size_t(j * step)];
          const Cx<T> u = a[i + j], v = mul(a[i + j + half], inverse ? std::conj(w) : w);
          a[i + j] = u + v;
          a[i + j + half] = u - v;
        }
    }
  }
  // F of column c of m rows of a row-major array with row stride `ld`, zero-padded to n.
  void forward_strided(Cx<T>* a, const T* src, int64_t m, int64_t ld) const {
    for (int64_t i = 0; i < m; ++i) a[i] = Cx<T>(src[i * ld], T(0));
    std::fill(a + m, a + n, Cx<T>(T(0), T(0)));
    (*this)(a, false);
  }
};

}  // namespace lconv

template <class T>
void long_conv_forward_fft(T* y, const T* x, const T* filter, const ConvDims& d) {
  using namespace lconv;
  const int64_t K = d.taps(), C = d.C;
  const Fft<T> fft(d.T + K - 1);
  const int64_t N = fft.n;
  const T inv_n = T(1) / T(N);
  parallel_for(C, [&](int64_t c) {
    const size_t n = static_cast<size_t>(N);
    std::vector<Cx<T>> hf(n), a(n);
    fft.forward_strided(hf.data(), filter + c * d.L, K, 1);
    for (int64_t b = 0; b < d.B; ++b) {
      fft.forward_strided(a.data(), x + b * d.T * C + c, d.T, C);
      for (int64_t i = 0; i < N; ++i) a[size_t(i)] = mul(a[size_t(i)], hf[size_t(i)]);
      fft(a.data(), true);
      for (int64_t t = 0; t < d.T; ++t) y[(b * d.T + t) * C + c] = a[size_t(t)].real() * inv_n;
    }
  });
}

template <class T>
void long_conv_backward_fft(T* dx, T* dfilter, const T* dy, const T* x, const T* filter,
                            const ConvDims& d) {
  using namespace lconv;
  const int64_t K = d.taps(), C = d.C;
  const Fft<T> fft(d.T + K - 1);
  const int64_t N = fft.n;
  const T inv_n = T(1) / T(N);
  parallel_for(C, [&](int64_t c) {
    const size_t n = static_cast<size_t>(N);
    std::vector<Cx<T>> hf(n), g(n), a(n), s(n, Cx<T>(0, 0));
    if (dx) fft.forward_strided(hf.data(), filter + c * d.L, K, 1);
    for (int64_t b = 0; b < d.B; ++b) {
      fft.forward_strided(g.data(), dy + b * d.T * C + c, d.T, C);
      if (dfilter) {
        fft.forward_strided(a.data(), x + b * d.T * C + c, d.T, C);
        for (int64_t i = 0; i < N; ++i) s[size_t(i)] += mul_conj(g[size_t(i)], a[size_t(i)]);
      }
      if (dx) {
        for (int64_t i = 0; i < N; ++i) g[size_t(i)] = mul_conj(g[size_t(i)], hf[size_t(i)]);
        fft(g.data(), true);
        for (int64_t t = 0; t < d.T; ++t) dx[(b * d.T + t) * C + c] += g[size_t(t)].real() * inv_n;
      }
    }
    if (dfilter) {
      fft(s.data(), true);
      for (int64_t k = 0; k < K; ++k) dfilter[c * d.L + k] += s[size_t(k)].real() * inv_n;
    }
  });
}

// Either method by name.
template <class T>
void long_conv_forward(T* y, const T* x, const T* filter, const ConvDims& d, ConvMethod m) {
  if (m == ConvMethod::Fft)
    long_conv_forward_fft(y, x, filter, d);
  else
    long_conv_forward(y, x, filter, d);
}

template <class T>
void long_conv_backward(T* dx, T* dfilter, const T* dy, const T* x, const T* filter,
                        const ConvDims& d, ConvMethod m) {
  if (m == ConvMethod::Fft)
    long_conv_backward_fft(dx, dfilter, dy, x, filter, d);
  else
    long_conv_backward(dx, dfilter, dy, x, filter, d);
}

}  // namespace kern

namespace cuda {
void long_conv_forward(const CudaContext& ctx, float* y, const float* x, const float* filter,
                       const ConvDims& d);
void long_conv_backward(const CudaContext& ctx, float* dx, float* dfilter, const float* dy,
                        const float* x, const float* filter, const ConvDims& d);
}  // namespace cuda

namespace ops {

// The method the op uses when not told: the FFT once the filter reaches into the past far enough
// for the O(T·K) direct sums to cost more than the transforms (on a 2-core CPU at B = 8, C = 128
// the two cross between 256 and 1024 taps).
constexpr int64_t kFftMinTaps = 512;

// x [B, T, C], filter [C, L] (any L ≥ 1: L ≥ T for a long convolution, L = w for a short one);
// y [B, T, C]. `method` defaults to Fft when min(L, T) ≥ kFftMinTaps, else Direct. A GPU step
// always runs the direct form (long_conv.cu).
Var long_conv(Graph& g, Var x, Var filter, std::optional<ConvMethod> method = std::nullopt);

}  // namespace ops
}  // namespace icl

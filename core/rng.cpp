#include "core/rng.h"

#include <algorithm>
#include <numbers>

#include "core/vec_math.h"

namespace icl {

namespace {
// Philox blocks draw .. draw + kLanes − 1 of one element, one SIMD lane per counter: each lane
// runs its ten rounds, the same operations as every other lane's, so the lane loop vectorises as
// a whole (omp simd; written as rounds outside lanes instead, GCC unrolls the lanes and leaves the
// rounds scalar). Integer arithmetic only, so the words are exactly those of Rng::block(draw + l).
template <size_t kLanes>
void philox_lanes(uint64_t draw, uint32_t index_lo, uint32_t index_hi, uint32_t stream,
                  Philox4x32Key key, size_t lanes, uint32_t* out) {
  using namespace philox_detail;
  uint32_t o0[kLanes], o1[kLanes], o2[kLanes], o3[kLanes];
#pragma omp simd
  for (size_t l = 0; l < kLanes; ++l) {
    const uint64_t d = draw + l;
    uint32_t c0 = uint32_t(d), c1 = index_lo, c2 = index_hi ^ uint32_t(d >> 32), c3 = stream;
    uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; ++round) {
      const uint64_t p0 = uint64_t(M0) * c0;
      const uint64_t p1 = uint64_t(M1) * c2;
      const uint32_t n0 = uint32_t(p1 >> 32) ^ c1 ^ k0;
      const uint32_t n2 = uint32_t(p0 >> 32) ^ c3 ^ k1;
      c1 = uint32_t(p1);
      c3 = uint32_t(p0);
      c0 = n0;
      c2 = n2;
      k0 += W0;
      k1 += W1;
    }
    o0[l] = c0;
    o1[l] = c1;
    o2[l] = c2;
    o3[l] = c3;
  }
  for (size_t l = 0; l < lanes; ++l) {
    out[4 * l + 0] = o0[l];
    out[4 * l + 1] = o1[l];
    out[4 * l + 2] = o2[l];
    out[4 * l + 3] = o3[l];
  }
}
}  // namespace

void Rng::next_u32s(uint32_t* out, size_t n) {
  while (n > 0 && pos_ < 4) {  // what is left of the current block comes first
    *out++ = buf_[size_t(pos_++)];
    --n;
  }
  // Whole blocks, 16 at a time; a tail of up to 4 or 8 blocks on narrower lanes, so short fetches
  // (a prompt's few dozen words) do not pay for 16.
  while (n >= 4) {
    const size_t blocks = n / 4;
    const size_t lanes = std::min<size_t>(blocks, 16);
    if (lanes > 8)
      philox_lanes<16>(draw_, index_lo_, index_hi_, stream_, key_, lanes, out);
    else if (lanes > 4)
      philox_lanes<8>(draw_, index_lo_, index_hi_, stream_, key_, lanes, out);
    else
      philox_lanes<4>(draw_, index_lo_, index_hi_, stream_, key_, lanes, out);
    draw_ += lanes;
    out += 4 * lanes;
    n -= 4 * lanes;
  }
  if (n > 0) {  // a partial block: the rest stays buffered, as with next_u32()
    refill();
    while (n-- > 0) *out++ = buf_[size_t(pos_++)];
  }
}

// Inline so that the loop in normals() vectorises; normal_pair() runs the same arithmetic on one
// pair, hence the same values.
inline void Rng::box_muller(const uint32_t* w, double& first, double& second) {
  // 1 − u in (0, 1] keeps the log finite; 2πu − π in [−π, π) is sincos_taylor's range, and
  // cos/sin of 2πu are minus those of 2πu − π.
  const double r = std::sqrt(-2.0 * log_series(1.0 - uniform_from(w[0], w[1])));
  double s, c;
  sincos_taylor(2.0 * std::numbers::pi * uniform_from(w[2], w[3]) - std::numbers::pi, s, c);
  first = -r * c;
  second = -r * s;
}

double Rng::normal_pair() {
  uint32_t w[4];
  for (auto& v : w) v = next_u32();
  double first;
  box_muller(w, first, spare_);
  has_spare_ = true;
  return first;
}

void Rng::normals_from(const uint32_t* words, size_t pairs, double* out) {
  // Chunks padded to whole SIMD vectors with zero words (u = 0: finite, never stored), so a short
  // count (a Fourier prompt's 11 pairs) runs no scalar remainder.
  constexpr size_t kPairs = 64, kVec = 8;
  alignas(64) uint32_t w[4 * kPairs];
  alignas(64) double first[kPairs], second[kPairs];
  while (pairs > 0) {
    const size_t m = std::min(pairs, kPairs);
    const size_t padded = (m + kVec - 1) / kVec * kVec;
    std::copy(words, words + 4 * m, w);
    std::fill(w + 4 * m, w + 4 * padded, 0u);
#pragma omp simd
    for (size_t p = 0; p < padded; ++p) box_muller(w + 4 * p, first[p], second[p]);
    for (size_t p = 0; p < m; ++p) {
      out[2 * p] = first[p];
      out[2 * p + 1] = second[p];
    }
    words += 4 * m;
    out += 2 * m;
    pairs -= m;
  }
}

void Rng::normals(double* out, size_t n) {
  if (n > 0 && has_spare_) {
    has_spare_ = false;
    *out++ = spare_;
    --n;
  }
  // An odd count's last pair goes through the same vectorised loop; its second value becomes the
  // spare, as normal_pair() would leave it.
  constexpr size_t kPairs = 64;
  uint32_t words[4 * kPairs];
  double pair_values[2 * kPairs];
  while (n > 0) {
    const size_t pairs = std::min((n + 1) / 2, kPairs);
    next_u32s(words, 4 * pairs);
    normals_from(words, pairs, pair_values);
    const size_t used = std::min(n, 2 * pairs);
    std::copy(pair_values, pair_values + used, out);
    if (used < 2 * pairs) {
      spare_ = pair_values[used];
      has_spare_ = true;
    }
    out += used;
    n -= used;
  }
}

uint64_t Rng::below(uint64_t n) {
  if (n <= 1) return 0;
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t x;
  do x = next_u64();
  while (x >= limit);
  return x % n;
}

}  // namespace icl

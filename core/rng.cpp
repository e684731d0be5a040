#include "core/rng.h"

#include <numbers>

namespace icl {

void Rng::next_u32s(uint32_t* out, size_t n) {
  while (n > 0 && pos_ < 4) {  // what is left of the current block comes first
    *out++ = buf_[size_t(pos_++)];
    --n;
  }
  // Whole blocks, kLanes at a time in structure-of-arrays form: each round is the same few
  // operations on kLanes independent counters, which GCC turns into vector multiplies and xors.
  // Integer arithmetic only, so the words are exactly those of block(draw_), block(draw_ + 1), ...
  constexpr size_t kLanes = 16;
  using namespace philox_detail;
  while (n >= 4) {
    const size_t lanes = n / 4 < kLanes ? n / 4 : kLanes;
    uint32_t c0[kLanes], c1[kLanes], c2[kLanes], c3[kLanes];
    for (size_t l = 0; l < kLanes; ++l) {
      const uint64_t d = draw_ + l;
      c0[l] = uint32_t(d);
      c1[l] = index_lo_;
      c2[l] = index_hi_ ^ uint32_t(d >> 32);
      c3[l] = stream_;
    }
    uint32_t k0 = key_[0], k1 = key_[1];
    for (int round = 0; round < 10; ++round) {
      for (size_t l = 0; l < kLanes; ++l) {
        const uint64_t p0 = uint64_t(M0) * c0[l];
        const uint64_t p1 = uint64_t(M1) * c2[l];
        const uint32_t n0 = uint32_t(p1 >> 32) ^ c1[l] ^ k0;
        const uint32_t n2 = uint32_t(p0 >> 32) ^ c3[l] ^ k1;
        c1[l] = uint32_t(p1);
        c3[l] = uint32_t(p0);
        c0[l] = n0;
        c2[l] = n2;
      }
      k0 += W0;
      k1 += W1;
    }
    for (size_t l = 0; l < lanes; ++l) {
      out[4 * l + 0] = c0[l];
      out[4 * l + 1] = c1[l];
      out[4 * l + 2] = c2[l];
      out[4 * l + 3] = c3[l];
    }
    draw_ += lanes;
    out += 4 * lanes;
    n -= 4 * lanes;
  }
  if (n > 0) {  // a partial block: the rest stays buffered, as with next_u32()
    refill();
    while (n-- > 0) *out++ = buf_[size_t(pos_++)];
  }
}

double Rng::normal_pair() {
  // 1 - u in (0, 1] keeps the log finite.
  const double r = std::sqrt(-2.0 * std::log(1.0 - uniform()));
  const double t = 2.0 * std::numbers::pi * uniform();
  spare_ = r * std::sin(t);
  has_spare_ = true;
  return r * std::cos(t);
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

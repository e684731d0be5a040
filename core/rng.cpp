#include "core/rng.h"

#include <numbers>

namespace icl {

Philox4x32Ctr philox4x32_10(Philox4x32Ctr c, Philox4x32Key k) {
  constexpr uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;
  constexpr uint32_t W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = uint64_t(M0) * c[0];
    const uint64_t p1 = uint64_t(M1) * c[2];
    c = {uint32_t(p1 >> 32) ^ c[1] ^ k[0], uint32_t(p1), uint32_t(p0 >> 32) ^ c[3] ^ k[1],
         uint32_t(p0)};
    k[0] += W0;
    k[1] += W1;
  }
  return c;
}

Rng::Rng(RngKey key, uint64_t index)
    : key_{uint32_t(key.seed), uint32_t(key.seed >> 32)},
      index_lo_(uint32_t(index)),
      index_hi_(uint32_t(index >> 32)),
      // 32 bits of stream id suffice to separate streams; fold the upper half in.
      stream_(uint32_t(key.stream) ^ uint32_t(key.stream >> 32)) {}

void Rng::refill() {
  buf_ =
      philox4x32_10({uint32_t(draw_), index_lo_, index_hi_ ^ uint32_t(draw_ >> 32), stream_}, key_);
  ++draw_;
  pos_ = 0;
}

uint32_t Rng::next_u32() {
  if (pos_ == 4) refill();
  return buf_[pos_++];
}

uint64_t Rng::next_u64() {
  const uint64_t hi = next_u32();
  return (hi << 32) | next_u32();
}

double Rng::uniform() { return double(next_u64() >> 11) * 0x1.0p-53; }

double Rng::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
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

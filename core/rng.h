#pragma once
// Counter-based random numbers (Philox4x32-10, Salmon et al. 2011).
//
// A stream is named by (seed, stream id); draw n of element i of a stream is a pure function of
// (seed, stream, i, n). Every prompt, bootstrap resample or environment gets its own element index,
// so what it sees does not depend on batch size, thread count or the order work is scheduled in.
//
// The draw functions live in this header: prompt generation makes a few thousand draws per prompt,
// and an out-of-line call per four words (plus one per draw) cost more than Philox itself.
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace icl {

using Philox4x32Ctr = std::array<uint32_t, 4>;
using Philox4x32Key = std::array<uint32_t, 2>;

namespace philox_detail {
constexpr uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;
constexpr uint32_t W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
}  // namespace philox_detail

// The ten-round Philox bijection on a 128-bit counter under a 64-bit key.
inline Philox4x32Ctr philox4x32_10(Philox4x32Ctr c, Philox4x32Key k) {
  using namespace philox_detail;
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

// FNV-1a: turns stream names ("eval/standard") into stream ids.
constexpr uint64_t stream_id(std::string_view name) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (char c : name) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  return h;
}

// Identifies one stream; `sub` derives an independent child stream (e.g. "fixed" draws of a task).
struct RngKey {
  uint64_t seed = 0;
  uint64_t stream = 0;
  RngKey sub(std::string_view name) const {
    return {seed, stream ^ (stream_id(name) * 0x9e3779b97f4a7c15ull)};
  }
};

// Sequential draws from element `index` of a stream. Counter layout: (draw, index, stream, seed)
// words are mixed so that keys carry the seed and counters carry (stream, index, draw).
class Rng {
 public:
  Rng(RngKey key, uint64_t index)
      : key_{uint32_t(key.seed), uint32_t(key.seed >> 32)},
        index_lo_(uint32_t(index)),
        index_hi_(uint32_t(index >> 32)),
        // 32 bits of stream id suffice to separate streams; fold the upper half in.
        stream_(uint32_t(key.stream) ^ uint32_t(key.stream >> 32)) {}

  uint32_t next_u32() {
    if (pos_ == 4) refill();
    return buf_[size_t(pos_++)];
  }
  uint64_t next_u64() {
    const uint64_t hi = next_u32();
    return (hi << 32) | next_u32();
  }
  // The next n words, exactly as n calls of next_u32() would return them (and leaving the Rng in
  // the same state), but whole blocks are computed several at a time so the compiler can run the
  // Philox rounds of neighbouring counters in SIMD lanes.
  void next_u32s(uint32_t* out, size_t n);

  // uniform() from the two words next_u64() would combine (hi first), for callers that fetched
  // their words with next_u32s.
  static double uniform_from(uint32_t hi, uint32_t lo) {
    return double(((uint64_t(hi) << 32) | lo) >> 11) * 0x1.0p-53;
  }
  double uniform() { return double(next_u64() >> 11) * 0x1.0p-53; }  // [0, 1), 53 random bits
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // N(0, 1), Box-Muller in double precision from four words per pair (u₁ from the first two, u₂
  // from the last two); the second value of each pair is kept for the next call. log and sin/cos
  // come from core/vec_math.h, so the values are the same on every machine and normals() can
  // compute many pairs at once in SIMD lanes.
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    return normal_pair();
  }
  // n calls of normal(), bit for bit, leaving the Rng in the same state (spare included); whole
  // pairs are computed many at a time (their words through next_u32s, the arithmetic vectorised).
  void normals(double* out, size_t n);
  // The Box–Muller values of `pairs` pairs from the 4·pairs words they take (as fetched with
  // next_u32s), into out[0 .. 2·pairs): what normals() makes of the same words.
  static void normals_from(const uint32_t* words, size_t pairs, double* out);
  uint64_t below(uint64_t n);  // uniform integer in [0, n), unbiased (rejection)
  bool bernoulli(double p) { return uniform() < p; }
  double sign() { return (next_u32() & 1u) ? 1.0 : -1.0; }

  uint64_t draws() const { return draw_; }  // blocks consumed so far (part of checkpointed state)

 private:
  Philox4x32Ctr block(uint64_t draw) const {
    return philox4x32_10({uint32_t(draw), index_lo_, index_hi_ ^ uint32_t(draw >> 32), stream_},
                         key_);
  }
  void refill() {
    buf_ = block(draw_);
    ++draw_;
    pos_ = 0;
  }
  double normal_pair();  // draws a new pair: returns the first, keeps the second in spare_
  // The Box–Muller pair of the four words w[0..3].
  static void box_muller(const uint32_t* w, double& first, double& second);

  Philox4x32Key key_;
  uint32_t index_lo_, index_hi_, stream_;
  uint64_t draw_ = 0;
  Philox4x32Ctr buf_{};
  int pos_ = 4;
  bool has_spare_ = false;
  double spare_ = 0.0;
};

}  // namespace icl

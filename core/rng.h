#pragma once
// Counter-based random numbers (Philox4x32-10, Salmon et al. 2011).
//
// A stream is named by (seed, stream id); draw n of element i of a stream is a pure function of
// (seed, stream, i, n). Every prompt, bootstrap resample or environment gets its own element index,
// so what it sees does not depend on batch size, thread count or the order work is scheduled in.
#include <array>
#include <cmath>
#include <cstdint>
#include <string_view>

namespace icl {

using Philox4x32Ctr = std::array<uint32_t, 4>;
using Philox4x32Key = std::array<uint32_t, 2>;

// The ten-round Philox bijection on a 128-bit counter under a 64-bit key.
Philox4x32Ctr philox4x32_10(Philox4x32Ctr ctr, Philox4x32Key key);

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
  Rng(RngKey key, uint64_t index);

  uint32_t next_u32();
  uint64_t next_u64();
  double uniform();  // [0, 1), 53 random bits
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  double normal();             // N(0, 1), Box-Muller in double precision
  uint64_t below(uint64_t n);  // uniform integer in [0, n), unbiased (rejection)
  bool bernoulli(double p) { return uniform() < p; }
  double sign() { return (next_u32() & 1u) ? 1.0 : -1.0; }

  uint64_t draws() const { return draw_; }  // blocks consumed so far (part of checkpointed state)

 private:
  void refill();
  Philox4x32Key key_;
  uint32_t index_lo_, index_hi_, stream_;
  uint64_t draw_ = 0;
  Philox4x32Ctr buf_{};
  int pos_ = 4;
  bool has_spare_ = false;
  double spare_ = 0.0;
};

}  // namespace icl

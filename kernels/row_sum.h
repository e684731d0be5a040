#pragma once
// Σ_{c<n} f(c) for the per-row reductions of the norms, in 16 fixed lanes: lane j adds the terms
// c ≡ j (mod 16) in order, then the lanes are added pairwise (0+8, 1+9, ... then 0+4, ...). A
// plain running sum is one dependent add per term, which the compiler may not reorder; 16 lanes
// are two AVX2 (one AVX-512) registers of independent adds. The order depends only on n, never on
// the thread count or the instruction set, so the sums are reproducible.
#include <cstdint>

namespace icl::kern {

inline constexpr int64_t kSumLanes = 16;

template <class T, class F>
T row_sum(int64_t n, F&& f) {
  T acc[kSumLanes] = {};
  int64_t c = 0;
  for (; c + kSumLanes <= n; c += kSumLanes)
    for (int64_t j = 0; j < kSumLanes; ++j) acc[j] += f(c + j);
  for (int64_t j = 0; c + j < n; ++j) acc[j] += f(c + j);
  for (int64_t w = kSumLanes / 2; w > 0; w /= 2)
    for (int64_t j = 0; j < w; ++j) acc[j] += acc[j + w];
  return acc[0];
}

}  // namespace icl::kern

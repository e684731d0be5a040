#include "python/prompt_rng.h"

#include "core/error.h"
#include "core/parallel.h"

namespace icl::py {

PromptRng::PromptRng(const RngKey& key, int64_t first, int64_t prompts) : first_(first) {
  if (prompts < 1) fail("PromptRng: prompts must be >= 1, got {}", prompts);
  rngs_.reserve(size_t(prompts));
  for (int64_t i = 0; i < prompts; ++i) rngs_.emplace_back(key, uint64_t(first + i));
}

void PromptRng::normal(double* out, int64_t n) {
  parallel_for(prompts(), [&](int64_t i) { rngs_[size_t(i)].normals(out + i * n, size_t(n)); });
}

void PromptRng::uniform(double* out, int64_t n, double lo, double hi) {
  parallel_for(prompts(), [&](int64_t i) {
    for (int64_t j = 0; j < n; ++j) out[i * n + j] = rngs_[size_t(i)].uniform(lo, hi);
  });
}

void PromptRng::integers(int64_t* out, int64_t n, int64_t lo, int64_t hi) {
  if (hi <= lo) fail("integers: high must be > low, got [{}, {})", lo, hi);
  const uint64_t range = uint64_t(hi) - uint64_t(lo);
  parallel_for(prompts(), [&](int64_t i) {
    for (int64_t j = 0; j < n; ++j) out[i * n + j] = lo + int64_t(rngs_[size_t(i)].below(range));
  });
}

void PromptRng::signs(double* out, int64_t n) {
  parallel_for(prompts(), [&](int64_t i) {
    for (int64_t j = 0; j < n; ++j) out[i * n + j] = rngs_[size_t(i)].sign();
  });
}

void PromptRng::bernoulli(uint8_t* out, int64_t n, double p) {
  if (!(p >= 0 && p <= 1)) fail("bernoulli: p must be in [0, 1], got {}", p);
  parallel_for(prompts(), [&](int64_t i) {
    for (int64_t j = 0; j < n; ++j) out[i * n + j] = rngs_[size_t(i)].bernoulli(p);
  });
}

void PromptRng::permutations(int64_t* out, int64_t n) {
  parallel_for(prompts(), [&](int64_t i) {
    int64_t* row = out + i * n;
    for (int64_t j = 0; j < n; ++j) row[j] = j;
    for (int64_t j = n - 1; j > 0; --j)  // Fisher–Yates, from the back
      std::swap(row[j], row[int64_t(rngs_[size_t(i)].below(uint64_t(j + 1)))]);
  });
}

}  // namespace icl::py

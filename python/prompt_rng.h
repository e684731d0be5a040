#pragma once
// PromptRng: the random numbers a task written in Python samples its prompts with. It holds one
// Philox stream per prompt, Rng(key, first + i) for prompt i (core/rng.h), the stream a built-in
// task draws prompt i from; every draw returns an array [prompts, *shape] whose row i comes from
// prompt i's stream alone. So prompt i of a Python task, like that of a C++ one, is a pure function
// of (seed, stream, i): the same whatever the batch it is sampled in, in training, evaluation,
// micro-batches and data-parallel ranks.
#include <cstdint>
#include <vector>

#include "core/rng.h"

namespace icl::py {

class PromptRng {
 public:
  PromptRng(const RngKey& key, int64_t first, int64_t prompts);
  int64_t prompts() const { return int64_t(rngs_.size()); }
  int64_t first() const { return first_; }

  // Each fills out[prompts × n], row i from prompt i's stream (n draws, in order).
  void normal(double* out, int64_t n);
  void uniform(double* out, int64_t n, double lo, double hi);
  void integers(int64_t* out, int64_t n, int64_t lo, int64_t hi);  // [lo, hi), unbiased
  void signs(double* out, int64_t n);                              // ±1 with probability ½
  void bernoulli(uint8_t* out, int64_t n, double p);
  void permutations(int64_t* out, int64_t n);  // each row a uniform permutation of 0..n-1

 private:
  int64_t first_;
  std::vector<Rng> rngs_;
};

}  // namespace icl::py

#pragma once
// Deterministic parallel loops for kernels: work is cut into blocks of a fixed size (never derived
// from the thread count), each block is computed by one thread with the same code, and reductions
// across blocks are summed in block order. So results are bit-identical whatever the thread count.
#include <algorithm>
#include <cstdint>

#include "core/parallel.h"

namespace icl {

// f(begin, end) for [0, n) in blocks of `block`.
template <class F>
void for_blocks(int64_t n, int64_t block, F&& f) {
  const int64_t nb = (n + block - 1) / block;
  if (nb <= 1) {
    if (n > 0) f(int64_t(0), n);
    return;
  }
  parallel_for(nb, [&](int64_t b) { f(b * block, std::min(n, (b + 1) * block)); });
}

}  // namespace icl

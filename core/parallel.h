#pragma once
// parallel_for over independent items (prompts, bootstrap columns). Each item writes only its own
// output, so results do not depend on the number of threads.
#include <cstdint>
#include <exception>
#include <mutex>

namespace icl {

template <class F>
void parallel_for(int64_t n, F&& f) {
  std::exception_ptr error;
  std::mutex m;
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t i = 0; i < n; ++i) {
    try {
      f(i);
    } catch (...) {
      std::lock_guard<std::mutex> lock(m);
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace icl

#pragma once
// Shared by the fuzz targets: what counts as an expected rejection, and the memory limits.
//
// Every target calls the project's own entry points; an icl::Error (the one-line user error, of
// which UsageError is a kind) is the expected answer to a bad input. Anything else that escapes
// (YAML::Exception, std::out_of_range, std::logic_error from ICL_ASSERT, ...) reaches libFuzzer as
// an uncaught exception, i.e. a crash, because the user would have seen "icl: internal error".
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include <omp.h>

// Allocations too large for the machine: AddressSanitizer returns null (so operator new throws
// std::bad_alloc) for one block over 512 MiB or once the process holds 3 GiB, instead of aborting
// the fuzzer. Prompt and evaluation sizes are checked against memory before allocating
// (eval/memory_estimate.h; fuzz_generate relies on it and treats bad_alloc as a finding), but a
// model's parameters are not: a config may ask for a transformer of 1024 layers of width 65536,
// and validating it builds the model. fuzz_config and fuzz_results count such a bad_alloc
// (fuzz::out_of_memory) and go on.
extern "C" const char* __asan_default_options() {
  return "allocator_may_return_null=1:max_allocation_size_mb=512:soft_rss_limit_mb=3072";
}

namespace fuzz {

// One thread: the fuzzer runs one input at a time, and OpenMP's pool would only add noise.
inline void init_threads() { omp_set_num_threads(1); }

// Splits `data` at `sep` into at most `max_parts` pieces (the last keeps the rest).
inline std::vector<std::string> split(const uint8_t* data, size_t size, char sep,
                                      size_t max_parts) {
  std::vector<std::string> parts(1);
  for (size_t i = 0; i < size; ++i) {
    if (char(data[i]) == sep && parts.size() < max_parts)
      parts.emplace_back();
    else
      parts.back().push_back(char(data[i]));
  }
  return parts;
}

// A std::bad_alloc from an oversized model: counted, reported now and then, not a crash (see
// above). Returns 0 for LLVMFuzzerTestOneInput.
inline int out_of_memory(const char* target) {
  static uint64_t count = 0;
  ++count;
  if ((count & (count - 1)) == 0)  // 1, 2, 4, 8, ...: visible in the log without flooding it
    std::fprintf(stderr, "%s: %llu inputs ran out of memory (sizes not yet checked)\n", target,
                 (unsigned long long)count);
  return 0;
}

}  // namespace fuzz

#pragma once
// Checked CUDA runtime calls: a failure throws with the call, file and line.
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

namespace icl {

[[noreturn]] inline void cuda_fail(cudaError_t e, const char* call, const char* file, int line) {
  throw std::runtime_error(std::string("CUDA error ") + cudaGetErrorName(e) + " (" +
                           cudaGetErrorString(e) + ") in " + call + " at " + file + ":" +
                           std::to_string(line));
}

}  // namespace icl

#define CUDA_CHECK(call)                                                                          \
  do {                                                                                            \
    const cudaError_t icl_cuda_err_ = (call);                                                     \
    if (icl_cuda_err_ != cudaSuccess) ::icl::cuda_fail(icl_cuda_err_, #call, __FILE__, __LINE__); \
  } while (0)

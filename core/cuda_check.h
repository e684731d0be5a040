#pragma once
// Checked CUDA runtime and cuBLAS calls: a failure throws icl::Error with the call, file and line.
// KERNEL_CHECK() after a launch catches launch errors (bad configuration) at the launch site.
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <string>

#include "core/error.h"

namespace icl {

[[noreturn]] inline void cuda_fail(cudaError_t e, const char* call, const char* file, int line) {
  throw Error(std::string("CUDA error ") + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) +
              ") in " + call + " at " + file + ":" + std::to_string(line));
}

[[noreturn]] inline void cublas_fail(cublasStatus_t s, const char* call, const char* file,
                                     int line) {
  throw Error(std::string("cuBLAS error ") + cublasGetStatusName(s) + " (" +
              cublasGetStatusString(s) + ") in " + call + " at " + file + ":" +
              std::to_string(line));
}

}  // namespace icl

#define CUDA_CHECK(call)                                                                          \
  do {                                                                                            \
    const cudaError_t icl_cuda_err_ = (call);                                                     \
    if (icl_cuda_err_ != cudaSuccess) ::icl::cuda_fail(icl_cuda_err_, #call, __FILE__, __LINE__); \
  } while (0)

#define CUBLAS_CHECK(call)                                           \
  do {                                                               \
    const cublasStatus_t icl_cublas_st_ = (call);                    \
    if (icl_cublas_st_ != CUBLAS_STATUS_SUCCESS)                     \
      ::icl::cublas_fail(icl_cublas_st_, #call, __FILE__, __LINE__); \
  } while (0)

#define KERNEL_CHECK() CUDA_CHECK(cudaGetLastError())

// Device queries for CUDA builds. A missing driver or no GPU is not an error here: it means the CPU
// path is used.
#include <omp.h>

#include <string>

#include "core/cuda_check.h"
#include "core/device.h"

namespace icl {

int cuda_device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver"/"no device" error
    return 0;
  }
  return n;
}

std::string device_summary() {
  std::string out = "cpu (" + std::to_string(omp_get_max_threads()) + " threads)";
  const int n = cuda_device_count();
  if (n == 0) return out + "; CUDA backend built, no GPU visible";
  out += "; CUDA backend built";
  for (int i = 0; i < n; ++i) {
    cudaDeviceProp p{};
    CUDA_CHECK(cudaGetDeviceProperties(&p, i));
    out += "; cuda:" + std::to_string(i) + " " + p.name + " (sm_" + std::to_string(p.major) +
           std::to_string(p.minor) + ", " + std::to_string(p.totalGlobalMem >> 30) + " GiB)";
  }
  return out;
}

}  // namespace icl

// Device queries for builds without the CUDA backend (ICL_CUDA=OFF or no nvcc).
#include <omp.h>

#include <fmt/format.h>

#include "core/device.h"

namespace icl {

int cuda_device_count() { return 0; }

std::string device_summary() {
  return fmt::format("cpu ({} threads); CUDA backend not built", omp_get_max_threads());
}

}  // namespace icl

#include "core/device.h"
#include "core/error.h"

namespace icl {

std::unique_ptr<CudaContext> open_device(const std::string& choice, bool tf32) {
  if (choice == "cpu") return nullptr;
  if (choice != "cuda" && choice != "auto")
    fail("device: must be one of auto|cpu|cuda, got '{}'", choice);
  if (!kCudaBuilt) {
    if (choice == "auto") return nullptr;
    fail("device cuda: this build has no CUDA backend (rebuild with nvcc installed, ICL_CUDA=ON)");
  }
  if (cuda_device_count() == 0) {
    if (choice == "auto") return nullptr;
    fail("device cuda: no GPU is visible ({})", device_summary());
  }
  return std::make_unique<CudaContext>(0, tf32);
}

}  // namespace icl

#include "core/device.h"
#include "core/error.h"

namespace icl {

bool check_device(const std::string& choice) {
  if (choice == "cpu") return false;
  if (choice != "cuda" && choice != "auto")
    fail("device: must be one of auto|cpu|cuda, got '{}'", choice);
  if (!kCudaBuilt) {
    if (choice == "auto") return false;
    fail("device cuda: this build has no CUDA backend (rebuild with nvcc installed, ICL_CUDA=ON)");
  }
  if (cuda_device_count() == 0) {
    if (choice == "auto") return false;
    fail("device cuda: no GPU is visible ({})", device_summary());
  }
  return true;
}

std::unique_ptr<CudaContext> open_device(const std::string& choice, bool tf32) {
  if (!check_device(choice)) return nullptr;
  return std::make_unique<CudaContext>(0, tf32);
}

}  // namespace icl

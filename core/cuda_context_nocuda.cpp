// Builds without the CUDA backend: asking for the GPU is a one-line error, never a crash.
#include "core/cuda_context.h"
#include "core/error.h"

namespace icl {

namespace {
[[noreturn]] void not_built() {
  fail("device cuda: this build has no CUDA backend (rebuild with nvcc installed, -DICL_CUDA=ON)");
}
}  // namespace

CudaContext::CudaContext(int, bool) { not_built(); }
CudaContext::~CudaContext() = default;
void CudaContext::synchronize() const { not_built(); }
void* device_alloc(size_t) { not_built(); }
void device_free(void*) noexcept {}
void* pinned_alloc(size_t) { not_built(); }
void pinned_free(void*) noexcept {}
void device_zero(void*, size_t, CudaStream) { not_built(); }
void copy_to_device(void*, const void*, size_t, CudaStream) { not_built(); }
void copy_to_host(void*, const void*, size_t, CudaStream) { not_built(); }
void copy_on_device(void*, const void*, size_t, CudaStream) { not_built(); }
void device_fill(float*, size_t, float, CudaStream) { not_built(); }

}  // namespace icl

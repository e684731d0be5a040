// CudaContext and the checked memory helpers of the CUDA build.
#include "core/cuda_check.h"
#include "core/cuda_context.h"
#include "core/cuda_launch.cuh"
#include "core/device.h"

namespace icl {

namespace {

// cuBLASLt's recommended workspace for Hopper is 32 MiB; larger does not help our small GEMMs.
constexpr size_t kWorkspaceBytes = size_t(32) << 20;

__global__ void fill_kernel(float* p, int64_t n, float value) {
  for (int64_t i = cuda::grid_start(); i < n; i += cuda::grid_stride()) p[i] = value;
}

}  // namespace

CudaContext::CudaContext(int device, bool tf32) : device_(device), tf32_(tf32) {
  const int n = cuda_device_count();
  if (n == 0) fail("device cuda: no GPU is visible ({})", device_summary());
  if (device < 0 || device >= n) fail("device cuda:{}: only cuda:0..cuda:{} exist", device, n - 1);
  CUDA_CHECK(cudaSetDevice(device));
  cudaDeviceProp p{};
  CUDA_CHECK(cudaGetDeviceProperties(&p, device));
  sm_count_ = p.multiProcessorCount;
  name_ = "cuda:" + std::to_string(device) + " " + p.name;
  CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  CUBLAS_CHECK(cublasCreate(&cublas_));
  CUBLAS_CHECK(cublasSetStream(cublas_, stream_));
  // Pedantic math forbids any reduced-precision shortcut; TF32 allows tensor cores for fp32 GEMMs.
  CUBLAS_CHECK(
      cublasSetMathMode(cublas_, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_PEDANTIC_MATH));
  CUBLAS_CHECK(cublasLtCreate(&cublaslt_));
  workspace_bytes_ = kWorkspaceBytes;
  CUDA_CHECK(cudaMalloc(&workspace_, workspace_bytes_));
  // A fixed user workspace also keeps cuBLAS from allocating during graph capture.
  CUBLAS_CHECK(cublasSetWorkspace(cublas_, workspace_, workspace_bytes_));
}

CudaContext::~CudaContext() {
  if (stream_) cudaStreamSynchronize(stream_);
  if (cublaslt_) cublasLtDestroy(cublaslt_);
  if (cublas_) cublasDestroy(cublas_);
  if (workspace_) cudaFree(workspace_);
  if (stream_) cudaStreamDestroy(stream_);
}

void CudaContext::synchronize() const { CUDA_CHECK(cudaStreamSynchronize(stream_)); }

void* device_alloc(size_t bytes) {
  void* p = nullptr;
  CUDA_CHECK(cudaMalloc(&p, bytes == 0 ? 1 : bytes));
  return p;
}

void device_free(void* p) noexcept {
  if (p) cudaFree(p);
}

void* pinned_alloc(size_t bytes) {
  void* p = nullptr;
  CUDA_CHECK(cudaMallocHost(&p, bytes == 0 ? 1 : bytes));
  return p;
}

void pinned_free(void* p) noexcept {
  if (p) cudaFreeHost(p);
}

void device_zero(void* p, size_t bytes, CudaStream s) {
  CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, s));
}

void copy_to_device(void* dst, const void* src, size_t bytes, CudaStream s) {
  CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, s));
}

void copy_to_host(void* dst, const void* src, size_t bytes, CudaStream s) {
  CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, s));
}

void copy_on_device(void* dst, const void* src, size_t bytes, CudaStream s) {
  CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, s));
}

void device_fill(float* p, size_t n, float value, CudaStream s) {
  // On the given stream, not a context's: launch_elementwise's shape, launched by hand.
  if (n == 0) return;
  fill_kernel<<<cuda::elementwise_blocks(int64_t(n), cuda::kIoMaxBlocks), cuda::kElementwiseThreads,
                0, s>>>(p, int64_t(n), value);
  KERNEL_CHECK();
}

}  // namespace icl

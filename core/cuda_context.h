#pragma once
// CudaContext: everything the CUDA path needs on one GPU -- its stream, the cuBLAS and cuBLASLt
// handles, the GEMM workspace and the precision setting. Whoever runs on a GPU owns one (the
// benchmark run, a test); device arenas point at it and ops reach it through their Graph, so there
// are no globals. This header needs no CUDA headers: C++ code compiled without nvcc includes it.
//
// Precision: with tf32 (the default) fp32 matrix products use TF32 tensor cores with fp32
// accumulation; without it they are strict fp32 (cuBLAS pedantic math). Everything else is fp32.
#include <cstddef>
#include <string>

// The CUDA and cuBLAS handle types, by the names their headers give them.
struct CUstream_st;
struct cublasContext;
struct cublasLtContext;

namespace icl {

// Whether this build has the CUDA backend. Code for the GPU sits under `if constexpr (kCudaBuilt)`,
// so builds without it never reference the CUDA functions.
#ifdef ICL_WITH_CUDA
inline constexpr bool kCudaBuilt = true;
#else
inline constexpr bool kCudaBuilt = false;
#endif

using CudaStream = CUstream_st*;

class CudaContext {
 public:
  // Throws icl::Error (one line) when the CUDA backend is not built or `device` does not exist.
  explicit CudaContext(int device = 0, bool tf32 = true);
  ~CudaContext();
  CudaContext(const CudaContext&) = delete;
  CudaContext& operator=(const CudaContext&) = delete;

  int device() const { return device_; }
  bool tf32() const { return tf32_; }
  CudaStream stream() const { return stream_; }
  cublasContext* cublas() const { return cublas_; }
  cublasLtContext* cublaslt() const { return cublaslt_; }
  void* workspace() const { return workspace_; }
  size_t workspace_bytes() const { return workspace_bytes_; }
  int sm_count() const { return sm_count_; }
  const std::string& name() const { return name_; }  // "cuda:0 NVIDIA H100 80GB HBM3"
  void synchronize() const;  // waits for the stream; rethrows asynchronous errors with context

 private:
  int device_ = 0;
  bool tf32_ = true;
  CudaStream stream_ = nullptr;
  cublasContext* cublas_ = nullptr;
  cublasLtContext* cublaslt_ = nullptr;
  void* workspace_ = nullptr;
  size_t workspace_bytes_ = 0;
  int sm_count_ = 0;
  std::string name_;
};

// Memory and copies for the CUDA path; each is a checked call (file and line on failure). In builds
// without CUDA they throw "CUDA backend not built".
void* device_alloc(size_t bytes);
void device_free(void* p) noexcept;
void* pinned_alloc(size_t bytes);  // page-locked host memory: async copies, capturable in graphs
void pinned_free(void* p) noexcept;
void device_zero(void* p, size_t bytes, CudaStream s);
void copy_to_device(void* dst, const void* src, size_t bytes, CudaStream s);
void copy_to_host(void* dst, const void* src, size_t bytes, CudaStream s);
void copy_on_device(void* dst, const void* src, size_t bytes, CudaStream s);
void device_fill(float* p, size_t n, float value, CudaStream s);

}  // namespace icl

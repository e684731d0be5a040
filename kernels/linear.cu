// CUDA twin of the linear layer. The products are cuBLAS GEMMs: our row-major matrices are the
// column-major transposes cuBLAS expects, so y = x·W is computed as yᵀ = Wᵀ·xᵀ without moving any
// data (likewise dxᵀ = W·dyᵀ and dWᵀ = dyᵀ·x). The forward with a bias goes through cuBLASLt with
// the BIAS epilogue, which adds b while the tile is still in registers instead of re-reading y;
// for rows or pointers not 16-byte aligned (or when cuBLASLt offers no algorithm), a plain GEMM
// plus a broadcast kernel does it.
// The bias gradient is a column sum of dy (kernels/cuda_reduce.cuh: two fixed stages, no atomics,
// bit-identical reruns). cuBLAS itself is deterministic on a given GPU.
#include <climits>

#include "core/cuda_check.h"
#include "core/cuda_launch.cuh"
#include "kernels/cuda_reduce.cuh"
#include "kernels/linear.h"

namespace icl::cuda {

namespace {

cublasComputeType_t compute_type(const CudaContext& ctx) {
  return ctx.tf32() ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
}

// C (m×n, column-major) = op(A)·op(B) + beta·C with fp32 storage.
void gemm(const CudaContext& ctx, cublasOperation_t ta, cublasOperation_t tb, int64_t m, int64_t n,
          int64_t k, const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
          int64_t ldc) {
  ICL_ASSERT(m <= INT_MAX && n <= INT_MAX && k <= INT_MAX && lda <= INT_MAX && ldb <= INT_MAX &&
             ldc <= INT_MAX);
  const float alpha = 1.0f;
  CUBLAS_CHECK(cublasGemmEx(ctx.cublas(), ta, tb, int(m), int(n), int(k), &alpha, A, CUDA_R_32F,
                            int(lda), B, CUDA_R_32F, int(ldb), &beta, C, CUDA_R_32F, int(ldc),
                            compute_type(ctx), CUBLAS_GEMM_DEFAULT));
}

// The largest power of two (≤ 256) dividing the address: what cuBLASLt may assume about it.
uint32_t alignment_of(const void* p) {
  uint32_t a = 256;
  while (a > 4 && reinterpret_cast<uintptr_t>(p) % a != 0) a /= 2;
  return a;
}

// cuBLASLt descriptors, destroyed on every path out (a failed check throws).
struct LtDescriptors {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulPreference_t pref = nullptr;
  ~LtDescriptors() {
    if (pref) cublasLtMatmulPreferenceDestroy(pref);
    if (c) cublasLtMatrixLayoutDestroy(c);
    if (b) cublasLtMatrixLayoutDestroy(b);
    if (a) cublasLtMatrixLayoutDestroy(a);
    if (op) cublasLtMatmulDescDestroy(op);
  }
};

// y = x·W + b through one cuBLASLt matmul with the BIAS epilogue. Returns false, having enqueued
// nothing, when cuBLASLt has no algorithm for these shapes and alignments.
bool lt_forward_with_bias(const CudaContext& ctx, float* y, const float* x, const float* w,
                          const float* b, int64_t N, int64_t in, int64_t out) {
  LtDescriptors d;
  CUBLAS_CHECK(cublasLtMatmulDescCreate(&d.op, compute_type(ctx), CUDA_R_32F));
  const cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_BIAS;
  CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue,
                                              sizeof(epilogue)));
  // Set before the heuristic query: it reads the pointer's alignment.
  CUBLAS_CHECK(
      cublasLtMatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &b, sizeof(b)));
  // Column-major views: Wᵀ is out×in, xᵀ is in×N, yᵀ is out×N; the bias runs along yᵀ's rows.
  CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&d.a, CUDA_R_32F, uint64_t(out), uint64_t(in), out));
  CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&d.b, CUDA_R_32F, uint64_t(in), uint64_t(N), in));
  CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&d.c, CUDA_R_32F, uint64_t(out), uint64_t(N), out));

  CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&d.pref));
  const uint64_t ws_bytes = ctx.workspace_bytes();
  CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(
      d.pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws_bytes, sizeof(ws_bytes)));
  // Arena tensors need not be 256-byte aligned (cuBLASLt's default assumption): state the truth.
  const uint32_t align_a = alignment_of(w), align_b = alignment_of(x), align_c = alignment_of(y);
  CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(
      d.pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &align_a, sizeof(align_a)));
  CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(
      d.pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &align_b, sizeof(align_b)));
  CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(
      d.pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &align_c, sizeof(align_c)));
  CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(
      d.pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &align_c, sizeof(align_c)));

  cublasLtMatmulHeuristicResult_t heuristic{};
  int found = 0;
  const cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(ctx.cublaslt(), d.op, d.a, d.b, d.c, d.c,
                                                           d.pref, 1, &heuristic, &found);
  if (st != CUBLAS_STATUS_SUCCESS || found == 0) return false;

  const float alpha = 1.0f, beta = 0.0f;  // beta = 0: y is not read (it may hold anything)
  const cublasStatus_t run =
      cublasLtMatmul(ctx.cublaslt(), d.op, &alpha, w, d.a, x, d.b, &beta, y, d.c, y, d.c,
                     &heuristic.algo, ctx.workspace(), ctx.workspace_bytes(), ctx.stream());
  if (run == CUBLAS_STATUS_NOT_SUPPORTED) return false;
  CUBLAS_CHECK(run);
  return true;
}

// y[n, c] = (overwrite ? 0 : y[n, c]) + (b ? b[c] : 0): the bias after a plain GEMM, or the
// whole output when in = 0 (an empty product is zero).
__global__ void bias_kernel(float* y, const float* b, int64_t N, int64_t out, bool overwrite) {
  const int64_t total = N * out;
  for (int64_t i = grid_start(); i < total; i += grid_stride()) {
    const float bias = b ? b[i % out] : 0.0f;
    y[i] = overwrite ? bias : y[i] + bias;
  }
}

void launch_bias(const CudaContext& ctx, float* y, const float* b, int64_t N, int64_t out,
                 bool overwrite) {
  const int64_t total = N * out;
  launch_elementwise(ctx, total, bias_kernel, y, b, N, out, overwrite);
}

// One row's term of the bias gradient db[c] = Σ_n dy[n, c].
struct BiasGradTerm {
  const float* dy;
  int64_t C;
  __device__ void operator()(int64_t r, int64_t c, float* t) const { t[0] = dy[r * C + c]; }
};

}  // namespace

void linear_forward(const CudaContext& ctx, float* y, const float* x, const float* w,
                    const float* b, int64_t N, int64_t in, int64_t out) {
  if (N <= 0 || out <= 0) return;
  if (in <= 0) {  // an empty product is zero: y is just the bias (or 0)
    launch_bias(ctx, y, b, N, out, true);
    return;
  }
  // cuBLASLt only where every row and the bias start 16-byte aligned (what llm.c requires of it
  // too); anything else takes the GEMM + broadcast path, which any alignment suits.
  const bool lt_aligned = in % 4 == 0 && out % 4 == 0 && alignment_of(x) >= 16 &&
                          alignment_of(w) >= 16 && alignment_of(y) >= 16 && alignment_of(b) >= 16;
  if (b && lt_aligned && lt_forward_with_bias(ctx, y, x, w, b, N, in, out)) return;
  gemm(ctx, CUBLAS_OP_N, CUBLAS_OP_N, out, N, in, w, out, x, in, 0.0f, y, out);
  if (b) launch_bias(ctx, y, b, N, out, false);
}

void linear_backward(const CudaContext& ctx, float* dx, float* dw, float* db, const float* dy,
                     const float* x, const float* w, int64_t N, int64_t in, int64_t out) {
  if (N <= 0 || out <= 0) return;
  if (in > 0) {
    // dxᵀ (in×N) += W (in×out) · dyᵀ (out×N); W is Wᵀ's column-major view, transposed.
    if (dx) gemm(ctx, CUBLAS_OP_T, CUBLAS_OP_N, in, N, out, w, out, dy, out, 1.0f, dx, in);
    // dWᵀ (out×in) += dyᵀ (out×N) · x (N×in); x is xᵀ's column-major view, transposed.
    if (dw) gemm(ctx, CUBLAS_OP_N, CUBLAS_OP_T, out, in, N, dy, out, x, in, 1.0f, dw, out);
  }
  if (db) reduce::column_sums<1>(ctx, {{db}}, BiasGradTerm{dy, out}, N, out);
}

}  // namespace icl::cuda

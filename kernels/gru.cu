// CUDA twin of the GRU recurrence (kernels/gru.h): one block per batch element runs the time loop
// (kernels/rnn_cells.cuh), with the CPU's arithmetic per hidden unit and its summation order in
// the recurrent products, so it agrees with the CPU to rounding; dW_h and db_hn are fixed-order
// column sums.
#include "core/cuda_check.h"
#include "kernels/gru.h"
#include "kernels/rnn_cells.cuh"

namespace icl::cuda {

namespace {

using rnn::sigmoid;

// Shared: h_{t−1} [H], u [3H].
__global__ void gru_forward_kernel(float* h, float* h_last, float* saved, const float* gates_x,
                                   const float* w_h, const float* b_hn, const float* h0,
                                   RnnDims d) {
  extern __shared__ float sh[];
  const int64_t H = d.H, G = 3 * H, b = blockIdx.x;
  float *hp = sh, *u = sh + H;
  for (int64_t j = threadIdx.x; j < H; j += blockDim.x) hp[j] = h0 ? h0[b * H + j] : 0.0f;
  __syncthreads();
  for (int64_t t = 0; t < d.T; ++t) {
    const int64_t tok = b * d.T + t;
    const float* x = gates_x + tok * G;
    rnn::row_times(u, hp, w_h, H, G);
    __syncthreads();
    for (int64_t j = threadIdx.x; j < H; j += blockDim.x) {
      const float un = b_hn ? u[2 * H + j] + b_hn[j] : u[2 * H + j];
      const float r = sigmoid(x[j] + u[j]), z = sigmoid(x[H + j] + u[H + j]),
                  n = tanhf(x[2 * H + j] + r * un);
      const float hv = (1.0f - z) * n + z * hp[j];
      h[tok * H + j] = hv;
      hp[j] = hv;
      if (saved) {
        float* s = saved + tok * 4 * H;
        s[j] = r;
        s[H + j] = z;
        s[2 * H + j] = n;
        s[3 * H + j] = un;
      }
    }
    __syncthreads();
  }
  if (h_last)
    for (int64_t j = threadIdx.x; j < H; j += blockDim.x) h_last[b * H + j] = hp[j];
}

// Shared: carried dh [H], du [3H], the direct term dh ⊙ z [H].
__global__ void gru_backward_kernel(float* dgates_x, float* dh0, float* work, const float* dh,
                                    const float* dh_last, const float* w_h, const float* h0,
                                    const float* h, const float* saved, RnnDims d) {
  extern __shared__ float sh[];
  const int64_t H = d.H, G = 3 * H, b = blockIdx.x;
  float *dhc = sh, *du = sh + H, *direct = sh + 4 * H;
  for (int64_t j = threadIdx.x; j < H; j += blockDim.x)
    dhc[j] = dh_last ? dh_last[b * H + j] : 0.0f;
  __syncthreads();
  for (int64_t t = d.T - 1; t >= 0; --t) {
    const int64_t tok = b * d.T + t;
    const float* s = saved + tok * 4 * H;
    for (int64_t j = threadIdx.x; j < H; j += blockDim.x) {
      const float r = s[j], z = s[H + j], n = s[2 * H + j], un = s[3 * H + j];
      const float hp = t > 0 ? h[(tok - 1) * H + j] : (h0 ? h0[b * H + j] : 0.0f);
      const float dhj = dh ? dhc[j] + dh[tok * H + j] : dhc[j];
      const float dpn = dhj * (1.0f - z) * (1.0f - n * n);
      const float dpr = dpn * un * r * (1.0f - r), dpz = dhj * (hp - n) * z * (1.0f - z);
      du[j] = dpr;
      du[H + j] = dpz;
      du[2 * H + j] = dpn * r;
      direct[j] = dhj * z;
      if (dgates_x) {
        dgates_x[tok * G + j] += dpr;
        dgates_x[tok * G + H + j] += dpz;
        dgates_x[tok * G + 2 * H + j] += dpn;
      }
    }
    __syncthreads();
    for (int64_t j = threadIdx.x; j < H; j += blockDim.x) {
      float acc = 0.0f;
      for (int64_t col = 0; col < G; ++col) acc += du[col] * w_h[j * G + col];
      dhc[j] = acc + direct[j];
    }
    if (work)
      for (int64_t col = threadIdx.x; col < G; col += blockDim.x) work[tok * G + col] = du[col];
    __syncthreads();
  }
  if (dh0)
    for (int64_t j = threadIdx.x; j < H; j += blockDim.x) dh0[b * H + j] += dhc[j];
}

// Column j of row r: du_n = work[r, 2H + j].
struct CandidateBiasTerm {
  const float* work;
  int64_t H;
  __device__ void operator()(int64_t r, int64_t j, float* out) const {
    out[0] = work[r * 3 * H + 2 * H + j];
  }
};

}  // namespace

void gru_forward(const CudaContext& ctx, float* h, float* h_last, float* saved,
                 const float* gates_x, const float* w_h, const float* b_hn, const float* h0,
                 const RnnDims& d) {
  if (d.B <= 0 || d.T <= 0 || d.H <= 0) return;
  const size_t shared = rnn::cell_shared_bytes("gru", 4 * d.H, d.H);
  gru_forward_kernel<<<unsigned(d.B), rnn::cell_threads(3 * d.H), shared, ctx.stream()>>>(
      h, h_last, saved, gates_x, w_h, b_hn, h0, d);
  KERNEL_CHECK();
}

void gru_backward(const CudaContext& ctx, float* dgates_x, float* dw_h, float* db_hn, float* dh0,
                  float* work, const float* dh, const float* dh_last, const float* w_h,
                  const float* h0, const float* h, const float* saved, const RnnDims& d) {
  if (d.B <= 0 || d.T <= 0 || d.H <= 0) return;
  ICL_ASSERT(saved && (work || (!dw_h && !db_hn)));
  const size_t shared = rnn::cell_shared_bytes("gru", 5 * d.H, d.H);
  gru_backward_kernel<<<unsigned(d.B), rnn::cell_threads(3 * d.H), shared, ctx.stream()>>>(
      dgates_x, dh0, work, dh, dh_last, w_h, h0, h, saved, d);
  KERNEL_CHECK();
  rnn::add_weight_grad(ctx, dw_h, h, h0, work, 3 * d.H, d);
  if (db_hn) reduce::column_sums<1>(ctx, {{db_hn}}, CandidateBiasTerm{work, d.H}, d.B * d.T, d.H);
}

}  // namespace icl::cuda

// CUDA twin of the LSTM recurrence (kernels/lstm.h): one block per batch element runs the time
// loop (kernels/rnn_cells.cuh), with the CPU's arithmetic per hidden unit and its summation order
// in the recurrent products, so it agrees with the CPU to rounding (the device's expf / tanhf
// and fused multiply-adds); dW_h is a fixed-order column sum.
#include "core/cuda_check.h"
#include "kernels/lstm.h"
#include "kernels/rnn_cells.cuh"

namespace icl::cuda {

namespace {

using rnn::sigmoid;

// Shared: h_{t−1} [H], c [H], a [4H].
__global__ void lstm_forward_kernel(float* h, float* h_last, float* c_last, float* saved,
                                    const float* gates_x, const float* w_h, const float* h0,
                                    const float* c0, RnnDims d) {
  extern __shared__ float sh[];
  const int64_t H = d.H, G = 4 * H, b = blockIdx.x;
  float *hp = sh, *c = sh + H, *a = sh + 2 * H;
  for (int64_t j = threadIdx.x; j < H; j += blockDim.x) {
    hp[j] = h0 ? h0[b * H + j] : 0.0f;
    c[j] = c0 ? c0[b * H + j] : 0.0f;
  }
  __syncthreads();
  for (int64_t t = 0; t < d.T; ++t) {
    const int64_t tok = b * d.T + t;
    rnn::row_times(a, hp, w_h, H, G);
    for (int64_t col = threadIdx.x; col < G; col += blockDim.x) a[col] += gates_x[tok * G + col];
    __syncthreads();
    for (int64_t j = threadIdx.x; j < H; j += blockDim.x) {
      const float i = sigmoid(a[j]), f = sigmoid(a[H + j]), g = tanhf(a[2 * H + j]),
                  o = sigmoid(a[3 * H + j]);
      c[j] = f * c[j] + i * g;
      const float hv = o * tanhf(c[j]);
      h[tok * H + j] = hv;
      hp[j] = hv;
      if (saved) {
        float* s = saved + tok * 5 * H;
        s[j] = i;
        s[H + j] = f;
        s[2 * H + j] = g;
        s[3 * H + j] = o;
        s[4 * H + j] = c[j];
      }
    }
    __syncthreads();
  }
  for (int64_t j = threadIdx.x; j < H; j += blockDim.x) {
    if (h_last) h_last[b * H + j] = hp[j];
    if (c_last) c_last[b * H + j] = c[j];
  }
}

// Shared: carried dh [H], dc [H], da [4H].
__global__ void lstm_backward_kernel(float* dgates_x, float* dh0, float* dc0, float* work,
                                     const float* dh, const float* dh_last, const float* dc_last,
                                     const float* w_h, const float* c0, const float* saved,
                                     RnnDims d) {
  extern __shared__ float sh[];
  const int64_t H = d.H, G = 4 * H, b = blockIdx.x;
  float *dhc = sh, *dc = sh + H, *da = sh + 2 * H;
  for (int64_t j = threadIdx.x; j < H; j += blockDim.x) {
    dhc[j] = dh_last ? dh_last[b * H + j] : 0.0f;
    dc[j] = dc_last ? dc_last[b * H + j] : 0.0f;
  }
  __syncthreads();
  for (int64_t t = d.T - 1; t >= 0; --t) {
    const int64_t tok = b * d.T + t;
    const float* s = saved + tok * 5 * H;
    for (int64_t j = threadIdx.x; j < H; j += blockDim.x) {
      const float i = s[j], f = s[H + j], g = s[2 * H + j], o = s[3 * H + j],
                  tc = tanhf(s[4 * H + j]);
      const float cp = t > 0 ? saved[(tok - 1) * 5 * H + 4 * H + j] : (c0 ? c0[b * H + j] : 0.0f);
      const float dhj = dh ? dhc[j] + dh[tok * H + j] : dhc[j];
      const float dcj = dc[j] + dhj * o * (1.0f - tc * tc);
      da[j] = dcj * g * i * (1.0f - i);
      da[H + j] = dcj * cp * f * (1.0f - f);
      da[2 * H + j] = dcj * i * (1.0f - g * g);
      da[3 * H + j] = dhj * tc * o * (1.0f - o);
      dc[j] = dcj * f;
    }
    __syncthreads();
    // dh_{t−1} = da W_hᵀ: unit j sums da[col] · W_h[j, col] over the columns in order.
    for (int64_t j = threadIdx.x; j < H; j += blockDim.x) {
      float acc = 0.0f;
      for (int64_t col = 0; col < G; ++col) acc += da[col] * w_h[j * G + col];
      dhc[j] = acc;
    }
    for (int64_t col = threadIdx.x; col < G; col += blockDim.x) {
      if (dgates_x) dgates_x[tok * G + col] += da[col];
      if (work) work[tok * G + col] = da[col];
    }
    __syncthreads();
  }
  for (int64_t j = threadIdx.x; j < H; j += blockDim.x) {
    if (dh0) dh0[b * H + j] += dhc[j];
    if (dc0) dc0[b * H + j] += dc[j];
  }
}

}  // namespace

void lstm_forward(const CudaContext& ctx, float* h, float* h_last, float* c_last, float* saved,
                  const float* gates_x, const float* w_h, const float* h0, const float* c0,
                  const RnnDims& d) {
  if (d.B <= 0 || d.T <= 0 || d.H <= 0) return;
  const size_t shared = rnn::cell_shared_bytes("lstm", 6 * d.H, d.H);
  lstm_forward_kernel<<<unsigned(d.B), rnn::cell_threads(4 * d.H), shared, ctx.stream()>>>(
      h, h_last, c_last, saved, gates_x, w_h, h0, c0, d);
  KERNEL_CHECK();
}

void lstm_backward(const CudaContext& ctx, float* dgates_x, float* dw_h, float* dh0, float* dc0,
                   float* work, const float* dh, const float* dh_last, const float* dc_last,
                   const float* w_h, const float* h0, const float* c0, const float* h,
                   const float* saved, const RnnDims& d) {
  if (d.B <= 0 || d.T <= 0 || d.H <= 0) return;
  ICL_ASSERT(saved && (work || !dw_h));
  const size_t shared = rnn::cell_shared_bytes("lstm", 6 * d.H, d.H);
  lstm_backward_kernel<<<unsigned(d.B), rnn::cell_threads(4 * d.H), shared, ctx.stream()>>>(
      dgates_x, dh0, dc0, work, dh, dh_last, dc_last, w_h, c0, saved, d);
  KERNEL_CHECK();
  rnn::add_weight_grad(ctx, dw_h, h, h0, work, 4 * d.H, d);
}

}  // namespace icl::cuda

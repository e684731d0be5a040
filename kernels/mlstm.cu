// CUDA twins of the mLSTM ops (kernels/mlstm.h). mlstm_stabilise's forward is a scan: one thread
// per (b, h) sequence walks its L steps in order, as on the CPU; the rest is elementwise, per
// element or per (row, head) with the head's d terms summed in the CPU's order. The stable
// softplus and sigmoid use the CPU's branches with expf / log1pf.
#include "core/cuda_check.h"
#include "kernels/cuda_elementwise.cuh"
#include "kernels/mlstm.h"

namespace icl::cuda {

namespace {

__global__ void mlstm_stabilise_forward_kernel(float* decay, float* in_scale, float* floor_out,
                                               const float* f_pre, const float* i_pre, int64_t B,
                                               int64_t L, int64_t H) {
  for (int64_t p = grid_start(); p < B * H; p += grid_stride()) {
    const int64_t b = p / H, h = p % H;
    float m = 0.0f;
    for (int64_t t = 0; t < L; ++t) {
      const int64_t i = (b * L + t) * H + h;
      const float log_f = -softplus_f(-f_pre[i]);
      const float m_next = fmaxf(log_f + m, i_pre[i]);
      decay[i] = expf(log_f + m - m_next);
      in_scale[i] = expf(i_pre[i] - m_next);
      floor_out[i] = expf(-m_next);
      m = m_next;
    }
  }
}

__global__ void mlstm_stabilise_backward_kernel(float* df_pre, float* di_pre, const float* ddecay,
                                                const float* din_scale, const float* decay,
                                                const float* in_scale, const float* f_pre,
                                                int64_t n) {
  for (int64_t i = grid_start(); i < n; i += grid_stride()) {
    if (df_pre) df_pre[i] += ddecay[i] * decay[i] * sigmoid_f(-f_pre[i]);
    if (di_pre) di_pre[i] += din_scale[i] * in_scale[i];
  }
}

__global__ void mlstm_normalise_forward_kernel(float* y, const float* o, const float* den,
                                               const float* floor_in, int64_t n, int64_t d) {
  for (int64_t i = grid_start(); i < n; i += grid_stride()) {
    const int64_t r = i / d;
    y[i] = o[i] / fmaxf(fabsf(den[r]), floor_in[r]);
  }
}

__global__ void mlstm_normalise_backward_kernel(float* d_o, float* dden, const float* dy,
                                                const float* o, const float* den,
                                                const float* floor_in, int64_t rows, int64_t d) {
  for (int64_t r = grid_start(); r < rows; r += grid_stride()) {
    const float z = fmaxf(fabsf(den[r]), floor_in[r]);
    float dot = 0.0f;
    for (int64_t j = 0; j < d; ++j) {
      if (d_o) d_o[r * d + j] += dy[r * d + j] / z;
      dot += dy[r * d + j] * o[r * d + j];
    }
    if (dden && fabsf(den[r]) > floor_in[r])
      dden[r] -= (den[r] > 0.0f ? 1.0f : -1.0f) * dot / (z * z);
  }
}

}  // namespace

void mlstm_stabilise_forward(const CudaContext& ctx, float* decay, float* in_scale, float* floor,
                             const float* f_pre, const float* i_pre, int64_t B, int64_t L,
                             int64_t H) {
  if (B * H <= 0 || L <= 0) return;
  launch_elementwise(ctx, B * H, mlstm_stabilise_forward_kernel, decay, in_scale, floor, f_pre,
                     i_pre, B, L, H);
}

void mlstm_stabilise_backward(const CudaContext& ctx, float* df_pre, float* di_pre,
                              const float* ddecay, const float* din_scale, const float* decay,
                              const float* in_scale, const float* f_pre, int64_t n) {
  if (n <= 0 || (!df_pre && !di_pre)) return;
  launch_elementwise(ctx, n, mlstm_stabilise_backward_kernel, df_pre, di_pre, ddecay, din_scale,
                     decay, in_scale, f_pre, n);
}

void mlstm_normalise_forward(const CudaContext& ctx, float* y, const float* o, const float* den,
                             const float* floor, int64_t R, int64_t H, int64_t d) {
  const int64_t n = R * H * d;
  if (n <= 0) return;
  launch_elementwise(ctx, n, mlstm_normalise_forward_kernel, y, o, den, floor, n, d);
}

void mlstm_normalise_backward(const CudaContext& ctx, float* d_o, float* dden, const float* dy,
                              const float* o, const float* den, const float* floor, int64_t R,
                              int64_t H, int64_t d) {
  const int64_t rows = R * H;
  if (rows <= 0 || d <= 0 || (!d_o && !dden)) return;
  launch_elementwise(ctx, rows, mlstm_normalise_backward_kernel, d_o, dden, dy, o, den, floor, rows,
                     d);
}

}  // namespace icl::cuda

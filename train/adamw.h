#pragma once
// AdamW (Loshchilov & Hutter 2019) exactly as PyTorch's torch.optim.AdamW (single-tensor path).
// At step t (1-based), for every element of a parameter p with gradient g:
//   p ← p · (1 − lr·wd)                              decoupled weight decay, applied first
//   m ← β1·m + (1 − β1)·g
//   v ← β2·v + (1 − β2)·g²
//   p ← p − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + eps)
// i.e. p ← p − lr·(m̂ / (√v̂ + eps) + wd·p_old) with m̂ = m/(1 − β1^t), v̂ = v/(1 − β2^t).
// Scalar coefficients are computed in fp64 and cast to T; the element-wise update is in T.
//
// Gradient clipping follows torch.nn.utils.clip_grad_norm_: with N = √(Σ g²) over all parameters,
// when N > max_norm every gradient is multiplied by max_norm / (N + 1e-6).
#include <cmath>
#include <cstdint>

#include "core/blocks.h"
#include "core/parameter.h"

namespace icl {

struct AdamW {
  double lr = 1e-4, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0;
};

namespace kern {

template <class T>
void adamw_update(T* p, const T* g, T* m, T* v, int64_t n, double lr, double beta1, double beta2,
                  double eps, double weight_decay, int64_t step) {
  const T decay = T(1.0 - lr * weight_decay);
  const T b1 = T(beta1), b2 = T(beta2), a1 = T(1.0 - beta1), a2 = T(1.0 - beta2);
  const T step_size = T(lr / (1.0 - std::pow(beta1, double(step))));
  const T inv_bc2_sqrt = T(1.0 / std::sqrt(1.0 - std::pow(beta2, double(step))));
  const T e = T(eps);
  for_blocks(n, 4096, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      p[i] *= decay;
      m[i] = b1 * m[i] + a1 * g[i];
      v[i] = b2 * v[i] + a2 * g[i] * g[i];
      p[i] -= step_size * m[i] / (std::sqrt(v[i]) * inv_bc2_sqrt + e);
    }
  });
}

}  // namespace kern

// The GPU path (train/adamw.cu): one kernel for the gradient norm and one for clipping + AdamW
// over the flat parameter arrays of a store on the GPU (DeviceParameters).
namespace cuda {

// What changes from step to step. The kernels read it from device memory, so one captured CUDA
// graph serves every step: the host writes new values into a pinned copy that the graph uploads.
struct StepScalars {
  double lr = 0;        // the schedule's learning rate of this step
  double step = 1;      // 1-based update count, for the bias corrections
  double max_norm = 0;  // clip the gradients to this global norm; <= 0 or not finite: no clipping
};

// Fixed number of partial sums: the reduction order depends on nothing but n.
inline constexpr int kNormBlocks = 512;

// norm[0] = √(Σ grad²) summed in fp64. partials: kNormBlocks doubles of scratch on the device.
void grad_norm(const CudaContext& ctx, double* norm, double* partials, const float* grad,
               int64_t n);

// With N = *norm: when N > s->max_norm > 0 every gradient is first multiplied (in fp32) by
// float(max_norm / (N + 1e-6)) and written back, as clip_grad_norm does; then the AdamW update of
// kern::adamw_update
// with lr and step from *s and decay only where p.decay[i] != 0 (weight_decay, else 0). When
// *norm or *loss is not finite nothing is changed: a diverged step leaves the parameters as they
// were, and the host reports it.
void adamw_update(const CudaContext& ctx, const DeviceParameters& p, const StepScalars* s,
                  const double* norm, const float* loss, double beta1, double beta2, double eps,
                  double weight_decay);

}  // namespace cuda

// One AdamW step on every parameter, with learning rate `lr` (the schedule's value; cfg.lr is not
// used) at 1-based `step`. Weight decay applies only to parameters with decay = true.
void adamw_step(ParameterStore& params, const AdamW& cfg, double lr, int64_t step);

// √(Σ g²) over all parameters, summed in fp64 in parameter order, each parameter's elements in
// kern::row_sum's 16 fixed lanes (vectorisable; the order depends only on the shapes).
double global_grad_norm(const ParameterStore& params);

// The factor clipping multiplies a gradient of norm `norm` by: float(max_norm / (norm + 1e-6))
// when norm > max_norm, else 1. max_norm <= 0 (or not finite) means no clipping.
float clip_scale(double norm, double max_norm);

// Returns the norm before clipping; scales all gradients by clip_scale(norm, max_norm).
double clip_grad_norm(ParameterStore& params, double max_norm);

}  // namespace icl

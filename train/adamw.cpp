#include "train/adamw.h"

#include "kernels/row_sum.h"

namespace icl {

void adamw_step(ParameterStore& params, const AdamW& cfg, double lr, int64_t step) {
  ICL_ASSERT(step >= 1);
  for (auto& p : params.all())
    kern::adamw_update(p->value.data(), p->grad.data(), p->m.data(), p->v.data(),
                       int64_t(p->value.size()), lr, cfg.beta1, cfg.beta2, cfg.eps,
                       p->decay ? cfg.weight_decay : 0.0, step);
}

double global_grad_norm(const ParameterStore& params) {
  double sum = 0;
  for (const auto& p : params.all()) {
    const float* g = p->grad.data();
    sum += kern::row_sum<double>(int64_t(p->grad.size()),
                                 [g](int64_t i) { return double(g[i]) * double(g[i]); });
  }
  return std::sqrt(sum);
}

float clip_scale(double norm, double max_norm) {
  if (max_norm > 0 && std::isfinite(max_norm) && norm > max_norm)
    return float(max_norm / (norm + 1e-6));
  return 1.f;
}

double clip_grad_norm(ParameterStore& params, double max_norm) {
  const double norm = global_grad_norm(params);
  const float scale = clip_scale(norm, max_norm);
  if (scale != 1.f)  // (× 1 would change nothing)
    for (auto& p : params.all())
      for (float& g : p->grad) g *= scale;
  return norm;
}

}  // namespace icl

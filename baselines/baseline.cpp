#include "baselines/baseline.h"

#include "core/error.h"

namespace icl {

VecD PromptView::x(int64_t k) const {
  return Eigen::Map<const Eigen::VectorXf>(pb.x(b, k), pb.dx).cast<double>();
}
double PromptView::y(int64_t k) const { return double(*pb.y(b, k)); }
VecD PromptView::query(int64_t k) const {
  return Eigen::Map<const Eigen::VectorXf>(pb.query_x(b, k), pb.dx).cast<double>();
}

const VecD& PromptView::x_into(int64_t k, VecD& out) const {
  out = Eigen::Map<const Eigen::VectorXf>(pb.x(b, k), pb.dx).cast<double>();
  return out;
}
const VecD& PromptView::query_into(int64_t k, VecD& out) const {
  out = Eigen::Map<const Eigen::VectorXf>(pb.query_x(b, k), pb.dx).cast<double>();
  return out;
}

const VectorPrompts& Baseline::regression_prompts(const PromptBatch& batch) const {
  const VectorPrompts* v = batch.get<VectorPrompts>();
  if (!v)
    fail("baseline {}: needs vector prompts with scalar labels (dy = 1), got {} prompts", name(),
         to_string(batch.kind()));
  if (v->dy != 1)
    fail("baseline {}: needs vector prompts with scalar labels (dy = 1), got dy = {}", name(),
         v->dy);
  return *v;
}

void Baseline::predict_prompt(const PromptView&, float*) const {
  throw std::logic_error("Baseline::predict_prompt not implemented for " + name());
}

}  // namespace icl

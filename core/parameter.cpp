#include "core/parameter.h"

#include <algorithm>

namespace icl {

Parameter& ParameterStore::add(const std::string& name, Shape shape, bool decay) {
  ICL_ASSERT(find(name) == nullptr);
  auto p = std::make_unique<Parameter>();
  p->name = name;
  p->shape = shape;
  const size_t n = size_t(shape.numel());
  p->value.assign(n, 0.f);
  p->grad.assign(n, 0.f);
  p->m.assign(n, 0.f);
  p->v.assign(n, 0.f);
  p->decay = decay;
  params_.push_back(std::move(p));
  return *params_.back();
}

Parameter* ParameterStore::find(const std::string& name) {
  for (auto& p : params_)
    if (p->name == name) return p.get();
  return nullptr;
}

int64_t ParameterStore::count() const {
  int64_t n = 0;
  for (const auto& p : params_) n += p->shape.numel();
  return n;
}

void ParameterStore::zero_grad() {
  for (auto& p : params_) std::fill(p->grad.begin(), p->grad.end(), 0.f);
}

}  // namespace icl

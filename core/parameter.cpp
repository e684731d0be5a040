#include "core/parameter.h"

#include <algorithm>

namespace icl {

namespace {
constexpr int64_t kAlign = 64;  // floats: 256 bytes
int64_t padded(int64_t n) { return (n + kAlign - 1) / kAlign * kAlign; }
}  // namespace

ParameterStore::~ParameterStore() { device_free(dev_mem_); }

Parameter& ParameterStore::add(const std::string& name, Shape shape, bool decay) {
  ICL_ASSERT(find(name) == nullptr && !on_device());
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
  if (on_device()) {
    device_zero(dev_.grad, size_t(dev_.n) * 4, ctx_->stream());
    return;
  }
  for (auto& p : params_) std::fill(p->grad.begin(), p->grad.end(), 0.f);
}

void ParameterStore::to_device(CudaContext& ctx) {
  // A second call (host values changed, e.g. a checkpoint was read) copies them up again.
  ICL_ASSERT(!on_device() || ctx_ == &ctx);
  int64_t n = 0;
  for (const auto& p : params_) n += padded(p->shape.numel());
  if (!on_device()) {
    dev_mem_ = device_alloc(size_t(n) * 16 + size_t(n));
    auto* base = static_cast<float*>(dev_mem_);
    dev_ = {base, base + n, base + 2 * n, base + 3 * n, reinterpret_cast<uint8_t*>(base + 4 * n),
            n};
    ctx_ = &ctx;
  }
  const CudaStream s = ctx.stream();
  device_zero(dev_mem_, size_t(n) * 16 + size_t(n), s);
  std::vector<uint8_t> decay(size_t(n), 0);
  int64_t off = 0;
  for (auto& p : params_) {
    const int64_t k = p->shape.numel();
    copy_to_device(dev_.value + off, p->value.data(), size_t(k) * 4, s);
    copy_to_device(dev_.m + off, p->m.data(), size_t(k) * 4, s);
    copy_to_device(dev_.v + off, p->v.data(), size_t(k) * 4, s);
    std::fill(decay.begin() + off, decay.begin() + off + k, uint8_t(p->decay));
    p->dvalue = dev_.value + off;
    p->dgrad = dev_.grad + off;
    off += padded(k);
  }
  copy_to_device(dev_.decay, decay.data(), decay.size(), s);
  ctx.synchronize();  // the host buffers above are pageable and local
}

void ParameterStore::to_host() {
  if (!on_device()) return;
  const CudaStream s = ctx_->stream();
  for (auto& p : params_) {
    const int64_t off = p->dvalue - dev_.value, k = p->shape.numel();
    copy_to_host(p->value.data(), dev_.value + off, size_t(k) * 4, s);
    copy_to_host(p->grad.data(), dev_.grad + off, size_t(k) * 4, s);
    copy_to_host(p->m.data(), dev_.m + off, size_t(k) * 4, s);
    copy_to_host(p->v.data(), dev_.v + off, size_t(k) * 4, s);
  }
  ctx_->synchronize();
}

}  // namespace icl

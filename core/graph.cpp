#include "core/graph.h"

#include <algorithm>
#include <cstring>

namespace icl {

Var Graph::constant(Tensor t) {
  Node* n = new (arena_.raw_host(sizeof(Node), alignof(Node))) Node{t, {}, false};
  return {n};
}

Var Graph::leaf(Tensor value, Tensor grad_storage) {
  Node* n = new (arena_.raw_host(sizeof(Node), alignof(Node))) Node{value, grad_storage, record_};
  return {n};
}

Var Graph::output(Shape s, bool needs_grad) {
  Node* n =
      new (arena_.raw_host(sizeof(Node), alignof(Node))) Node{arena_.tensor(s), {}, needs_grad};
  return {n};
}

Tensor Graph::grad(Var v) {
  if (!v.n->grad.defined()) v.n->grad = arena_.tensor(v.shape(), DType::F32, true);
  return v.n->grad;
}

Graph::GradOut Graph::grad_out(Var v) {
  if (!v.n || !v.needs_grad()) return {};
  if (v.n->grad.defined() || on_cuda()) return {grad(v).f(), true};
  v.n->grad = arena_.tensor(v.shape(), DType::F32, false);
  return {v.n->grad.f(), false};
}

Tensor Graph::input(const Tensor& host) {
  ICL_ASSERT(host.defined() && host.device == Device::CPU);
  if (!on_cuda()) return host;
  Tensor dev = arena_.tensor(host.shape, host.dtype);
  void* pinned = arena_.staging().raw(host.bytes());
  std::memcpy(pinned, host.ptr, host.bytes());
  copy_to_device(dev.ptr, pinned, host.bytes(), cuda().stream());
  inputs_.push_back({host.ptr, pinned, host.bytes()});
  return dev;
}

void Graph::restage(const std::vector<Input>& inputs) {
  for (const Input& in : inputs) std::memcpy(in.pinned, in.host, in.bytes);
}

void Graph::read(const Tensor& value, void* host_dst) const {
  if (value.device == Device::CPU) {
    std::memcpy(host_dst, value.ptr, value.bytes());
    return;
  }
  copy_to_host(host_dst, value.ptr, value.bytes(), cuda().stream());
  cuda().synchronize();
}

void Graph::backward(Var loss) {
  ICL_ASSERT(record_ && loss.shape().numel() == 1);
  if (on_cuda())
    device_fill(grad(loss).f(), 1, 1.0f, cuda().stream());
  else
    grad(loss).f()[0] = 1.0f;
  for (auto it = tape_.rbegin(); it != tape_.rend(); ++it) it->run(it->closure);
}

}  // namespace icl

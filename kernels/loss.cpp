#include "kernels/loss.h"

namespace icl::ops {

namespace {

const float* check_mask(const Tensor& mask, int64_t N, const char* op) {
  if (!mask.defined()) return nullptr;
  ICL_ASSERT(mask.dtype == DType::F32 && mask.device == Device::CPU);
  if (mask.numel() != N) fail("{}: the mask has {} entries, expected {}", op, mask.numel(), N);
  return mask.f();
}

// The step's copy of a host tensor (the tensor itself on the CPU), or an undefined tensor.
Tensor staged(Graph& g, const Tensor& host) { return host.defined() ? g.input(host) : Tensor{}; }
const float* fptr(const Tensor& t) { return t.defined() ? t.f() : nullptr; }

void check_float_target(const Tensor& target, int64_t N, const char* op) {
  ICL_ASSERT(target.defined() && target.dtype == DType::F32 && target.device == Device::CPU);
  if (target.numel() != N) fail("{}: {} targets for {} predictions", op, target.numel(), N);
}

}  // namespace

Var mse_loss(Graph& g, Var pred, const Tensor& target, const Tensor& mask) {
  const int64_t N = pred.shape().numel();
  check_float_target(target, N, "mse_loss");
  const float* m = check_mask(mask, N, "mse_loss");
  Var loss = g.output({1}, any_grad(g, {pred}));
  const Tensor t = staged(g, target), k = staged(g, mask);
  if (g.on_cuda()) {
    if constexpr (kCudaBuilt) cuda::mse_forward(g.cuda(), loss.f(), pred.f(), t.f(), fptr(k), N);
  } else {
    loss.f()[0] = kern::mse_forward(pred.f(), t.f(), m, N);
  }
  if (loss.needs_grad())
    g.record([&g, pred, loss, t, k, N] {
      if (g.on_cuda()) {
        if constexpr (kCudaBuilt)
          cuda::mse_backward(g.cuda(), g.grad(pred).f(), g.grad(loss).f(), pred.f(), t.f(), fptr(k),
                             N);
      } else {
        kern::mse_backward(g.grad(pred).f(), g.grad(loss).f()[0], pred.f(), t.f(), fptr(k), N);
      }
    });
  return loss;
}

Var logistic_loss(Graph& g, Var logit, const Tensor& target, const Tensor& mask) {
  const int64_t N = logit.shape().numel();
  check_float_target(target, N, "logistic_loss");
  const float* m = check_mask(mask, N, "logistic_loss");
  for (int64_t i = 0; i < N; ++i)
    if (kern::scored(m, i) && target.f()[i] != 1.f && target.f()[i] != -1.f)
      fail("logistic_loss: target {} at position {} is not -1 or +1", target.f()[i], i);
  Var loss = g.output({1}, any_grad(g, {logit}));
  const Tensor t = staged(g, target), k = staged(g, mask);
  if (g.on_cuda()) {
    if constexpr (kCudaBuilt)
      cuda::logistic_forward(g.cuda(), loss.f(), logit.f(), t.f(), fptr(k), N);
  } else {
    loss.f()[0] = kern::logistic_forward(logit.f(), t.f(), m, N);
  }
  if (loss.needs_grad())
    g.record([&g, logit, loss, t, k, N] {
      if (g.on_cuda()) {
        if constexpr (kCudaBuilt)
          cuda::logistic_backward(g.cuda(), g.grad(logit).f(), g.grad(loss).f(), logit.f(), t.f(),
                                  fptr(k), N);
      } else {
        kern::logistic_backward(g.grad(logit).f(), g.grad(loss).f()[0], logit.f(), t.f(), fptr(k),
                                N);
      }
    });
  return loss;
}

Var cross_entropy(Graph& g, Var logits, const Tensor& targets, const Tensor& mask) {
  const int64_t V = logits.shape().cols(), N = logits.shape().rows();
  ICL_ASSERT(targets.defined() && targets.dtype == DType::I32 && targets.device == Device::CPU);
  if (targets.numel() != N) fail("cross_entropy: {} targets for {} rows", targets.numel(), N);
  const float* m = check_mask(mask, N, "cross_entropy");
  for (int64_t n = 0; n < N; ++n)
    if (kern::scored(m, n) && (targets.i()[n] < 0 || targets.i()[n] >= V))
      fail("cross_entropy: target {} at row {} is outside [0, {}) (V = {})", targets.i()[n], n, V,
           V);
  const Tensor lse = g.arena().tensor({N});
  Var loss = g.output({1}, any_grad(g, {logits}));
  const Tensor t = staged(g, targets), k = staged(g, mask);
  if (g.on_cuda()) {
    if constexpr (kCudaBuilt)
      cuda::cross_entropy_forward(g.cuda(), loss.f(), lse.f(), logits.f(), t.i(), fptr(k), N, V);
  } else {
    loss.f()[0] = kern::cross_entropy_forward(lse.f(), logits.f(), t.i(), m, N, V);
  }
  if (loss.needs_grad())
    g.record([&g, logits, loss, lse, t, k, N, V] {
      if (g.on_cuda()) {
        if constexpr (kCudaBuilt)
          cuda::cross_entropy_backward(g.cuda(), g.grad(logits).f(), g.grad(loss).f(), lse.f(),
                                       logits.f(), t.i(), fptr(k), N, V);
      } else {
        kern::cross_entropy_backward(g.grad(logits).f(), g.grad(loss).f()[0], lse.f(), logits.f(),
                                     t.i(), fptr(k), N, V);
      }
    });
  return loss;
}

}  // namespace icl::ops

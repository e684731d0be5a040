#pragma once
// The mean squared error of a model's predictions on a vector PromptBatch, with the parameters'
// gradients when `backward`: the function the model-level gradient checks differentiate.
#include "core/arena.h"
#include "core/graph.h"
#include "kernels/loss.h"
#include "models/model.h"

namespace icl::test {

inline double loss_of(Model& m, const PromptBatch& pb, Arena& arena, bool backward) {
  arena.reset();
  Graph g(arena, backward);
  const Var pred = m.forward(g, pb);
  const VectorPrompts& v = pb.as<VectorPrompts>("loss_of");
  const Tensor target{
      const_cast<float*>(v.ys.data()), {v.batch * v.n_examples}, DType::F32, Device::CPU};
  const Var loss = ops::mse_loss(g, pred, target, {});
  if (backward) {
    m.parameters().zero_grad();
    g.backward(loss);
  }
  return loss.f()[0];
}

}  // namespace icl::test

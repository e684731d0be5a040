#include "core/graph.h"

#include <algorithm>

namespace icl {

Var Graph::constant(Tensor t) {
  Node* n = new (arena_.raw(sizeof(Node), alignof(Node))) Node{t, {}, false};
  return {n};
}

Var Graph::leaf(Tensor value, Tensor grad_storage) {
  Node* n = new (arena_.raw(sizeof(Node), alignof(Node))) Node{value, grad_storage, record_};
  return {n};
}

Var Graph::output(Shape s, bool needs_grad) {
  Node* n = new (arena_.raw(sizeof(Node), alignof(Node))) Node{arena_.tensor(s), {}, needs_grad};
  return {n};
}

Tensor Graph::grad(Var v) {
  if (!v.n->grad.defined()) v.n->grad = arena_.tensor(v.shape(), DType::F32, true);
  return v.n->grad;
}

void Graph::backward(Var loss) {
  ICL_ASSERT(record_ && loss.shape().numel() == 1);
  grad(loss).f()[0] = 1.0f;
  for (auto it = tape_.rbegin(); it != tape_.rend(); ++it) it->run(it->closure);
}

}  // namespace icl

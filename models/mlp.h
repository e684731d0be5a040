#pragma once
// The GELU MLP sublayer of the transformer and the recurrent stack: W₂ gelu(W₁ x + b₁) + b₂ with
// parameters <block>mlp.{w_in [C, hidden], b_in, w_out [hidden, C], b_out}.
#include <string>

#include "core/parameter.h"
#include "kernels/activation.h"
#include "kernels/linear.h"

namespace icl {

inline void add_mlp(ParameterStore& store, const std::string& block, int64_t width,
                    int64_t hidden) {
  store.add(block + "mlp.w_in", {width, hidden}, true);
  store.add(block + "mlp.b_in", {hidden}, false);
  store.add(block + "mlp.w_out", {hidden, width}, true);
  store.add(block + "mlp.b_out", {width}, false);
}

inline Var mlp(Graph& g, ParameterStore& store, Var x, const std::string& block) {
  const Var u = ops::gelu(
      g, ops::linear(g, x, use(g, store, block + "mlp.w_in"), use(g, store, block + "mlp.b_in")));
  return ops::linear(g, u, use(g, store, block + "mlp.w_out"), use(g, store, block + "mlp.b_out"));
}

}  // namespace icl

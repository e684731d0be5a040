#pragma once
// Residual add fused with the norm that reads it. In a pre-LN transformer every sublayer output is
// added to the residual stream and the next sublayer starts by normalising that stream; on the GPU
// one kernel does both (one pass over the activations instead of two).
//   forward:  s = a + b,  y = LayerNorm(s; γ, β)   or   y = RMSNorm(s; γ)   (β = null Var)
//   backward: the norm's backward into ds (kernels/layernorm.h, kernels/rmsnorm.h), then
//             da += ds, db += ds (kernels/elementwise.h). s may be used elsewhere too; its
//             gradient collects every use before flowing on to a and b.
// On the CPU the forward is kern::add_forward followed by the norm's forward: bit-identical to
// ops::add then ops::layernorm / ops::rmsnorm.
#include "core/graph.h"

namespace icl::ops {

struct AddNorm {
  Var sum;     // a + b: the residual stream
  Var normed;  // its norm: the next sublayer's input
};

AddNorm add_norm(Graph& g, Var a, Var b, Var gamma, Var beta, float eps = 1e-5f);

}  // namespace icl::ops

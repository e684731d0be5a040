#pragma once
// Parameters: named tensors that outlive steps, with their gradients and AdamW moments. Names are
// stable and hierarchical ("blocks.3.attn.w_qkv"); checkpoints are keyed by them.
#include <Eigen/Core>
#include <memory>
#include <string>
#include <vector>

#include "core/graph.h"

namespace icl {

// Parameter storage is 64-byte aligned like the arena: with AVX-512, Eigen's vectorised loops peel
// unaligned leading elements into a scalar path that rounds differently, so results would depend on
// where malloc happened to put a buffer.
using AlignedFloats = std::vector<float, Eigen::aligned_allocator<float>>;

struct Parameter {
  std::string name;
  Shape shape;
  AlignedFloats value, grad, m, v;  // AdamW first and second moments
  bool decay = true;                // weight decay applies (not to biases, norms, embeddings)

  Tensor value_tensor() { return {value.data(), shape, DType::F32, Device::CPU}; }
  Tensor grad_tensor() { return {grad.data(), shape, DType::F32, Device::CPU}; }
};

class ParameterStore {
 public:
  Parameter& add(const std::string& name, Shape shape, bool decay);
  Parameter* find(const std::string& name);
  std::vector<std::unique_ptr<Parameter>>& all() { return params_; }
  const std::vector<std::unique_ptr<Parameter>>& all() const { return params_; }
  int64_t count() const;  // number of scalars
  void zero_grad();

 private:
  std::vector<std::unique_ptr<Parameter>> params_;
};

// The parameter as a leaf of this step's graph.
inline Var use(Graph& g, Parameter& p) { return g.leaf(p.value_tensor(), p.grad_tensor()); }

}  // namespace icl

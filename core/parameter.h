#pragma once
// Parameters: named tensors that outlive steps, with their gradients and AdamW moments. Names are
// stable and hierarchical ("blocks.3.attn.w_qkv"); checkpoints are keyed by them.
#include <Eigen/Core>
#include <memory>
#include <string>
#include <vector>

#include "core/cuda_context.h"
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
  // On a GPU (ParameterStore::to_device): the parameter's slices of the store's flat device
  // arrays. The host vectors then hold the state of the last to_host().
  float* dvalue = nullptr;
  float* dgrad = nullptr;

  Tensor value_tensor() {
    return dvalue ? Tensor{dvalue, shape, DType::F32, Device::CUDA}
                  : Tensor{value.data(), shape, DType::F32, Device::CPU};
  }
  Tensor grad_tensor() {
    return dgrad ? Tensor{dgrad, shape, DType::F32, Device::CUDA}
                 : Tensor{grad.data(), shape, DType::F32, Device::CPU};
  }
};

// All parameters of a store on the GPU as four flat arrays with the same layout (each parameter at
// a 256-byte aligned offset, zeros between them), so the optimizer and the gradient norm are one
// kernel each over all parameters. decay[i] is 1 where weight decay applies.
struct DeviceParameters {
  float *value = nullptr, *grad = nullptr, *m = nullptr, *v = nullptr;
  uint8_t* decay = nullptr;
  int64_t n = 0;  // elements of each array, padding included
};

class ParameterStore {
 public:
  Parameter& add(const std::string& name, Shape shape, bool decay);
  Parameter* find(const std::string& name);
  std::vector<std::unique_ptr<Parameter>>& all() { return params_; }
  const std::vector<std::unique_ptr<Parameter>>& all() const { return params_; }
  int64_t count() const;  // number of scalars
  void zero_grad();       // on the GPU: asynchronously on the context's stream

  // Moves values and AdamW moments to the GPU of ctx; from then on value_tensor()/grad_tensor()
  // are device tensors. to_host() copies values and moments back (for checkpoints); the GPU
  // copy stays the one that trains.
  void to_device(CudaContext& ctx);
  void to_host();
  bool on_device() const { return ctx_ != nullptr; }
  CudaContext* cuda() const { return ctx_; }
  const DeviceParameters& device() const { return dev_; }

  ParameterStore() = default;
  ~ParameterStore();
  ParameterStore(const ParameterStore&) = delete;
  ParameterStore& operator=(const ParameterStore&) = delete;

 private:
  std::vector<std::unique_ptr<Parameter>> params_;
  CudaContext* ctx_ = nullptr;
  DeviceParameters dev_;
  void* dev_mem_ = nullptr;
};

// The parameter as a leaf of this step's graph.
inline Var use(Graph& g, Parameter& p) { return g.leaf(p.value_tensor(), p.grad_tensor()); }
// The same by name; the parameter must exist (models look up only what they added).
inline Var use(Graph& g, ParameterStore& store, const std::string& name) {
  Parameter* p = store.find(name);
  ICL_ASSERT(p != nullptr);
  return use(g, *p);
}

}  // namespace icl

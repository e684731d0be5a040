#pragma once
// Autodiff for one step: values, their gradients and the tape of backward functions.
//
// An op is a function over Vars: it allocates its outputs in the step's arena, runs its forward
// kernel, and -- when the graph records gradients -- records a backward closure that adds the
// gradients of its inputs from the gradient of its outputs (always +=, so a value used twice gets
// both contributions). backward() runs the closures in reverse. Closures are stored in the arena
// and must be trivially destructible (capture Vars, Tensors and numbers, never owning containers),
// so a step records without heap allocation once the tape's capacity has grown.
//
//   Graph g(arena, /*grad=*/true);
//   Var y = ops::linear(g, x, w, b); ...; g.backward(loss);   // parameter grads are now filled
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/arena.h"
#include "core/error.h"

namespace icl {

struct Node {
  Tensor value;
  Tensor grad;  // allocated (zeroed) on first use, or a parameter's persistent gradient
  bool needs_grad = false;
};

// Handle to a Node; cheap to copy and to capture.
struct Var {
  Node* n = nullptr;
  const Tensor& value() const { return n->value; }
  const Shape& shape() const { return n->value.shape; }
  float* f() const { return n->value.f(); }
  bool needs_grad() const { return n->needs_grad; }
};

class Graph {
 public:
  Graph(Arena& arena, bool record_grad) : arena_(arena), record_(record_grad) {}
  ~Graph() { clear(); }
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  bool recording() const { return record_; }
  Arena& arena() { return arena_; }
  // Where the step's values live; ops run their CUDA kernels when this is a GPU.
  bool on_cuda() const { return arena_.device() == Device::CUDA; }
  CudaContext& cuda() const { return *arena_.cuda(); }

  // Host data (prompts, targets, masks) as a value of this step. On the CPU the host memory itself
  // is used; on the GPU it is copied to a pinned staging buffer and from there, asynchronously, to
  // the device. Each copy is remembered (inputs()): replaying a captured step reads new data from
  // the same host buffers after restage() copies them to the same pinned buffers again.
  Tensor input(const Tensor& host);
  struct Input {
    const void* host;
    void* pinned;
    size_t bytes;
  };
  const std::vector<Input>& inputs() const { return inputs_; }
  static void restage(const std::vector<Input>& inputs);
  // Copies a value to host memory (waits for the GPU when on one).
  void read(const Tensor& value, void* host_dst) const;

  // A value without gradient (prompt data, targets).
  Var constant(Tensor t);
  // A value whose gradient accumulates into `grad` (persistent storage, zeroed by the caller).
  Var leaf(Tensor value, Tensor grad);
  // A fresh output of an op: needs a gradient when any input does and the graph records.
  Var output(Shape s, bool needs_grad);
  Var output_like(Var v, bool needs_grad) { return output(v.shape(), needs_grad); }

  // The gradient buffer of v, allocated and zeroed on first request.
  Tensor grad(Var v);
  // The gradient buffer of v for a backward kernel that writes every element of it. On the CPU,
  // when v has no gradient yet, the buffer is allocated without zeroing and `accumulate` is false:
  // the kernel assigns its contribution instead of adding it, saving a pass over memory for
  // nearly every activation gradient of a step (measured: 3-6% of a transformer step was that
  // memset). Otherwise it is grad(v) with accumulate = true; on a GPU always (the CUDA kernels
  // add). A Var without gradient gives {nullptr, true}.
  struct GradOut {
    float* f = nullptr;
    bool accumulate = true;
  };
  GradOut grad_out(Var v);

  template <class F>
  void record(F&& backward) {
    if (!record_) return;
    using Fn = std::decay_t<F>;
    static_assert(std::is_trivially_destructible_v<Fn>,
                  "backward closures are stored in the arena: capture only Vars, Tensors, numbers");
    void* mem = arena_.raw_host(sizeof(Fn), alignof(Fn));
    new (mem) Fn(std::forward<F>(backward));
    tape_.push_back({[](void* o) { (*static_cast<Fn*>(o))(); }, mem});
  }

  // Seeds d(loss)/d(loss) = 1 (loss must have one element) and runs the tape backwards.
  void backward(Var loss);
  // Forgets the tape and values (the arena is reset by its owner).
  void clear() {
    tape_.clear();
    inputs_.clear();
  }

  size_t tape_size() const { return tape_.size(); }

  // Hidden states a caller watches (train.layer_stats_every reads every block's output): models
  // hand each block's output to probe(), which keeps it only while watch() has given a list.
  void watch(std::vector<Var>* probes) { probes_ = probes; }
  void probe(Var v) {
    if (probes_) probes_->push_back(v);
  }

 private:
  struct Entry {
    void (*run)(void*);
    void* closure;
  };
  Arena& arena_;
  bool record_;
  std::vector<Entry> tape_;
  std::vector<Input> inputs_;
  std::vector<Var>* probes_ = nullptr;
};

// True when any of the inputs needs a gradient and g records.
inline bool any_grad(const Graph& g, std::initializer_list<Var> vs) {
  if (!g.recording()) return false;
  for (const Var& v : vs)
    if (v.n && v.needs_grad()) return true;
  return false;
}

}  // namespace icl

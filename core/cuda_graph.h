#pragma once
// A captured CUDA graph: begin() starts capturing the context's stream, end() instantiates what
// was enqueued since, launch() replays it. The training step is captured once per prompt shape and
// replayed every step after, which removes the per-kernel launch cost that dominates small models.
// Capture uses the relaxed mode, so calls that are not stream operations (cuBLAS setup, function
// attributes) stay allowed while capturing.
#include "core/cuda_context.h"

struct CUgraphExec_st;

namespace icl {

class CudaGraph {
 public:
  CudaGraph() = default;
  ~CudaGraph();
  CudaGraph(const CudaGraph&) = delete;
  CudaGraph& operator=(const CudaGraph&) = delete;

  void begin(const CudaContext& ctx);
  void end(const CudaContext& ctx);
  void launch(const CudaContext& ctx) const;
  void reset();  // forget the graph
  bool ready() const { return exec_ != nullptr; }

 private:
  CUgraphExec_st* exec_ = nullptr;
};

}  // namespace icl

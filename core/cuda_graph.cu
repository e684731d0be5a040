#include "core/cuda_check.h"
#include "core/cuda_graph.h"

namespace icl {

CudaGraph::~CudaGraph() { reset(); }

void CudaGraph::reset() {
  if (exec_) cudaGraphExecDestroy(exec_);
  exec_ = nullptr;
}

void CudaGraph::begin(const CudaContext& ctx) {
  reset();
  CUDA_CHECK(cudaStreamBeginCapture(ctx.stream(), cudaStreamCaptureModeRelaxed));
}

void CudaGraph::end(const CudaContext& ctx) {
  cudaGraph_t graph = nullptr;
  CUDA_CHECK(cudaStreamEndCapture(ctx.stream(), &graph));
  const cudaError_t e = cudaGraphInstantiate(&exec_, graph, 0);
  cudaGraphDestroy(graph);
  if (e != cudaSuccess) {
    exec_ = nullptr;
    cuda_fail(e, "cudaGraphInstantiate", __FILE__, __LINE__);
  }
}

void CudaGraph::launch(const CudaContext& ctx) const {
  ICL_ASSERT(exec_ != nullptr);
  CUDA_CHECK(cudaGraphLaunch(exec_, ctx.stream()));
}

}  // namespace icl

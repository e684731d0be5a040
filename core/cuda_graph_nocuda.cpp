// Builds without CUDA: a CudaGraph can exist but never be captured (no CudaContext can be made).
#include "core/cuda_graph.h"
#include "core/error.h"

namespace icl {

CudaGraph::~CudaGraph() = default;
void CudaGraph::reset() {}
void CudaGraph::begin(const CudaContext&) { fail("CUDA graphs need the CUDA backend"); }
void CudaGraph::end(const CudaContext&) { fail("CUDA graphs need the CUDA backend"); }
void CudaGraph::launch(const CudaContext&) const { fail("CUDA graphs need the CUDA backend"); }

}  // namespace icl

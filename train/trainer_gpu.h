#pragma once
// The state of the trainer's CUDA path (train/trainer_gpu.cpp), shared with train/trainer.cpp,
// which stages prompts into it.
#include "core/cuda_graph.h"
#include "train/adamw.h"
#include "train/trainer.h"

namespace icl {

// The CUDA path's state: prompts in host buffers that keep their addresses (a captured graph
// reads them through Graph::restage), a pinned block for the per-step scalars and the values read
// back, device scratch for the gradient norm, and the captured step.
struct Trainer::Gpu {
  struct Pinned {
    cuda::StepScalars scalars;
    double norm;
    float loss;
  };
  CudaContext& ctx;
  PromptBatch staged;        // prompts of step staged_step
  int64_t staged_step = -1;  // -1: none yet
  Pinned* pinned = nullptr;
  void* dev = nullptr;  // StepScalars, norm and kNormBlocks partials
  cuda::StepScalars* d_scalars = nullptr;
  double* d_norm = nullptr;
  double* d_partials = nullptr;
  CudaGraph graph;
  std::vector<Graph::Input> inputs;  // the captured step's host → pinned copies
  int64_t graph_K = -1, warm_K = -1;
  const void* graph_xs = nullptr;  // staged buffers at capture time
  const void* graph_ys = nullptr;
  const float* graph_mask = nullptr;  // mask_ at capture time, or null without a loss mask

  explicit Gpu(CudaContext& c) : ctx(c) {
    pinned = static_cast<Pinned*>(pinned_alloc(sizeof(Pinned)));
    dev = device_alloc(sizeof(cuda::StepScalars) + sizeof(double) * (1 + cuda::kNormBlocks));
    d_scalars = static_cast<cuda::StepScalars*>(dev);
    d_norm = reinterpret_cast<double*>(d_scalars + 1);
    d_partials = d_norm + 1;
  }
  ~Gpu() {
    graph.reset();
    device_free(dev);
    pinned_free(pinned);
  }
  Gpu(const Gpu&) = delete;
  Gpu& operator=(const Gpu&) = delete;
};

}  // namespace icl

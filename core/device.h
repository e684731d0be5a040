#pragma once
// Which compute devices this process can use. Without a CUDA build, or on a machine without a GPU,
// cuda_device_count() is 0 and everything runs on the CPU.
#include <string>

namespace icl {

int cuda_device_count();
std::string device_summary();  // "cpu (2 threads)" or "cuda:0 NVIDIA H100 80GB HBM3, ..." lines

}  // namespace icl

#include <memory>

#include "core/cuda_context.h"

namespace icl {

// The GPU a run should use for `choice`: "cpu" → none (nullptr); "cuda" → cuda:0, or a one-line
// error when this build has no CUDA backend or no GPU is visible; "auto" → cuda:0 when there is
// one, else none. Anything else is an error naming the allowed values.
std::unique_ptr<CudaContext> open_device(const std::string& choice, bool tf32);

// Whether open_device(choice) would open a GPU, with its errors, but without opening anything:
// train.replicas checks every replica's device before any work (run/replicas.h).
bool check_device(const std::string& choice);

}  // namespace icl

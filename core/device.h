#pragma once
// Which compute devices this process can use. Without a CUDA build, or on a machine without a GPU,
// cuda_device_count() is 0 and everything runs on the CPU.
#include <string>

namespace icl {

int cuda_device_count();
std::string device_summary();  // "cpu (2 threads)" or "cuda:0 NVIDIA H100 80GB HBM3, ..." lines

}  // namespace icl

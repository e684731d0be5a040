#pragma once
// Bump allocator for the memory of one training or evaluation step. reset() makes all of it
// reusable; when a step needed more than one block, reset() replaces them by a single block of the
// total size, so from the second step on a step of fixed shapes allocates nothing -- and, on the
// GPU, gets the same addresses every step, which is what lets a captured CUDA graph be replayed.
//
// A device arena hands out GPU memory of its CudaContext and owns a pinned host arena for the
// step's inputs on their way to the GPU (Graph::input).
#include <cstddef>
#include <memory>
#include <vector>

#include "core/cuda_context.h"
#include "core/tensor.h"

namespace icl {

enum class Memory : uint8_t { Host, Pinned, Device };

class Arena {
 public:
  explicit Arena(size_t initial_bytes = size_t(1) << 20);
  // A GPU arena on `ctx` (Memory::Device), with its pinned staging arena.
  Arena(CudaContext& ctx, size_t initial_bytes = size_t(1) << 24);
  ~Arena();
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  Device device() const { return memory_ == Memory::Device ? Device::CUDA : Device::CPU; }
  CudaContext* cuda() const { return ctx_; }
  Arena& staging() { return *staging_; }  // pinned host memory (device arenas only)

  void* raw(size_t bytes, size_t align = 64);
  // Host-side bookkeeping (graph nodes, closures) always lives in host memory, also for GPU
  // steps: it is what raw_host() returns.
  void* raw_host(size_t bytes, size_t align);
  Tensor tensor(Shape s, DType t = DType::F32, bool zero = false);
  void reset();

  size_t used() const { return used_total_ + offset_; }
  size_t capacity() const;
  size_t block_allocations() const { return allocations_; }  // allocations made so far

 private:
  Arena(Memory m, CudaContext* ctx, size_t initial_bytes);
  struct Block {
    std::byte* mem;
    size_t size;
  };
  std::byte* allocate(size_t bytes);
  void release(Block& b) noexcept;

  Memory memory_ = Memory::Host;
  CudaContext* ctx_ = nullptr;
  std::vector<Block> blocks_;
  size_t offset_ = 0;      // in the last block
  size_t used_total_ = 0;  // in the blocks before it
  size_t allocations_ = 0;
  std::unique_ptr<Arena> host_;     // device arenas: graph nodes and closures
  std::unique_ptr<Arena> staging_;  // device arenas: pinned inputs
};

}  // namespace icl

#pragma once
// Bump allocator for the memory of one training or evaluation step. reset() makes all of it
// reusable; when a step needed more than one block, reset() replaces them by a single block of the
// total size, so from the second step on a step of fixed shapes allocates nothing.
#include <cstddef>
#include <memory>
#include <vector>

#include "core/tensor.h"

namespace icl {

class Arena {
 public:
  explicit Arena(size_t initial_bytes = size_t(1) << 20);

  void* raw(size_t bytes, size_t align = 64);
  Tensor tensor(Shape s, DType t = DType::F32, bool zero = false);
  void reset();

  size_t used() const { return used_total_ + offset_; }
  size_t capacity() const;
  size_t block_allocations() const { return allocations_; }  // heap allocations made so far

 private:
  struct Block {
    std::unique_ptr<std::byte[]> mem;
    size_t size;
  };
  std::vector<Block> blocks_;
  size_t offset_ = 0;      // in the last block
  size_t used_total_ = 0;  // in the blocks before it
  size_t allocations_ = 0;
};

}  // namespace icl

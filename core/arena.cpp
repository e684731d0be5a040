#include "core/arena.h"

#include <cstring>

namespace icl {

Arena::Arena(size_t initial) {
  blocks_.push_back({std::make_unique<std::byte[]>(initial), initial});
  ++allocations_;
}

size_t Arena::capacity() const {
  size_t c = 0;
  for (const auto& b : blocks_) c += b.size;
  return c;
}

void* Arena::raw(size_t bytes, size_t align) {
  Block* b = &blocks_.back();
  auto base = reinterpret_cast<uintptr_t>(b->mem.get());
  size_t start = (base + offset_ + align - 1) / align * align - base;
  if (start + bytes > b->size) {
    used_total_ += offset_;
    const size_t size = std::max(bytes + align, b->size * 2);
    blocks_.push_back({std::make_unique<std::byte[]>(size), size});
    ++allocations_;
    b = &blocks_.back();
    base = reinterpret_cast<uintptr_t>(b->mem.get());
    start = (base + align - 1) / align * align - base;
  }
  offset_ = start + bytes;
  return b->mem.get() + start;
}

Tensor Arena::tensor(Shape s, DType t, bool zero) {
  Tensor out;
  out.shape = s;
  out.dtype = t;
  out.ptr = raw(size_t(s.numel()) * 4);
  if (zero) std::memset(out.ptr, 0, out.bytes());
  return out;
}

void Arena::reset() {
  if (blocks_.size() > 1) {
    const size_t total = capacity();
    blocks_.clear();
    blocks_.push_back({std::make_unique<std::byte[]>(total), total});
    ++allocations_;
  }
  offset_ = 0;
  used_total_ = 0;
}

}  // namespace icl

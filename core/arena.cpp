#include "core/arena.h"

#include <cstring>

#include "core/error.h"

namespace icl {

Arena::Arena(size_t initial) : Arena(Memory::Host, nullptr, initial) {}

Arena::Arena(CudaContext& ctx, size_t initial) : Arena(Memory::Device, &ctx, initial) {
  host_.reset(new Arena(Memory::Host, nullptr, size_t(1) << 20));
  staging_.reset(new Arena(Memory::Pinned, &ctx, size_t(1) << 20));
}

Arena::Arena(Memory m, CudaContext* ctx, size_t initial) : memory_(m), ctx_(ctx) {
  blocks_.push_back({allocate(initial), initial});
}

Arena::~Arena() {
  for (Block& b : blocks_) release(b);
}

std::byte* Arena::allocate(size_t bytes) {
  ++allocations_;
  switch (memory_) {
    case Memory::Device:
      return static_cast<std::byte*>(device_alloc(bytes));
    case Memory::Pinned:
      return static_cast<std::byte*>(pinned_alloc(bytes));
    case Memory::Host:
      break;
  }
  // 64-byte alignment of every block keeps vectorised loops from peeling differently per step.
  return static_cast<std::byte*>(::operator new[](bytes, std::align_val_t(64)));
}

void Arena::release(Block& b) noexcept {
  if (!b.mem) return;
  switch (memory_) {
    case Memory::Device:
      device_free(b.mem);
      break;
    case Memory::Pinned:
      pinned_free(b.mem);
      break;
    case Memory::Host:
      ::operator delete[](b.mem, std::align_val_t(64));
      break;
  }
  b.mem = nullptr;
}

size_t Arena::capacity() const {
  size_t c = 0;
  for (const auto& b : blocks_) c += b.size;
  return c;
}

void* Arena::raw(size_t bytes, size_t align) {
  Block* b = &blocks_.back();
  auto base = reinterpret_cast<uintptr_t>(b->mem);
  size_t start = (base + offset_ + align - 1) / align * align - base;
  if (start + bytes > b->size) {
    used_total_ += offset_;
    const size_t size = std::max(bytes + align, b->size * 2);
    blocks_.push_back({allocate(size), size});
    b = &blocks_.back();
    base = reinterpret_cast<uintptr_t>(b->mem);
    start = (base + align - 1) / align * align - base;
  }
  offset_ = start + bytes;
  return b->mem + start;
}

void* Arena::raw_host(size_t bytes, size_t align) {
  return host_ ? host_->raw(bytes, align) : raw(bytes, align);
}

Tensor Arena::tensor(Shape s, DType t, bool zero) {
  Tensor out;
  out.shape = s;
  out.dtype = t;
  out.device = device();
  out.ptr = raw(size_t(s.numel()) * 4);
  if (zero) {
    if (memory_ == Memory::Device)
      device_zero(out.ptr, out.bytes(), ctx_->stream());
    else
      std::memset(out.ptr, 0, out.bytes());
  }
  return out;
}

void Arena::reset() {
  if (blocks_.size() > 1) {
    const size_t total = capacity();
    // Pending GPU work may still use the old blocks.
    if (memory_ != Memory::Host) ctx_->synchronize();
    for (Block& b : blocks_) release(b);
    blocks_.clear();
    blocks_.push_back({allocate(total), total});
  }
  offset_ = 0;
  used_total_ = 0;
  if (host_) host_->reset();
  if (staging_) staging_->reset();
}

}  // namespace icl

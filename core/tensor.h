#pragma once
// Tensor: a contiguous, row-major view of up to 4 dimensions of float32 or int32 on one device.
// A Tensor does not own memory: step tensors live in an Arena (reset after every step), parameters,
// gradients and optimizer state in storage owned by their Parameter.
#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>

namespace icl {

enum class DType : uint8_t { F32, I32 };
enum class Device : uint8_t { CPU, CUDA };

struct Shape {
  std::array<int64_t, 4> d{1, 1, 1, 1};
  int rank = 0;

  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  int64_t operator[](int i) const { return d[size_t(i)]; }
  int64_t numel() const;
  int64_t rows() const { return numel() / (rank ? d[size_t(rank - 1)] : 1); }  // all but last
  int64_t cols() const { return rank ? d[size_t(rank - 1)] : 1; }              // last dimension
  bool operator==(const Shape& o) const;
  std::string str() const;  // "[64, 82, 128]"
};

struct Tensor {
  void* ptr = nullptr;
  Shape shape;
  DType dtype = DType::F32;
  Device device = Device::CPU;

  float* f() const { return static_cast<float*>(ptr); }
  int32_t* i() const { return static_cast<int32_t*>(ptr); }
  int64_t numel() const { return shape.numel(); }
  size_t bytes() const { return size_t(numel()) * 4; }
  bool defined() const { return ptr != nullptr; }
  // Same memory seen with another shape of the same size.
  Tensor view(Shape s) const;
};

}  // namespace icl

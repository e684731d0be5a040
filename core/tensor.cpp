#include "core/tensor.h"

#include <fmt/format.h>

#include "core/error.h"

namespace icl {

Shape::Shape(std::initializer_list<int64_t> dims) {
  ICL_ASSERT(dims.size() <= 4);
  rank = int(dims.size());
  size_t i = 0;
  for (int64_t x : dims) d[i++] = x;
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int i = 0; i < rank; ++i) n *= d[size_t(i)];
  return n;
}

bool Shape::operator==(const Shape& o) const {
  if (rank != o.rank) return false;
  for (int i = 0; i < rank; ++i)
    if (d[size_t(i)] != o.d[size_t(i)]) return false;
  return true;
}

std::string Shape::str() const {
  std::string s = "[";
  for (int i = 0; i < rank; ++i) s += fmt::format("{}{}", i ? ", " : "", d[size_t(i)]);
  return s + "]";
}

Tensor Tensor::view(Shape s) const {
  ICL_ASSERT(s.numel() == numel());
  Tensor t = *this;
  t.shape = s;
  return t;
}

}  // namespace icl

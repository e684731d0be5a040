#pragma once
// What the PyTorch oracles' dump programs (dump_transformer.cpp, dump_past.cpp) share: reading
// key=value arguments, and writing a model's parameters and gradients by name.
#include <cstdlib>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "io/h5.h"
#include "models/model.h"

namespace icl::oracle {

inline int64_t to_int(const std::string& key, const std::string& v, int64_t lo) {
  char* end = nullptr;
  const long long x = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || x < lo)
    fail("{}: expected an integer >= {}, got '{}'", key, lo, v);
  return x;
}

inline double to_real(const std::string& key, const std::string& v) {
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || x < 0) fail("{}: expected a number >= 0, got '{}'", key, v);
  return x;
}

inline std::vector<int64_t> dims_of(const Shape& s) {
  std::vector<int64_t> d;
  for (int i = 0; i < s.rank; ++i) d.push_back(s[i]);
  return d;
}

// N(0, σ²) noise on every parameter, each from its own stream (so zero biases and unit gains are
// not special cases of a check).
inline void perturb(Model& m, uint64_t seed, double sigma) {
  if (sigma <= 0) return;
  for (auto& p : m.parameters().all()) {
    Rng rng(RngKey{seed, stream_id("perturb/" + p->name)}, 0);
    for (float& x : p->value) x += float(sigma * rng.normal());
  }
}

// /params/<name> and /grads/<name> of every parameter, shaped as the Parameter.
inline void write_params_and_grads(hid_t root, const Model& m) {
  const h5::Handle params = h5::create_group(root, "params");
  const h5::Handle grads = h5::create_group(root, "grads");
  for (const auto& p : m.parameters().all()) {
    h5::write(params.id(), p->name, p->value.data(), dims_of(p->shape));
    h5::write(grads.id(), p->name, p->grad.data(), dims_of(p->shape));
  }
}

}  // namespace icl::oracle

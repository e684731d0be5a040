#pragma once
// One harness for every op (ggml's test-backend-ops in spirit). An op case is a struct with
//
//   std::vector<Shape> inputs() const;        shapes of the inputs
//   Shape output() const;                     shape of the output
//   std::vector<bool> differentiable() const; which inputs get gradients (default: all)
//   template <class T> void forward(const std::vector<const T*>& in, T* out, std::vector<T>& aux)
//   const; template <class T> void backward(const std::vector<const T*>& in, const T* out, const T*
//   dout,
//                                    const std::vector<T*>& din, std::vector<T>& aux) const;
//   optional: double input(size_t which, int64_t i, double gaussian) const;  // shape the inputs
//
// `aux` is whatever the forward saves for the backward (statistics, ...). check_op() then checks:
//  1. fp32 forward against the fp64 forward, the fp32 output poisoned with NaN first, so an
//     unwritten element fails;
//  2. fp64 backward against central finite differences of L = Σ out·R (R random) on every
//     differentiable input (all elements, or a random sample of large tensors);
//  3. fp32 backward against fp64 backward;
//  4. backward accumulates: a second backward into the same buffers doubles the gradients.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/rng.h"
#include "core/tensor.h"

namespace icl::test {

struct Tolerance {
  double fwd_rel = 1e-5;    // fp32 vs fp64 forward
  double bwd_rel = 1e-4;    // fp32 vs fp64 backward
  double fd_rel = 1e-6;     // fp64 backward vs finite differences
  double fd_step = 1e-6;    // relative step of the central difference
  int64_t fd_samples = 60;  // elements checked per input
};

template <class Case>
concept HasInputShaper = requires(const Case& c) {
  c.input(size_t{0}, int64_t{0}, 0.0);
};
template <class Case>
concept HasDifferentiable = requires(const Case& c) {
  c.differentiable();
};

// Relative error of a against b, scaled by the largest magnitude of b (per tensor).
inline double rel_err(const std::vector<double>& a, const std::vector<double>& b) {
  double scale = 1e-30, err = 0;
  for (double v : b) scale = std::max(scale, std::abs(v));
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) != std::isnan(b[i])) return std::numeric_limits<double>::infinity();
    err = std::max(err, std::abs(a[i] - b[i]));
  }
  return err / scale;
}

template <class Case>
void check_op(const Case& c, const std::string& label, Tolerance tol = {}, uint64_t seed = 1) {
  SCOPED_TRACE(label);
  const std::vector<Shape> shapes = c.inputs();
  const Shape out_shape = c.output();
  std::vector<bool> diff(shapes.size(), true);
  if constexpr (HasDifferentiable<Case>) diff = c.differentiable();
  const size_t n_in = shapes.size();
  const int64_t n_out = out_shape.numel();

  Rng rng({seed, stream_id(label)}, 0);
  std::vector<std::vector<double>> in64(n_in);
  for (size_t j = 0; j < n_in; ++j) {
    in64[j].resize(size_t(shapes[j].numel()));
    for (int64_t i = 0; i < shapes[j].numel(); ++i) {
      const double z = rng.normal();
      if constexpr (HasInputShaper<Case>)
        in64[j][size_t(i)] = c.input(j, i, z);
      else
        in64[j][size_t(i)] = z;
    }
  }
  std::vector<double> r(static_cast<size_t>(n_out));
  for (auto& v : r) v = rng.normal();

  auto ptrs64 = [&](const std::vector<std::vector<double>>& v) {
    std::vector<const double*> p;
    for (const auto& x : v) p.push_back(x.data());
    return p;
  };
  auto forward64 = [&](const std::vector<std::vector<double>>& in, std::vector<double>& aux) {
    std::vector<double> out(size_t(n_out), std::nan(""));
    c.template forward<double>(ptrs64(in), out.data(), aux);
    return out;
  };
  auto loss64 = [&](const std::vector<std::vector<double>>& in) {
    std::vector<double> aux;
    const auto out = forward64(in, aux);
    double l = 0;
    for (int64_t i = 0; i < n_out; ++i) l += out[size_t(i)] * r[size_t(i)];
    return l;
  };

  // 1. forward, fp32 vs fp64
  std::vector<double> aux64;
  const std::vector<double> out64 = forward64(in64, aux64);
  std::vector<std::vector<float>> in32(n_in);
  std::vector<const float*> p32;
  for (size_t j = 0; j < n_in; ++j) {
    in32[j].assign(in64[j].begin(), in64[j].end());
    p32.push_back(in32[j].data());
  }
  std::vector<float> out32(size_t(n_out), std::numeric_limits<float>::quiet_NaN());
  std::vector<float> aux32;
  c.template forward<float>(p32, out32.data(), aux32);
  for (double v : out64) ASSERT_TRUE(std::isfinite(v)) << "fp64 forward left a non-finite output";
  EXPECT_LE(rel_err(std::vector<double>(out32.begin(), out32.end()), out64), tol.fwd_rel)
      << "forward fp32 vs fp64";

  // 2. backward fp64 vs finite differences
  std::vector<std::vector<double>> din64(n_in);
  std::vector<double*> dp64;
  for (size_t j = 0; j < n_in; ++j) {
    din64[j].assign(in64[j].size(), 0.0);
    dp64.push_back(diff[j] ? din64[j].data() : nullptr);
  }
  c.template backward<double>(ptrs64(in64), out64.data(), r.data(), dp64, aux64);
  for (size_t j = 0; j < n_in; ++j) {
    if (!diff[j]) continue;
    const int64_t n = int64_t(in64[j].size());
    double scale = 1e-30, worst = 0;
    for (double v : din64[j]) scale = std::max(scale, std::abs(v));
    const int64_t samples = std::min(n, tol.fd_samples);
    for (int64_t s = 0; s < samples; ++s) {
      const int64_t i = samples == n ? s : int64_t(rng.below(uint64_t(n)));
      auto plus = in64, minus = in64;
      const double h = tol.fd_step * std::max(1.0, std::abs(in64[j][size_t(i)]));
      plus[j][size_t(i)] += h;
      minus[j][size_t(i)] -= h;
      const double fd = (loss64(plus) - loss64(minus)) / (2 * h);
      worst = std::max(worst, std::abs(fd - din64[j][size_t(i)]));
    }
    EXPECT_LE(worst / scale, tol.fd_rel) << "backward vs finite differences, input " << j;
  }

  // 3. backward fp32 vs fp64 (gradient buffers poisoned where the op must write... it adds, so 0)
  std::vector<std::vector<float>> din32(n_in);
  std::vector<float*> dp32;
  const std::vector<float> r32(r.begin(), r.end());
  for (size_t j = 0; j < n_in; ++j) {
    din32[j].assign(in32[j].size(), 0.f);
    dp32.push_back(diff[j] ? din32[j].data() : nullptr);
  }
  c.template backward<float>(p32, out32.data(), r32.data(), dp32, aux32);
  for (size_t j = 0; j < n_in; ++j) {
    if (!diff[j]) continue;
    EXPECT_LE(rel_err(std::vector<double>(din32[j].begin(), din32[j].end()), din64[j]), tol.bwd_rel)
        << "backward fp32 vs fp64, input " << j;
  }

  // 4. accumulation: a second backward adds the same gradient again
  c.template backward<double>(ptrs64(in64), out64.data(), r.data(), dp64, aux64);
  for (size_t j = 0; j < n_in; ++j) {
    if (!diff[j]) continue;
    std::vector<double> half(din64[j]);
    for (auto& v : half) v *= 0.5;
    std::vector<double> once(in64[j].size(), 0.0);
    std::vector<double*> dp1(n_in, nullptr);
    dp1[j] = once.data();
    c.template backward<double>(ptrs64(in64), out64.data(), r.data(), dp1, aux64);
    EXPECT_LE(rel_err(half, once), 1e-12) << "backward must accumulate (+=), input " << j;
  }
}

}  // namespace icl::test

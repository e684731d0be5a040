#pragma once
// One harness for every op, on every device (ggml's test-backend-ops: one list of cases, every
// backend). An op case is a struct with
//
//   std::vector<Shape> inputs() const;        shapes of the inputs
//   Shape output() const;                     shape of the output
//   std::vector<bool> differentiable() const; which inputs get gradients (default: all)
//   template <class T> void forward(const std::vector<const T*>& in, T* out, std::vector<T>& aux)
//       const;
//   template <class T> void backward(const std::vector<const T*>& in, const T* out, const T* dout,
//                                    const std::vector<T*>& din, std::vector<T>& aux) const;
//   optional: double input(size_t which, int64_t i, double gaussian) const;  // shape the inputs
//
// `aux` is whatever the forward saves for the backward (statistics, ...). check_op() then checks
// on the CPU:
//  1. fp32 forward against the fp64 forward, the fp32 output poisoned with NaN first, so an
//     unwritten element fails;
//  2. fp64 backward against central finite differences of L = Σ out·R (R random) on every
//     differentiable input (all elements, or a random sample of large tensors);
//  3. fp32 backward against fp64 backward;
//  4. backward accumulates: a second backward into the same buffers doubles the gradients.
//
// A case whose op has a CUDA twin also declares it (in CUDA builds only, so under
// #ifdef ICL_WITH_CUDA), on device pointers, with the CPU's layouts -- aux included:
//
//   void cuda_forward(const CudaContext&, const DeviceInputs& in, float* out, float* aux) const;
//   void cuda_backward(const CudaContext&, const DeviceInputs& in, const float* out,
//                      const float* dout, const DeviceGrads& din, float* aux) const;
//   optional: CudaTolerance cuda_tolerance() const;        // default: CudaTolerance{}
//   optional: std::vector<Part> cuda_parts(Slot, size_t input, const CpuResult&) const;
//
// check_op_cuda() runs the twin on the case's very inputs (fp32) and compares it with the CPU
// (kern:: in fp32, or in fp64 on the same fp32 inputs; see the tolerance table below):
//  1. forward: output and aux start as NaN, so an unwritten element fails; each compared per
//     part (default: the whole tensor) at the part's own scale;
//  2. backward from the GPU's own output and aux (as in training), into gradients that start from
//     the same random values on both sides (of the gradient's size), so a twin that overwrote
//     instead of adding fails: the sums are compared, and so are the increments (sum − start)
//     at their own scale;
//  3. a second run from the same start gives the same bits;
//  4. optionally (CudaTolerance::each_gradient_alone), each gradient asked for alone gives the same
//     bits as with all of them, and a backward with none runs without fault.
// check_twin() is that comparison with the device run as a parameter; tests/test_op_harness.cpp
// checks it on the CPU (kern:: in fp32 as the twin, then twins with the faults it must catch).
//
// Tests declare one list of cases for both devices with ICL_OP_TEST (bottom of this file): the
// CPU checks and the CUDA twins are separate gtest results, and the CUDA one is skipped (visibly)
// without a CUDA build or a GPU.
//
// CUDA tolerances (max |gpu − ref| / max |ref| per part), the reasons behind each case's numbers:
//   0      single roundings (a + b, s·x, max(x, 0), da += dy), copies, gathers, and the embedding
//          and positional backwards (the CPU's fp32 additions in the CPU's order): both sides
//          compute the same floats. Against kern:: in fp32.
//   1e-7   one rounding of a + b against the exact (fp64) sum: within 2^-24 ≈ 6e-8; a wrong
//          element is O(1).
//   1e-6   dx += s·dy (the GPU may fuse it into one FMA: one rounding instead of two); RoPE (both
//          sides round the same double angles to float, the rotation may be contracted to FMAs on
//          either side: a few ulp); mse and logistic losses (fp64 sums in another order, the
//          device's expf / log1pf within 2 ulp of glibc).
//   1e-5   gelu (Eigen's vectorised tanh vs CUDA's tanhf differ by a few ulp); the norms, whose
//          row sums are 32 strided lane sums plus a shuffle tree (emulated in float on these
//          shapes: under 2e-6 even against the float CPU); the column sums (db, dγ, dβ, dd,
//          dA_log, dfilter, dW_h); strict fp32 GEMMs: fp32 accumulation in cuBLAS's blocked
//          order, a few ulp of the partial sums, far below 1e-5 of the largest output. The sums
//          (linear, the norms) are checked against kern:: in fp64: the float CPU sums left to
//          right, and over thousands of rows its own rounding (~N·ε of a sum of size √N) nears
//          1e-5 of the result, which would make the test judge the CPU; against fp64 only the
//          GPU's error counts. Cross-entropy (its Σ exp is a lane-strided float tree on the GPU,
//          a serial float sum on the CPU). The mixers' elementwise kernels and the RNN cells'
//          time loops (the CPU's arithmetic with the device's expf / log1pf / tanhf), and the
//          linear recurrence and delta rule against the CPU's recurrent form (the GPU fuses
//          multiply-adds and sums the state updates in the same order, the reductions in another).
//   1e-5   attention out and lse, against fp64: each output is a softmax-weighted sum of up to
//          T ~ 1000 values, accumulated in fp32 key by key with online-softmax rescaling and expf
//          (2 ulp); the error grows like √T·2^-24. Measured in an emulation of the kernels:
//          <= 3e-7.
//   1e-4   attention dq, dk, dv, against fp64: dS = P (dP − D) subtracts nearly cancelling O(1)
//          numbers, P and D come from the GPU's own fp32 out and lse, and each gradient sums T
//          such terms. Measured: <= 2e-6.
//   TF32 GEMMs (3e-3) are not the harness's: it runs strict fp32 (tests/test_cuda_dense.cpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/rng.h"
#include "core/tensor.h"
#include "tests/cuda_harness.h"

namespace icl::test {

// What the CUDA twin is compared with: kern:: in fp32 (the same arithmetic, so tolerances can be
// a few ulp or 0), or in fp64 on the same fp32 inputs (ops that sum in another order).
enum class Against { Fp32, Fp64 };

struct CudaTolerance {
  double fwd = 1e-5;  // output
  double aux = 1e-5;  // what the forward saves; < 0: not compared
  double bwd = 1e-5;  // input gradients
  Against against = Against::Fp32;
  bool each_gradient_alone = false;  // check 4 of check_op_cuda
};

struct Tolerance {
  double fwd_rel = 1e-5;    // fp32 vs fp64 forward
  double bwd_rel = 1e-4;    // fp32 vs fp64 backward
  double fd_rel = 1e-6;     // fp64 backward vs finite differences
  double fd_step = 1e-6;    // relative step of the central difference
  int64_t fd_samples = 60;  // elements checked per input
};

// A piece of a tensor the CUDA check compares at its own scale: the elements
// offset + r·stride + [0, width) for r < rows. tol < 0: the slot's tolerance.
struct Part {
  std::string name;
  int64_t offset = 0, width = 0, stride = 0, rows = 1;
  double tol = -1;
};
inline Part whole(std::string name, int64_t n, double tol = -1) {
  return {std::move(name), 0, n, n, 1, tol};
}

enum class Slot { Output, Aux, Gradient };

// The device pointers a twin gets: the inputs, and the gradients (null: not wanted).
using DeviceInputs = std::vector<const float*>;
using DeviceGrads = std::vector<float*>;

// The CPU result a CUDA twin is compared with, widened to double: inputs (the fp32 values both
// sides get), output, aux, and per input the gradient start values, start + gradient, and whether
// the gradient (from zero) has a nonzero element at all.
struct CpuResult {
  std::vector<std::vector<double>> in;
  std::vector<double> out, aux;
  std::vector<std::vector<float>> start;
  std::vector<std::vector<double>> grad;
  std::vector<bool> adds;
};

template <class Case>
concept HasInputShaper = requires(const Case& c) {
  c.input(size_t{0}, int64_t{0}, 0.0);
};
template <class Case>
concept HasDifferentiable = requires(const Case& c) {
  c.differentiable();
};
template <class Case>
concept HasCudaTwin = requires(const Case& c, const CudaContext& cx,
                               const std::vector<const float*>& in, float* p, const float* cp,
                               const std::vector<float*>& din) {
  c.cuda_forward(cx, in, p, p);
  c.cuda_backward(cx, in, cp, cp, din, p);
};
template <class Case>
concept HasCudaTolerance = requires(const Case& c) {
  { c.cuda_tolerance() } -> std::convertible_to<CudaTolerance>;
};
template <class Case>
concept HasCudaParts = requires(const Case& c, const CpuResult& r) {
  { c.cuda_parts(Slot::Output, size_t{0}, r) } -> std::convertible_to<std::vector<Part>>;
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
std::vector<bool> differentiable_inputs(const Case& c) {
  if constexpr (HasDifferentiable<Case>)
    return c.differentiable();
  else
    return std::vector<bool>(c.inputs().size(), true);
}

// The case's inputs in fp64 (shaped by input() where the case has it), then the weights R of
// L = Σ out·R, drawn from rng in that order: check_op and check_op_cuda see the same values.
struct OpDraw {
  std::vector<std::vector<double>> in;
  std::vector<double> r;
};
template <class Case>
OpDraw draw_inputs(const Case& c, Rng& rng) {
  const std::vector<Shape> shapes = c.inputs();
  OpDraw d;
  d.in.resize(shapes.size());
  for (size_t j = 0; j < shapes.size(); ++j) {
    d.in[j].resize(size_t(shapes[j].numel()));
    for (int64_t i = 0; i < shapes[j].numel(); ++i) {
      const double z = rng.normal();
      if constexpr (HasInputShaper<Case>)
        d.in[j][size_t(i)] = c.input(j, i, z);
      else
        d.in[j][size_t(i)] = z;
    }
  }
  d.r.resize(size_t(c.output().numel()));
  for (auto& v : d.r) v = rng.normal();
  return d;
}

template <class Case>
void check_op(const Case& c, const std::string& label, Tolerance tol = {}, uint64_t seed = 1) {
  SCOPED_TRACE(label);
  const std::vector<bool> diff = differentiable_inputs(c);
  const int64_t n_out = c.output().numel();

  Rng rng({seed, stream_id(label)}, 0);
  OpDraw draw = draw_inputs(c, rng);
  const std::vector<std::vector<double>>& in64 = draw.in;
  const std::vector<double>& r = draw.r;
  const size_t n_in = in64.size();

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

// --- the CUDA twin against the CPU ------------------------------------------------------------

// kern:: in precision T on the fp32 inputs: output, aux, and the gradients from start values the
// size of the gradient itself (N(0, 1) times its largest magnitude), so that a comparison of the
// sums sees what the op added.
template <class T, class Case>
CpuResult cpu_reference(const Case& c, const std::vector<std::vector<float>>& in32,
                        const std::vector<float>& r32, const std::vector<bool>& diff,
                        Rng& start_rng) {
  const size_t n_in = in32.size();
  CpuResult res;
  std::vector<std::vector<T>> in(n_in);
  std::vector<const T*> ip;
  for (size_t j = 0; j < n_in; ++j) {
    in[j].assign(in32[j].begin(), in32[j].end());
    ip.push_back(in[j].data());
    res.in.emplace_back(in32[j].begin(), in32[j].end());
  }
  std::vector<T> out(size_t(c.output().numel()), std::numeric_limits<T>::quiet_NaN()), aux;
  c.template forward<T>(ip, out.data(), aux);
  res.out.assign(out.begin(), out.end());
  res.aux.assign(aux.begin(), aux.end());
  const std::vector<T> dout(r32.begin(), r32.end());

  std::vector<std::vector<T>> g(n_in);
  std::vector<T*> gp(n_in, nullptr);
  for (size_t j = 0; j < n_in; ++j) {
    g[j].assign(in32[j].size(), T(0));
    if (diff[j]) gp[j] = g[j].data();
  }
  c.template backward<T>(ip, out.data(), dout.data(), gp, aux);
  res.start.resize(n_in);
  res.grad.resize(n_in);
  res.adds.assign(n_in, false);
  for (size_t j = 0; j < n_in; ++j) {
    if (!diff[j]) continue;
    double scale = 0;
    for (T v : g[j]) scale = std::max(scale, std::abs(double(v)));
    res.adds[j] = scale > 0;
    if (scale == 0) scale = 1;
    res.start[j].resize(g[j].size());
    for (auto& v : res.start[j]) v = float(scale * start_rng.normal());
    if constexpr (std::is_same_v<T, double>) {
      // Exact enough in fp64: start + gradient, as a second backward from the start would give.
      res.grad[j].resize(g[j].size());
      for (size_t i = 0; i < g[j].size(); ++i) res.grad[j][i] = double(res.start[j][i]) + g[j][i];
    } else {
      // In fp32 the op's own additions into the start values are the reference (tolerance 0).
      g[j].assign(res.start[j].begin(), res.start[j].end());
    }
  }
  if constexpr (!std::is_same_v<T, double>) {
    c.template backward<T>(ip, out.data(), dout.data(), gp, aux);
    for (size_t j = 0; j < n_in; ++j)
      if (diff[j]) res.grad[j].assign(g[j].begin(), g[j].end());
  }
  return res;
}

struct GpuResult {
  std::vector<float> out, aux;
  std::vector<std::vector<float>> grad;  // empty where no gradient was asked for
};

// The twin's forward and backward on fresh device buffers: output and aux poisoned (NaN), the
// gradients of the inputs in `wanted` starting from the start values, the others null.
template <class Case>
GpuResult cuda_run(const Case& c, const std::vector<std::vector<float>>& in32,
                   const std::vector<float>& r32, const CpuResult& ref,
                   const std::vector<bool>& wanted) {
  const CudaContext& cx = ctx();
  const size_t n_in = in32.size();
  std::vector<std::unique_ptr<DeviceBuffer>> d_in, d_grad(n_in);
  std::vector<const float*> ip;
  std::vector<float*> gp(n_in, nullptr);
  for (size_t j = 0; j < n_in; ++j) {
    d_in.push_back(std::make_unique<DeviceBuffer>(in32[j]));
    ip.push_back(d_in.back()->get());
    if (wanted[j]) {
      d_grad[j] = std::make_unique<DeviceBuffer>(ref.start[j]);
      gp[j] = d_grad[j]->get();
    }
  }
  DeviceBuffer out(size_t(c.output().numel())), aux(ref.aux.size()), dout(r32);
  c.cuda_forward(cx, ip, out.get(), aux.get());
  c.cuda_backward(cx, ip, out.get(), dout.get(), gp, aux.get());
  cx.synchronize();
  GpuResult r{out.download(), aux.download(), std::vector<std::vector<float>>(n_in)};
  for (size_t j = 0; j < n_in; ++j)
    if (d_grad[j]) r.grad[j] = d_grad[j]->download();
  return r;
}

// The CPU's own fp32 kernels in the place of a twin, on host memory: what the harness's self-test
// (tests/test_op_harness.cpp) feeds check_twin, so that its comparisons are checked without a GPU.
template <class Case>
GpuResult cpu_as_twin(const Case& c, const std::vector<std::vector<float>>& in32,
                      const std::vector<float>& r32, const CpuResult& ref,
                      const std::vector<bool>& wanted) {
  const size_t n_in = in32.size();
  std::vector<const float*> ip;
  for (const auto& x : in32) ip.push_back(x.data());
  GpuResult r{
      std::vector<float>(size_t(c.output().numel()), std::numeric_limits<float>::quiet_NaN()),
      {},
      std::vector<std::vector<float>>(n_in)};
  c.template forward<float>(ip, r.out.data(), r.aux);
  std::vector<float*> gp(n_in, nullptr);
  for (size_t j = 0; j < n_in; ++j)
    if (wanted[j]) {
      r.grad[j] = ref.start[j];
      gp[j] = r.grad[j].data();
    }
  // kern:: backwards need not take a call with no gradient at all (the twins must).
  if (std::find(wanted.begin(), wanted.end(), true) != wanted.end())
    c.template backward<float>(ip, r.out.data(), r32.data(), gp, r.aux);
  return r;
}

// One part of `got` against `ref`: max |got − ref| / max |ref| <= tol, and NaN exactly where ref
// is NaN (so poison left behind fails).
inline void expect_part(const std::vector<double>& got, const std::vector<double>& ref,
                        const Part& p, double tol, const std::string& what) {
  ASSERT_EQ(got.size(), ref.size()) << what;
  double scale = 1e-30, err = 0, got_worst = 0, ref_worst = 0;
  int64_t worst = -1;
  for (int64_t r = 0; r < p.rows; ++r)
    for (int64_t k = 0; k < p.width; ++k) {
      const size_t i = size_t(p.offset + r * p.stride + k);
      ASSERT_LT(i, ref.size()) << what << ": part " << p.name << " outside the tensor";
      if (std::isnan(got[i]) != std::isnan(ref[i])) {
        ADD_FAILURE() << what << " " << p.name << ": element " << i << " is " << got[i]
                      << " on the GPU, " << ref[i] << " on the CPU (unwritten?)";
        return;
      }
      if (std::isnan(ref[i])) continue;
      scale = std::max(scale, std::abs(ref[i]));
      const double e = std::abs(got[i] - ref[i]);
      if (e > err || worst < 0) err = e, worst = int64_t(i), got_worst = got[i], ref_worst = ref[i];
    }
  EXPECT_LE(err / scale, tol) << what << " " << p.name << ": worst element " << worst << " gpu "
                              << got_worst << " cpu " << ref_worst << " (scale " << scale << ")";
}

inline std::vector<double> widened(const std::vector<float>& v) { return {v.begin(), v.end()}; }

inline bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

// The comparison of check_op_cuda, with the device run as a parameter:
// twin_run(in32, r32, ref, wanted) -> GpuResult.
template <class Case, class TwinRun>
void check_twin(const Case& c, const std::string& label, uint64_t seed, TwinRun twin_run) {
  CudaTolerance tol;
  if constexpr (HasCudaTolerance<Case>) tol = c.cuda_tolerance();
  const std::vector<bool> diff = differentiable_inputs(c);

  Rng rng({seed, stream_id(label)}, 0);
  const OpDraw draw = draw_inputs(c, rng);
  const size_t n_in = draw.in.size();
  std::vector<std::vector<float>> in32(n_in);
  for (size_t j = 0; j < n_in; ++j) in32[j].assign(draw.in[j].begin(), draw.in[j].end());
  const std::vector<float> r32(draw.r.begin(), draw.r.end());
  Rng start_rng({seed, stream_id(label + " gradient start")}, 0);
  const CpuResult ref = tol.against == Against::Fp64
                            ? cpu_reference<double>(c, in32, r32, diff, start_rng)
                            : cpu_reference<float>(c, in32, r32, diff, start_rng);

  auto parts = [&](Slot slot, size_t j, int64_t n, const char* name, double slot_tol) {
    std::vector<Part> ps;
    if constexpr (HasCudaParts<Case>) ps = c.cuda_parts(slot, j, ref);
    if (ps.empty()) ps = {whole(name, n)};
    for (Part& p : ps)
      if (p.tol < 0) p.tol = slot_tol;
    return ps;
  };

  const GpuResult gpu = twin_run(in32, r32, ref, diff);
  for (const Part& p : parts(Slot::Output, 0, int64_t(ref.out.size()), "output", tol.fwd))
    expect_part(widened(gpu.out), ref.out, p, p.tol, "forward");
  if (tol.aux >= 0)
    for (const Part& p : parts(Slot::Aux, 0, int64_t(ref.aux.size()), "aux", tol.aux))
      expect_part(widened(gpu.aux), ref.aux, p, p.tol, "forward, saved for the backward");
  for (size_t j = 0; j < n_in; ++j) {
    if (!diff[j]) continue;
    const std::string what = "gradient of input " + std::to_string(j);
    const std::vector<double> got = widened(gpu.grad[j]);
    std::vector<double> got_inc(got.size()), ref_inc(got.size());
    for (size_t i = 0; i < got.size(); ++i) {
      got_inc[i] = got[i] - double(ref.start[j][i]);
      ref_inc[i] = ref.grad[j][i] - double(ref.start[j][i]);
    }
    for (const Part& p : parts(Slot::Gradient, j, int64_t(got.size()), "", tol.bwd)) {
      expect_part(got, ref.grad[j], p, p.tol, what + " (start + gradient)");
      // A gradient that is exactly zero has no scale of its own (what a twin adds to the start
      // values is then rounding): the sums above are its check, bit for bit at tolerance 0.
      if (ref.adds[j]) expect_part(got_inc, ref_inc, p, p.tol, what + " (the increment)");
    }
  }

  const GpuResult again = twin_run(in32, r32, ref, diff);
  EXPECT_TRUE(same_bits(gpu.out, again.out)) << "output differs between two runs";
  EXPECT_TRUE(same_bits(gpu.aux, again.aux)) << "aux differs between two runs";
  for (size_t j = 0; j < n_in; ++j)
    EXPECT_TRUE(same_bits(gpu.grad[j], again.grad[j]))
        << "gradient of input " << j << " differs between two runs";

  if (tol.each_gradient_alone) {
    for (size_t j = 0; j < n_in; ++j) {
      if (!diff[j]) continue;
      std::vector<bool> only(n_in, false);
      only[j] = true;
      EXPECT_TRUE(same_bits(twin_run(in32, r32, ref, only).grad[j], gpu.grad[j]))
          << "gradient of input " << j << " alone differs from it with the others";
    }
    twin_run(in32, r32, ref, std::vector<bool>(n_in, false));  // no gradient: runs, no fault
  }
}

template <class Case>
void check_op_cuda(const Case& c, const std::string& label, uint64_t seed = 1) {
  SCOPED_TRACE(label + " (CUDA twin against the CPU)");
  check_twin(c, label, seed,
             [&](const std::vector<std::vector<float>>& in32, const std::vector<float>& r32,
                 const CpuResult& ref,
                 const std::vector<bool>& wanted) { return cuda_run(c, in32, r32, ref, wanted); });
}

// --- one list of cases, every backend ---------------------------------------------------------

enum class Backend { Cpu, Cuda };

// What an ICL_OP_TEST body calls for each case: `run(case, label[, tol])` checks it on the
// backend of this gtest result (the CPU checks, or the CUDA twin against the CPU);
// `run.cuda_only(...)` is for shapes that exist for the GPU's launch paths (grid caps, tiles,
// shared-memory limits) and would make the fp64 finite differences slow; `run.cpu_only(...)` for a
// case the twin does not implement (another algorithm of the CPU op, such as the chunked form).
class OpRunner {
 public:
  explicit OpRunner(Backend b) : backend_(b) {}
  Backend backend() const { return backend_; }
  int checked() const { return checked_; }

  template <class Case>
  void operator()(const Case& c, const std::string& label, const Tolerance& tol = {},
                  uint64_t seed = 1) const {
    if (backend_ == Backend::Cpu)
      cpu_only(c, label, tol, seed);
    else
      cuda_only(c, label, seed);
  }
  template <class Case>
  void cpu_only(const Case& c, const std::string& label, const Tolerance& tol = {},
                uint64_t seed = 1) const {
    if (backend_ != Backend::Cpu) return;
    ++checked_;
    check_op(c, label, tol, seed);
  }
  template <class Case>
  void cuda_only(const Case& c, const std::string& label, uint64_t seed = 1) const {
#ifdef ICL_WITH_CUDA
    static_assert(HasCudaTwin<Case>, "a case without a CUDA twin is run.cpu_only(...)");
    if (backend_ != Backend::Cuda) return;
    ++checked_;
    check_op_cuda(c, label, seed);
#else
    (void)c, (void)label, (void)seed;
#endif
  }

 private:
  Backend backend_;
  mutable int checked_ = 0;
};

}  // namespace icl::test

// One list of op cases, two gtest results:
//   ICL_OP_TEST(OpLinear, Linear) { run(LinearCase{7, 5, 3}, "linear 7x5x3"); ... }
// defines OpLinear.Linear, the CPU checks of every case (check_op), and OpLinear.LinearOnCuda,
// every case's CUDA twin against the CPU (check_op_cuda), skipped without a CUDA build or a GPU.
// The name of the second contains "Cuda", which is how scripts/gpu_check.sh selects GPU tests.
#define ICL_OP_TEST(Suite, Name)                                                            \
  void Suite##_##Name##_cases(const ::icl::test::OpRunner& run);                            \
  TEST(Suite, Name) {                                                                       \
    const ::icl::test::OpRunner run(::icl::test::Backend::Cpu);                             \
    Suite##_##Name##_cases(run);                                                            \
    EXPECT_GT(run.checked(), 0) << "no case runs on the CPU";                               \
  }                                                                                         \
  TEST(Suite, Name##OnCuda) {                                                               \
    ICL_REQUIRE_GPU();                                                                      \
    const ::icl::test::OpRunner run(::icl::test::Backend::Cuda);                            \
    Suite##_##Name##_cases(run);                                                            \
    EXPECT_GT(run.checked(), 0) << "no case has a CUDA twin: declare it with a plain TEST"; \
  }                                                                                         \
  void Suite##_##Name##_cases(const ::icl::test::OpRunner& run)

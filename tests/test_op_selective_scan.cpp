// Mamba-1's selective scan (kernels/selective_scan.h): through the op harness in both forms (fp32
// vs fp64, fp64 backward vs finite differences, accumulation; the CUDA twin against the CPU's
// recurrent form), the chunked form against the recurrent one, and both against the scan written
// out element by element in double.
#include <gtest/gtest.h>

#include <omp.h>

#include <cmath>

#include "kernels/selective_scan.h"
#include "tests/op_harness.h"

namespace icl {
namespace {

using test::DeviceGrads;
using test::DeviceInputs;

// Inputs x [B, T, E], Δ [B, T, E] (positive: softplus outputs), A_log [E, N], B and C [B, T, N];
// aux holds the saved chunk states [B·E, chunks, N].
struct ScanCase {
  ScanDims d;
  bool negative = false;
  RecurrenceForm form = RecurrenceForm::Recurrent;
  std::vector<Shape> inputs() const {
    return {{d.B, d.T, d.E}, {d.B, d.T, d.E}, {d.E, d.N}, {d.B, d.T, d.N}, {d.B, d.T, d.N}};
  }
  Shape output() const { return {d.B, d.T, d.E}; }
  // Step sizes in [0.05, 1.5] and rates exp(A_log) in about [0.3, 3], so that the transitions
  // spread over (0, 1) (and (−1, 1) when negative) without vanishing.
  double input(size_t which, int64_t, double z) const {
    if (which == 1) return 0.05 + 1.45 / (1 + std::exp(-z));
    if (which == 2) return 0.4 * z;
    return z;
  }
  template <class T>
  void forward(const std::vector<const T*>& in, T* y, std::vector<T>& aux) const {
    aux.assign(size_t(d.B * d.E * d.chunks() * d.N), T(0));
    kern::selective_scan_forward(y, aux.data(), in[0], in[1], in[2], in[3], in[4], d, negative,
                                 form);
  }
  template <class T>
  void backward(const std::vector<const T*>& in, const T*, const T* dy, const std::vector<T*>& din,
                std::vector<T>& aux) const {
    std::vector<T> partial(size_t(d.B * d.E * d.N));
    kern::selective_scan_backward(din[0], din[1], din[2], din[3], din[4], partial.data(), dy, in[0],
                                  in[1], in[2], in[3], in[4], aux.data(), d, negative, form);
  }
#ifdef ICL_WITH_CUDA
  void cuda_forward(const CudaContext& cx, const DeviceInputs& in, float* y, float* aux) const {
    cuda::selective_scan_forward(cx, y, aux, in[0], in[1], in[2], in[3], in[4], d, negative);
  }
  void cuda_backward(const CudaContext& cx, const DeviceInputs& in, const float*, const float* dy,
                     const DeviceGrads& din, float* aux) const {
    test::DeviceBuffer scratch(size_t(cuda::selective_scan_scratch(d)));
    cuda::selective_scan_backward(cx, din[0], din[1], din[2], din[3], din[4], dy, in[0], in[1],
                                  in[2], in[3], in[4], aux, scratch.get(), d, negative);
    cx.synchronize();  // before the scratch is freed
  }
  // Against fp64: the GPU sums dB, dC over channels and dA_log over rows in another order than the
  // CPU, and uses the device's expf; each gradient alone gives the same bits.
  test::CudaTolerance cuda_tolerance() const {
    return {.fwd = 1e-5,
            .aux = 1e-5,
            .bwd = 2e-5,
            .against = test::Against::Fp64,
            .each_gradient_alone = true};
  }
#endif
};

// The scan written out in double, one (b, e) at a time: y [B, T, E].
std::vector<double> naive_scan(const ScanDims& d, bool negative, const std::vector<double>& x,
                               const std::vector<double>& dt, const std::vector<double>& a_log,
                               const std::vector<double>& Bm, const std::vector<double>& Cm) {
  std::vector<double> y(x.size());
  for (int64_t b = 0; b < d.B; ++b)
    for (int64_t e = 0; e < d.E; ++e) {
      std::vector<double> h(size_t(d.N), 0.0);
      for (int64_t t = 0; t < d.T; ++t) {
        const size_t i = size_t((b * d.T + t) * d.E + e);
        double acc = 0;
        for (int64_t n = 0; n < d.N; ++n) {
          double a = std::exp(-dt[i] * std::exp(a_log[size_t(e * d.N + n)]));
          if (negative) a = 2 * a - 1;
          const size_t bn = size_t((b * d.T + t) * d.N + n);
          h[size_t(n)] = a * h[size_t(n)] + dt[i] * x[i] * Bm[bn];
          acc += Cm[bn] * h[size_t(n)];
        }
        y[i] = acc;
      }
    }
  return y;
}

ICL_OP_TEST(OpSelectiveScan, BothFormsAndEigenvalueRanges) {
  for (const bool negative : {false, true})
    for (const auto form : {RecurrenceForm::Recurrent, RecurrenceForm::Chunked}) {
      const std::string label = std::string(negative ? "negative" : "positive") +
                                (form == RecurrenceForm::Chunked ? ", chunked" : ", recurrent");
      // Chunks of 4 over 11 steps: a partial last chunk; two rows, three channels.
      run(ScanCase{{2, 11, 3, 4, 4}, negative, form}, label);
      run(ScanCase{{1, 5, 2, 1, 8}, negative, form}, label + ", one state, one chunk");
    }
  // The twin's blocks of 32 channels: one partial block, and several with a partial last one.
  run.cuda_only(ScanCase{{3, 70, 45, 16, 16}, true}, "E=45 N=16 T=70");
  run.cuda_only(ScanCase{{2, 33, 100, 5, 64}, false}, "E=100 N=5 T=33");
}

TEST(OpSelectiveScan, FormsAgreeWithEachOtherAndTheNaiveScan) {
  Rng rng({5, stream_id("selective scan")}, 0);
  for (const bool negative : {false, true}) {
    SCOPED_TRACE(negative ? "negative" : "positive");
    const ScanDims d{3, 37, 5, 6, 8};
    const ScanCase c{d, negative};
    std::vector<std::vector<double>> in;
    for (size_t k = 0; k < 5; ++k) {
      std::vector<double> v(size_t(c.inputs()[k].numel()));
      for (auto& z : v) z = c.input(k, 0, rng.normal());
      in.push_back(v);
    }
    const std::vector<double> want = naive_scan(d, negative, in[0], in[1], in[2], in[3], in[4]);
    std::vector<const double*> p;
    for (const auto& v : in) p.push_back(v.data());
    std::vector<double> aux_r, aux_c, y_r(want.size()), y_c(want.size());
    ScanCase{d, negative, RecurrenceForm::Recurrent}.forward(p, y_r.data(), aux_r);
    ScanCase{d, negative, RecurrenceForm::Chunked}.forward(p, y_c.data(), aux_c);
    double scale = 0;
    for (double v : want) scale = std::max(scale, std::abs(v));
    for (size_t i = 0; i < want.size(); ++i) {
      ASSERT_NEAR(y_r[i], want[i], 1e-12 * scale) << i;
      ASSERT_NEAR(y_c[i], want[i], 1e-12 * scale) << i;
    }
    for (size_t i = 0; i < aux_r.size(); ++i) ASSERT_NEAR(aux_c[i], aux_r[i], 1e-12 * scale) << i;
    // Gradients of both forms from the same dy.
    std::vector<double> dy(want.size());
    for (auto& v : dy) v = rng.normal();
    auto grads = [&](RecurrenceForm form, std::vector<double>& aux) {
      std::vector<std::vector<double>> g;
      std::vector<double*> gp;
      for (const auto& v : in) g.emplace_back(v.size(), 0.0);
      for (auto& v : g) gp.push_back(v.data());
      ScanCase{d, negative, form}.backward<double>(p, nullptr, dy.data(), gp, aux);
      return g;
    };
    const auto gr = grads(RecurrenceForm::Recurrent, aux_r),
               gc = grads(RecurrenceForm::Chunked, aux_c);
    for (size_t k = 0; k < gr.size(); ++k) {
      double s = 0;
      for (double v : gr[k]) s = std::max(s, std::abs(v));
      ASSERT_GT(s, 0.0) << "input " << k;
      for (size_t i = 0; i < gr[k].size(); ++i) ASSERT_NEAR(gc[k][i], gr[k][i], 1e-11 * s) << k;
    }
  }
}

// Results do not depend on the thread count (rows run in fixed order per thread, dA_log summed
// over rows in order afterwards).
TEST(OpSelectiveScan, GradientsBitIdenticalAcrossThreadCounts) {
  const ScanDims d{6, 20, 4, 3, 8};
  const ScanCase c{d, true};
  Rng rng({6, stream_id("selective scan threads")}, 0);
  std::vector<std::vector<float>> in;
  for (size_t k = 0; k < 5; ++k) {
    std::vector<float> v(size_t(c.inputs()[k].numel()));
    for (auto& z : v) z = float(c.input(k, 0, rng.normal()));
    in.push_back(v);
  }
  std::vector<const float*> p;
  for (const auto& v : in) p.push_back(v.data());
  auto run_with = [&](int threads) {
    const int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
    std::vector<float> y(size_t(d.B * d.T * d.E)), aux;
    c.forward(p, y.data(), aux);
    std::vector<std::vector<float>> g;
    std::vector<float*> gp;
    for (const auto& v : in) g.emplace_back(v.size(), 0.f);
    for (auto& v : g) gp.push_back(v.data());
    c.backward(p, y.data(), y.data(), gp, aux);
    g.push_back(y);
    omp_set_num_threads(saved);
    return g;
  };
  EXPECT_EQ(run_with(1), run_with(2));
}

}  // namespace
}  // namespace icl

// The causal depthwise convolution (kernels/long_conv.h): hand-worked cases with long, exact and
// short filters, a plain-loop reference with gradients by finite differences of it, the op
// harness, thread-count independence and the graph wrapper.
#include <omp.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "core/arena.h"
#include "core/rng.h"
#include "kernels/long_conv.h"
#include "tests/op_harness.h"

namespace icl {
namespace {

struct ConvRun {
  std::vector<double> y, dx, dfilter;
};

template <class T>
ConvRun run(const std::vector<double>& x, const std::vector<double>& filter,
            const std::vector<double>& dy, const ConvDims& d,
            ConvMethod method = ConvMethod::Direct) {
  const std::vector<T> xt(x.begin(), x.end()), ft(filter.begin(), filter.end()),
      dyt(dy.begin(), dy.end());
  std::vector<T> y(x.size(), std::numeric_limits<T>::quiet_NaN()), dx(x.size(), T(0)),
      df(filter.size(), T(0));
  kern::long_conv_forward(y.data(), xt.data(), ft.data(), d, method);
  kern::long_conv_backward(dx.data(), df.data(), dyt.data(), xt.data(), ft.data(), d, method);
  return {{y.begin(), y.end()}, {dx.begin(), dx.end()}, {df.begin(), df.end()}};
}

// Written from the definition, independently of the kernel: every tap of the filter, with the
// causal cut-off done by the index test.
std::vector<double> naive(const std::vector<double>& x, const std::vector<double>& filter,
                          const ConvDims& d) {
  std::vector<double> y(x.size(), 0.0);
  for (int64_t b = 0; b < d.B; ++b)
    for (int64_t t = 0; t < d.T; ++t)
      for (int64_t c = 0; c < d.C; ++c)
        for (int64_t s = 0; s < d.T; ++s)
          if (s <= t && t - s < d.L)
            y[size_t((b * d.T + t) * d.C + c)] +=
                filter[size_t(c * d.L + t - s)] * x[size_t((b * d.T + s) * d.C + c)];
  return y;
}

std::vector<double> normals(int64_t n, uint64_t seed, const char* what) {
  Rng rng({seed, stream_id(what)}, 0);
  std::vector<double> v(static_cast<size_t>(n));
  for (auto& e : v) e = rng.normal();
  return v;
}

// T = 3, one channel, x = (1, 0, −1), dy = (1, 1, 1). Filter (1, 2, 3): y = (1, 2, 3 − 1),
// dx_s = Σ_{k < 3 − s} h_k = (6, 3, 1), dh_k = Σ_{t ≥ k} x_{t−k} = (0, 1, 1). A short filter
// (1, 2) drops tap 2: y_2 = −1 + 0, dx = (3, 3, 1). A filter (1, 2, 3, 4, 5) longer than the
// sequence acts like (1, 2, 3) and its taps 3, 4 get zero gradient.
TEST(OpLongConv, HandComputed) {
  const std::vector<double> x{1, 0, -1}, dy{1, 1, 1};
  ConvRun r = run<double>(x, {1, 2, 3}, dy, {1, 3, 1, 3});
  EXPECT_EQ(r.y, (std::vector<double>{1, 2, 2}));
  EXPECT_EQ(r.dx, (std::vector<double>{6, 3, 1}));
  EXPECT_EQ(r.dfilter, (std::vector<double>{0, 1, 1}));
  r = run<double>(x, {1, 2}, dy, {1, 3, 1, 2});
  EXPECT_EQ(r.y, (std::vector<double>{1, 2, -1}));
  EXPECT_EQ(r.dx, (std::vector<double>{3, 3, 1}));
  EXPECT_EQ(r.dfilter, (std::vector<double>{0, 1}));
  r = run<double>(x, {1, 2, 3, 4, 5}, dy, {1, 3, 1, 5});
  EXPECT_EQ(r.y, (std::vector<double>{1, 2, 2}));
  EXPECT_EQ(r.dx, (std::vector<double>{6, 3, 1}));
  EXPECT_EQ(r.dfilter, (std::vector<double>{0, 1, 1, 0, 0}));
}

// Two channels, T = 2: x[t, c] = {{1, 10}, {2, 20}}, filter[c, k] = {{0.5, −1}, {2, 0.25}},
// dy[t, c] = {{1, 0}, {0, 1}}. The channels never mix: y = {{0.5, 20}, {1 − 1, 40 + 2.5}},
// dx = {{0.5, 0.25}, {0, 2}}, dfilter = {{1, 0}, {20, 10}}.
TEST(OpLongConv, HandComputedTwoChannels) {
  const ConvRun r = run<double>({1, 10, 2, 20}, {0.5, -1, 2, 0.25}, {1, 0, 0, 1}, {1, 2, 2, 2});
  EXPECT_EQ(r.y, (std::vector<double>{0.5, 20, 1 - 1, 40 + 2.5}));
  EXPECT_EQ(r.dx, (std::vector<double>{0.5, 0.25, 0, 2}));
  EXPECT_EQ(r.dfilter, (std::vector<double>{1, 0, 20, 10}));
}

TEST(OpLongConv, MatchesNaiveReference) {
  double worst_fwd = 0, worst_grad = 0;
  for (int64_t Tn : {1, 2, 63, 100})
    for (int64_t L : {int64_t(4), Tn, Tn + 7}) {
      SCOPED_TRACE(fmt::format("T={} L={}", Tn, L));
      const ConvDims d{2, Tn, 19, L};
      const auto x = normals(d.B * d.T * d.C, uint64_t(Tn * 100 + L), "x"),
                 f = normals(d.C * d.L, uint64_t(Tn * 100 + L), "filter"),
                 dy = normals(d.B * d.T * d.C, uint64_t(Tn * 100 + L), "dy");
      const ConvRun r = run<double>(x, f, dy, d);
      const double ef = test::rel_err(r.y, naive(x, f, d));
      EXPECT_LE(ef, 1e-14);
      worst_fwd = std::max(worst_fwd, ef);
      auto loss = [&](const std::vector<double>& xv, const std::vector<double>& fv) {
        const auto y = naive(xv, fv, d);
        double l = 0;
        for (size_t i = 0; i < y.size(); ++i) l += y[i] * dy[i];
        return l;
      };
      Rng pick({uint64_t(Tn), stream_id("fd picks")}, 0);
      for (int which = 0; which < 2; ++which) {
        const std::vector<double>& base = which == 0 ? x : f;
        const std::vector<double>& grad = which == 0 ? r.dx : r.dfilter;
        double scale = 1e-30, worst = 0;
        for (double v : grad) scale = std::max(scale, std::abs(v));
        for (int s = 0; s < 24; ++s) {
          const size_t i = size_t(pick.below(base.size()));
          std::vector<double> plus = base, minus = base;
          plus[i] += 1e-3;
          minus[i] -= 1e-3;
          const double fd = which == 0 ? (loss(plus, f) - loss(minus, f)) / 2e-3
                                       : (loss(x, plus) - loss(x, minus)) / 2e-3;
          worst = std::max(worst, std::abs(fd - grad[i]));
        }
        EXPECT_LE(worst / scale, 1e-8) << (which == 0 ? "dx" : "dfilter");
        worst_grad = std::max(worst_grad, worst / scale);
      }
    }
  std::printf("long conv vs naive reference: forward %.2e, gradients vs FD %.2e\n", worst_fwd,
              worst_grad);
}

struct ConvOpCase {
  ConvDims d;
  ConvMethod method = ConvMethod::Direct;
  std::vector<Shape> inputs() const { return {{d.B, d.T, d.C}, {d.C, d.L}}; }
  Shape output() const { return {d.B, d.T, d.C}; }
  template <class T>
  void forward(const std::vector<const T*>& x, T* y, std::vector<T>&) const {
    kern::long_conv_forward(y, x[0], x[1], d, method);
  }
  template <class T>
  void backward(const std::vector<const T*>& x, const T*, const T* dy, const std::vector<T*>& dx,
                std::vector<T>&) const {
    kern::long_conv_backward(dx[0], dx[1], dy, x[0], x[1], d, method);
  }
#ifdef ICL_WITH_CUDA
  // The twin is the direct form (its reference: method Direct); dfilter is a column sum over the
  // rows in another order: 1e-5 against kern:: in fp32.
  void cuda_forward(const CudaContext& cx, const test::DeviceInputs& x, float* y, float*) const {
    cuda::long_conv_forward(cx, y, x[0], x[1], d);
  }
  void cuda_backward(const CudaContext& cx, const test::DeviceInputs& x, const float*,
                     const float* dy, const test::DeviceGrads& dx, float*) const {
    cuda::long_conv_backward(cx, dx[0], dx[1], dy, x[0], x[1], d);
  }
#endif
};

const char* method_name(ConvMethod m) { return m == ConvMethod::Fft ? "fft" : "direct"; }

ICL_OP_TEST(OpLongConv, LongConv) {
  for (ConvMethod m : {ConvMethod::Direct, ConvMethod::Fft})
    for (int64_t Tn : {1, 5, 17})
      for (int64_t C : {3, 19})
        for (int64_t L : {int64_t(3), Tn, Tn + 4}) {
          const ConvOpCase c{{2, Tn, C, L}, m};
          const std::string label =
              fmt::format("long conv {} T={} C={} L={}", method_name(m), Tn, C, L);
          if (m == ConvMethod::Direct)
            run(c, label);
          else
            run.cpu_only(c, label);  // the CUDA twin is the direct form
        }
  // Short filters (Mamba's width 4), filters longer than the sequence, a single tap, T = 1.
  for (const ConvDims d : {ConvDims{1, 1, 1, 1}, ConvDims{3, 37, 5, 4}, ConvDims{2, 50, 7, 64},
                           ConvDims{2, 301, 33, 301}, ConvDims{5, 9, 3, 1}})
    run.cuda_only(ConvOpCase{d}, fmt::format("long conv B={} T={} C={} L={}", d.B, d.T, d.C, d.L));
}

// The FFT method against the direct sums: fp64 to rounding, and fp32 FFT against fp64 direct.
TEST(OpLongConv, FftMatchesDirect) {
  double worst64 = 0, worst32 = 0;
  const char* names[] = {"y", "dx", "dfilter"};
  for (int64_t Tn : {1, 2, 63, 100, 257, 1000})
    for (int64_t L : {int64_t(4), Tn, Tn + 7}) {
      SCOPED_TRACE(fmt::format("T={} L={}", Tn, L));
      const ConvDims d{2, Tn, 5, L};
      const auto x = normals(d.B * d.T * d.C, uint64_t(Tn + L), "x"),
                 f = normals(d.C * d.L, uint64_t(Tn + L), "filter"),
                 dy = normals(d.B * d.T * d.C, uint64_t(Tn + L), "dy");
      const ConvRun ref = run<double>(x, f, dy, d);
      const ConvRun f64 = run<double>(x, f, dy, d, ConvMethod::Fft),
                    f32 = run<float>(x, f, dy, d, ConvMethod::Fft);
      const std::vector<double>* a64[] = {&f64.y, &f64.dx, &f64.dfilter};
      const std::vector<double>* a32[] = {&f32.y, &f32.dx, &f32.dfilter};
      const std::vector<double>* b[] = {&ref.y, &ref.dx, &ref.dfilter};
      for (int i = 0; i < 3; ++i) {
        const double e64 = test::rel_err(*a64[i], *b[i]), e32 = test::rel_err(*a32[i], *b[i]);
        EXPECT_LE(e64, 1e-12) << names[i];
        EXPECT_LE(e32, 1e-5) << names[i];
        worst64 = std::max(worst64, e64);
        worst32 = std::max(worst32, e32);
      }
    }
  std::printf("long conv fft vs direct: fp64 %.2e, fp32 %.2e\n", worst64, worst32);
}

TEST(OpLongConv, SameResultForAnyThreadCount) {
  for (auto [L, m] : {std::pair<int64_t, ConvMethod>{4, ConvMethod::Direct},
                      {300, ConvMethod::Direct},
                      {300, ConvMethod::Fft}}) {
    SCOPED_TRACE(fmt::format("L={} {}", L, method_name(m)));
    const ConvDims d{3, 300, 40, L};
    const auto x = normals(d.B * d.T * d.C, 1, "x"), f = normals(d.C * d.L, 2, "filter"),
               dy = normals(d.B * d.T * d.C, 3, "dy");
    auto run_with = [&, m = m](int threads) {
      const int before = omp_get_max_threads();
      omp_set_num_threads(threads);
      const ConvRun r = run<float>(x, f, dy, d, m);
      omp_set_num_threads(before);
      return r;
    };
    const ConvRun one = run_with(1);
    for (int threads : {2, 3, 8}) {
      const ConvRun r = run_with(threads);
      EXPECT_EQ(one.y, r.y) << threads;
      EXPECT_EQ(one.dx, r.dx) << threads;
      EXPECT_EQ(one.dfilter, r.dfilter) << threads;
    }
  }
}

TEST(OpLongConv, GraphWrapperMatchesKernel) {
  const ConvDims d{2, 37, 21, 40};
  const auto x = normals(d.B * d.T * d.C, 4, "x"), f = normals(d.C * d.L, 5, "filter"),
             dy = normals(d.B * d.T * d.C, 6, "dy");
  const ConvRun ref = run<float>(x, f, dy, d);
  Arena arena;
  Graph g(arena, true);
  auto leaf = [&](const std::vector<double>& v, Shape s) {
    Tensor t = arena.tensor(s), gt = arena.tensor(s, DType::F32, true);
    std::copy(v.begin(), v.end(), t.f());
    return g.leaf(t, gt);
  };
  const Var xv = leaf(x, {d.B, d.T, d.C}), fv = leaf(f, {d.C, d.L});
  const Var y = ops::long_conv(g, xv, fv);
  ASSERT_EQ(y.shape(), (Shape{d.B, d.T, d.C}));
  Var loss = g.output({1}, true);
  loss.f()[0] = 0;
  g.record([&g, &dy, y, loss] {
    const float s = g.grad(loss).f()[0];
    for (size_t i = 0; i < dy.size(); ++i) g.grad(y).f()[i] += s * float(dy[i]);
  });
  g.backward(loss);
  auto values = [](const Tensor& t) { return std::vector<double>(t.f(), t.f() + t.numel()); };
  EXPECT_EQ(values(y.value()), ref.y);
  EXPECT_EQ(values(xv.n->grad), ref.dx);
  EXPECT_EQ(values(fv.n->grad), ref.dfilter);

  Graph eval(arena, false);
  const Var e = ops::long_conv(eval, eval.constant(xv.value()), eval.constant(fv.value()));
  EXPECT_FALSE(e.needs_grad());
  EXPECT_EQ(eval.tape_size(), 0u);
  EXPECT_EQ(values(e.value()), ref.y);
  const Var e_fft =
      ops::long_conv(eval, eval.constant(xv.value()), eval.constant(fv.value()), ConvMethod::Fft);
  EXPECT_EQ(values(e_fft.value()), run<float>(x, f, dy, d, ConvMethod::Fft).y);
}

// Without a method the op takes the FFT from kFftMinTaps taps in use on.
TEST(OpLongConv, DefaultMethodByTaps) {
  for (int64_t Tn : {ops::kFftMinTaps - 1, ops::kFftMinTaps}) {
    const ConvDims d{1, Tn, 3, Tn};
    const auto x = normals(d.B * d.T * d.C, 7, "x"), f = normals(d.C * d.L, 8, "filter");
    Arena arena;
    Graph g(arena, false);
    Tensor xt = arena.tensor({d.B, d.T, d.C}), ft = arena.tensor({d.C, d.L});
    std::copy(x.begin(), x.end(), xt.f());
    std::copy(f.begin(), f.end(), ft.f());
    const Var y = ops::long_conv(g, g.constant(xt), g.constant(ft));
    const ConvMethod expect = Tn >= ops::kFftMinTaps ? ConvMethod::Fft : ConvMethod::Direct;
    EXPECT_EQ(std::vector<double>(y.f(), y.f() + y.value().numel()),
              run<float>(x, f, std::vector<double>(x.size(), 0.0), d, expect).y)
        << Tn;
  }
}

}  // namespace
}  // namespace icl

#include "kernels/linear.h"

#include <omp.h>

#include <cmath>

#include "tests/op_harness.h"

namespace icl {
namespace {

struct LinearCase {
  int64_t N, in, out;
  bool bias = true;
  std::vector<Shape> inputs() const { return {{N, in}, {in, out}, {out}}; }
  Shape output() const { return {N, out}; }
  template <class T>
  void forward(const std::vector<const T*>& x, T* y, std::vector<T>&) const {
    kern::linear_forward(y, x[0], x[1], bias ? x[2] : nullptr, N, in, out);
  }
  template <class T>
  void backward(const std::vector<const T*>& x, const T*, const T* dy, const std::vector<T*>& dx,
                std::vector<T>&) const {
    kern::linear_backward(dx[0], dx[1], bias ? dx[2] : nullptr, dy, x[0], x[1], N, in, out);
  }
#ifdef ICL_WITH_CUDA
  // Strict fp32 GEMMs (the harness's context); TF32 is tests/test_cuda_dense.cpp's. The forward
  // with a bias takes cuBLASLt's bias epilogue only when in and out are multiples of 4
  // (37×1000×64, 5248×64×1000 below); every other case exercises the GEMM + broadcast path.
  void cuda_forward(const CudaContext& cx, const test::DeviceInputs& x, float* y, float*) const {
    cuda::linear_forward(cx, y, x[0], x[1], bias ? x[2] : nullptr, N, in, out);
  }
  void cuda_backward(const CudaContext& cx, const test::DeviceInputs& x, const float*,
                     const float* dy, const test::DeviceGrads& dx, float*) const {
    cuda::linear_backward(cx, dx[0], dx[1], bias ? dx[2] : nullptr, dy, x[0], x[1], N, in, out);
  }
  // GEMMs and the bias gradient's column sum against fp64 (op_harness.h's table).
  test::CudaTolerance cuda_tolerance() const {
    return {.fwd = 1e-5, .bwd = 1e-5, .against = test::Against::Fp64, .each_gradient_alone = true};
  }
  // Without rows the weight and bias gradients get nothing: their start values come back exactly.
  std::vector<test::Part> cuda_parts(test::Slot slot, size_t j, const test::CpuResult& ref) const {
    if (slot == test::Slot::Gradient && N == 0)
      return {test::whole("", int64_t(ref.grad[j].size()), 0.0)};
    return {};
  }
#endif
};

ICL_OP_TEST(OpLinear, Linear) {
  for (auto [N, in, out] :
       {std::tuple<int64_t, int64_t, int64_t>{1, 1, 1}, {7, 5, 3}, {33, 13, 7}, {130, 17, 70}}) {
    run(LinearCase{N, in, out}, fmt::format("linear N={} in={} out={}", N, in, out));
    run(LinearCase{N, in, out, false}, fmt::format("linear nobias N={}", N));
  }
  // Odd shapes around cuBLAS's tiles, a product of 1000 terms, no input columns, no rows.
  for (auto [N, in, out] : {std::tuple<int64_t, int64_t, int64_t>{1, 129, 7},
                            {37, 7, 129},
                            {37, 1000, 64},
                            {5248, 256, 129},
                            {5248, 64, 1000},
                            {5, 0, 3},
                            {0, 7, 5}})
    for (const bool bias : {true, false})
      run.cuda_only(LinearCase{N, in, out, bias},
                    fmt::format("linear N={} in={} out={} bias={} (cuda)", N, in, out, bias));
}

TEST(OpLinear, GraphWrapperRecordsGradients) {
  Arena arena;
  Graph g(arena, true);
  Tensor xt = arena.tensor({2, 3, 4}), wt = arena.tensor({4, 5}),
         gw = arena.tensor({4, 5}, DType::F32, true);
  for (int64_t i = 0; i < xt.numel(); ++i) xt.f()[i] = float(i % 7) - 3;
  for (int64_t i = 0; i < wt.numel(); ++i) wt.f()[i] = float(i % 5) * 0.1f;
  const Var x = g.constant(xt), w = g.leaf(wt, gw);
  const Var y = ops::linear(g, x, w);
  EXPECT_EQ(y.shape(), (Shape{2, 3, 5}));
  // loss = Σ y → dW[i, j] = Σ_n x[n, i]
  Var loss = g.output({1}, true);
  loss.f()[0] = 0;
  for (int64_t i = 0; i < y.shape().numel(); ++i) loss.f()[0] += y.f()[i];
  g.record([&g, y, loss] {
    const float d = g.grad(loss).f()[0];
    for (int64_t i = 0; i < y.shape().numel(); ++i) g.grad(y).f()[i] += d;
  });
  g.backward(loss);
  for (int64_t i = 0; i < 4; ++i) {
    float s = 0;
    for (int64_t n = 0; n < 6; ++n) s += xt.f()[n * 4 + i];
    for (int64_t j = 0; j < 5; ++j) EXPECT_FLOAT_EQ(gw.f()[i * 5 + j], s);
  }
}

TEST(Arena, SteadyStateAllocatesNothing) {
  Arena arena(1024);
  for (int step = 0; step < 3; ++step) {
    arena.reset();
    for (int i = 0; i < 10; ++i) arena.tensor({100, 10});
  }
  const size_t after_warmup = arena.block_allocations();
  for (int step = 0; step < 5; ++step) {
    arena.reset();
    for (int i = 0; i < 10; ++i) arena.tensor({100, 10});
  }
  EXPECT_EQ(arena.block_allocations(), after_warmup);
}

// dW in tiles and row chunks summed in chunk order (2 chunks, 2 × 3 tiles here): the same bits at
// any thread count, and the same as one product over all rows to float rounding.
TEST(OpLinear, WeightGradientSameForAnyThreadCount) {
  const int64_t N = 2500, in = 130, out = 260;
  std::vector<float> x(size_t(N * in)), dy(size_t(N * out)), w(size_t(in * out), 0.f);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.013f * float(i));
  for (size_t i = 0; i < dy.size(); ++i) dy[i] = std::cos(0.007f * float(i));
  auto run = [&](int threads) {
    const int before = omp_get_max_threads();
    omp_set_num_threads(threads);
    std::vector<float> dw(size_t(in * out), 0.5f), db(size_t(out), 0.25f);
    kern::linear_backward<float>(nullptr, dw.data(), db.data(), dy.data(), x.data(), w.data(), N,
                                 in, out);
    omp_set_num_threads(before);
    dw.insert(dw.end(), db.begin(), db.end());
    return dw;
  };
  const auto one = run(1);
  EXPECT_EQ(one, run(2));
  EXPECT_EQ(one, run(5));
  double worst = 0;
  for (int64_t i = 0; i < in; ++i)
    for (int64_t j = 0; j < out; ++j) {
      double ref = 0.5, scale = 0;
      for (int64_t n = 0; n < N; ++n) {
        ref += double(x[size_t(n * in + i)]) * double(dy[size_t(n * out + j)]);
        scale += std::abs(double(x[size_t(n * in + i)]) * double(dy[size_t(n * out + j)]));
      }
      worst = std::max(worst, std::abs(double(one[size_t(i * out + j)]) - ref) / scale);
    }
  EXPECT_LE(worst, 1e-6);
}

}  // namespace
}  // namespace icl

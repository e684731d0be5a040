#include "kernels/linear.h"

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
};

TEST(OpLinear, MatchesReferenceAndFiniteDifferences) {
  for (auto [N, in, out] :
       {std::tuple<int64_t, int64_t, int64_t>{1, 1, 1}, {7, 5, 3}, {33, 13, 7}, {130, 17, 70}}) {
    test::check_op(LinearCase{N, in, out}, fmt::format("linear N={} in={} out={}", N, in, out));
    test::check_op(LinearCase{N, in, out, false}, fmt::format("linear nobias N={}", N));
  }
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

}  // namespace
}  // namespace icl

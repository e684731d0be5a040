// Fresh activation gradients are assigned, not added to zeros (Graph::grad_out): every kernel that
// takes the assigning path must give, into a buffer of garbage, exactly what adding into zeros
// gives, and a value used twice must still get both contributions.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <vector>

#include "core/arena.h"
#include "core/graph.h"
#include "kernels/activation.h"
#include "kernels/attention.h"
#include "kernels/elementwise.h"
#include "kernels/layernorm.h"
#include "kernels/linear.h"

namespace icl {
namespace {

std::vector<float> ramp(size_t n, float scale) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = scale * std::sin(0.37f * float(i) + 0.1f);
  return v;
}

// write(buffer, accumulate) into zeros with accumulate = true and into NaNs with accumulate =
// false: the same bits.
void expect_assign_equals_add(size_t n, const std::function<void(float*, bool)>& write) {
  std::vector<float> added(n, 0.0f), assigned(n, std::numeric_limits<float>::quiet_NaN());
  write(added.data(), true);
  write(assigned.data(), false);
  ASSERT_EQ(std::memcmp(added.data(), assigned.data(), n * sizeof(float)), 0);
  for (float v : added) ASSERT_TRUE(std::isfinite(v));
}

TEST(GradOut, KernelsAssignExactlyWhatTheyWouldAdd) {
  const int64_t N = 37, in = 19, out = 23;
  const auto x = ramp(size_t(N * in), 1.0f), w = ramp(size_t(in * out), 0.3f),
             dy = ramp(size_t(N * out), 0.7f);
  SCOPED_TRACE("linear dx");
  expect_assign_equals_add(size_t(N * in), [&](float* dx, bool acc) {
    kern::linear_backward<float>(dx, nullptr, nullptr, dy.data(), x.data(), w.data(), N, in, out,
                                 acc);
  });
  const auto a = ramp(1000, 2.0f), d = ramp(1000, 0.5f);
  expect_assign_equals_add(1000, [&](float* dx, bool acc) {
    kern::gelu_backward<float>(dx, d.data(), a.data(), 1000, acc);
  });
  expect_assign_equals_add(1000, [&](float* da, bool acc) {
    kern::add_backward<float>(da, nullptr, d.data(), 1000, acc);
  });
  expect_assign_equals_add(1000, [&](float* db, bool acc) {
    kern::add_backward<float>(nullptr, db, d.data(), 1000, true, acc);
  });
  const int64_t C = 40, R = 25;
  const auto xs = ramp(size_t(R * C), 1.5f), gam = ramp(size_t(C), 1.0f),
             bet = ramp(size_t(C), 0.2f);
  std::vector<float> y(static_cast<size_t>(R * C)), mean(static_cast<size_t>(R)),
      rstd(static_cast<size_t>(R));
  kern::layernorm_forward<float>(y.data(), mean.data(), rstd.data(), xs.data(), gam.data(),
                                 bet.data(), R, C, 1e-5f);
  const auto dys = ramp(size_t(R * C), 0.9f);
  expect_assign_equals_add(size_t(R * C), [&](float* dx, bool acc) {
    kern::layernorm_backward<float>(dx, nullptr, nullptr, dys.data(), xs.data(), gam.data(),
                                    mean.data(), rstd.data(), R, C, acc);
  });
  // Attention over more than one query tile (kQueryTile = 64), causal and not.
  const int64_t B = 2, Tn = 70, AC = 8, H = 2;
  const auto qkv = ramp(size_t(B * Tn * 3 * AC), 1.0f), dout = ramp(size_t(B * Tn * AC), 0.6f);
  for (const bool causal : {true, false}) {
    std::vector<float> o(size_t(B * Tn * AC)), lse(size_t(B * H * Tn));
    kern::attention_forward<float>(o.data(), lse.data(), qkv.data(), B, Tn, AC, H,
                                   AttentionKind::Softmax, causal);
    expect_assign_equals_add(size_t(B * Tn * 3 * AC), [&](float* dqkv, bool acc) {
      kern::attention_backward<float>(dqkv, dout.data(), o.data(), lse.data(), qkv.data(), B, Tn,
                                      AC, H, AttentionKind::Softmax, causal, nullptr, acc);
    });
  }
}

TEST(GradOut, FirstRequestAssignsLaterOnesAdd) {
  Arena arena;
  Graph g(arena, true);
  Tensor value = arena.tensor({2, 3}), grad = arena.tensor({2, 3}, DType::F32, true);
  const Var leaf = g.leaf(value, grad);
  EXPECT_TRUE(g.grad_out(leaf).accumulate);  // a parameter's persistent gradient: always adds
  const Var v = g.output({2, 3}, true);
  const Graph::GradOut first = g.grad_out(v), second = g.grad_out(v);
  EXPECT_FALSE(first.accumulate);
  EXPECT_TRUE(second.accumulate);
  EXPECT_EQ(first.f, second.f);
  EXPECT_EQ(g.grad(v).f(), first.f);
  const Var constant = g.constant(value);
  EXPECT_EQ(g.grad_out(constant).f, nullptr);
}

// y = x + x with x an intermediate value (its gradient fresh): both uses reach x's gradient.
TEST(GradOut, AValueUsedTwiceGetsBothContributions) {
  Arena arena;
  Graph g(arena, true);
  const int64_t n = 12;
  Tensor p = arena.tensor({n}), dp = arena.tensor({n}, DType::F32, true);
  for (int64_t i = 0; i < n; ++i) p.f()[i] = 0.1f * float(i + 1);
  const Var param = g.leaf(p, dp);
  const Var x = ops::scale(g, param, 2.0f);  // intermediate: its gradient is fresh
  const Var y = ops::add(g, x, x);           // dx = 2·dy
  // dL/dy = 1 everywhere, then the tape runs from a one-element value recorded last.
  float* dy = g.grad(y).f();
  for (int64_t i = 0; i < n; ++i) dy[i] = 1.0f;
  const Var end = g.output({1}, true);
  g.record([] {});
  g.backward(end);
  for (int64_t i = 0; i < n; ++i) EXPECT_EQ(dp.f()[i], 4.0f) << i;  // d(2·2p)/dp
}

}  // namespace
}  // namespace icl

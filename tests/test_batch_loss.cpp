// train/batch_loss: a vector batch's loss_mask removes exactly the unmarked examples from the
// objective (value and gradient), for each loss kind, and a mask of the wrong size is an error.
#include <gtest/gtest.h>

#include <cmath>

#include "core/arena.h"
#include "core/rng.h"
#include "tests/errors.h"
#include "train/batch_loss.h"

namespace icl {
namespace {

struct Case {
  LossKind loss;
  int64_t dy;  // outputs per example (classes for cross-entropy)
};

// A random vector batch [B, K] of kind c, with examples k ≡ 1 (mod 3) unmarked.
PromptBatch batch(const Case& c, int64_t B, int64_t K, uint64_t seed) {
  PromptBatch pb;
  pb.loss = c.loss;
  pb.allocate_vector(B, K, 3, c.dy, false);
  Rng rng(RngKey{seed, 7}, 0);
  for (auto& v : pb.ys)
    v = c.loss == LossKind::Logistic ? (rng.uniform() < 0.5 ? -1.f : 1.f) : float(rng.normal());
  if (c.loss == LossKind::CrossEntropy) {
    pb.history = true;
    pb.targets.resize(size_t(B * K));
    for (auto& t : pb.targets) t = int32_t(rng.below(uint64_t(c.dy)));
  }
  pb.loss_mask.assign(size_t(B * K), 1);
  for (int64_t i = 0; i < B * K; ++i) pb.loss_mask[size_t(i)] = (i % K) % 3 != 1;
  return pb;
}

// The per-example loss in fp64, written out from the definitions.
double example_loss(const Case& c, const PromptBatch& pb, const float* p, int64_t i) {
  if (c.loss == LossKind::CrossEntropy) {
    double mx = p[0], s = 0;
    for (int64_t v = 1; v < c.dy; ++v) mx = std::max(mx, double(p[v]));
    for (int64_t v = 0; v < c.dy; ++v) s += std::exp(double(p[v]) - mx);
    return mx + std::log(s) - double(p[pb.targets[size_t(i)]]);
  }
  double sum = 0;
  for (int64_t j = 0; j < c.dy; ++j) {
    const double z = p[j], y = pb.ys[size_t(i * c.dy + j)];
    sum += c.loss == LossKind::Logistic ? std::log1p(std::exp(-y * z)) : (z - y) * (z - y);
  }
  return sum;
}

TEST(BatchLoss, UnmarkedExamplesChangeNeitherValueNorGradient) {
  for (const Case c : {Case{LossKind::SquaredError, 1}, Case{LossKind::SquaredError, 2},
                       Case{LossKind::Logistic, 1}, Case{LossKind::CrossEntropy, 4}}) {
    const int64_t B = 3, K = 7, N = B * K * c.dy;
    PromptBatch pb = batch(c, B, K, 1);
    Arena arena;
    Graph g(arena, true);
    Tensor pred = arena.tensor({B, K, c.dy}), dpred = arena.tensor({B, K, c.dy}, DType::F32, true);
    Rng rng(RngKey{2, 7}, 0);
    for (int64_t i = 0; i < N; ++i) pred.f()[i] = float(rng.normal());
    std::vector<float> mask;
    const Var loss = batch_loss(g, g.leaf(pred, dpred), pb, mask);
    g.backward(loss);

    double want = 0, units = 0;
    for (int64_t i = 0; i < B * K; ++i)
      if (pb.loss_mask[size_t(i)]) {
        want += example_loss(c, pb, pred.f() + i * c.dy, i);
        units += c.loss == LossKind::CrossEntropy ? 1.0 : double(c.dy);
      }
    EXPECT_NEAR(loss.f()[0], want / units, 1e-5 * std::max(1.0, want / units)) << to_string(c.loss);
    for (int64_t i = 0; i < B * K; ++i)
      for (int64_t j = 0; j < c.dy; ++j) {
        const float d = dpred.f()[i * c.dy + j];
        if (!pb.loss_mask[size_t(i)]) {
          EXPECT_EQ(d, 0.f) << "unmarked example " << i;
        } else {
          EXPECT_NE(d, 0.f) << "marked example " << i;
        }
      }

    // Relabelling an unmarked example leaves the loss bit-identical; a marked one moves it.
    PromptBatch other = pb;
    for (int64_t j = 0; j < c.dy; ++j) other.ys[size_t(1 * c.dy + j)] *= -1.f;
    if (!other.targets.empty()) other.targets[1] = (other.targets[1] + 1) % int32_t(c.dy);
    Graph g2(arena, false);
    EXPECT_EQ(batch_loss(g2, g2.constant(pred), other, mask).f()[0], loss.f()[0]);
    for (int64_t j = 0; j < c.dy; ++j) other.ys[size_t(0 * c.dy + j)] *= -1.f;
    if (!other.targets.empty()) other.targets[0] = (other.targets[0] + 1) % int32_t(c.dy);
    EXPECT_NE(batch_loss(g2, g2.constant(pred), other, mask).f()[0], loss.f()[0]);
  }
}

TEST(BatchLoss, NoMaskScoresEveryExample) {
  const Case c{LossKind::SquaredError, 2};
  PromptBatch pb = batch(c, 2, 5, 3);
  pb.loss_mask.clear();
  Arena arena;
  Graph g(arena, false);
  Tensor pred = arena.tensor({2, 5, 2});
  for (int64_t i = 0; i < 20; ++i) pred.f()[i] = 0.1f * float(i);
  std::vector<float> mask;
  double want = 0;
  for (int64_t i = 0; i < 10; ++i) want += example_loss(c, pb, pred.f() + 2 * i, i);
  EXPECT_NEAR(batch_loss(g, g.constant(pred), pb, mask).f()[0], want / 20, 1e-5);
}

TEST(BatchLoss, AMaskOfTheWrongSizeIsAnError) {
  PromptBatch pb = batch(Case{LossKind::SquaredError, 1}, 2, 5, 4);
  pb.loss_mask.resize(9);
  Arena arena;
  Graph g(arena, false);
  Tensor pred = arena.tensor({2, 5, 1});
  std::vector<float> mask;
  const std::string msg = test::error_of([&] { batch_loss(g, g.constant(pred), pb, mask); });
  EXPECT_NE(msg.find("loss_mask has 9 entries, expected 10"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
}

}  // namespace
}  // namespace icl

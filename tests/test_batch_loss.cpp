// train/batch_loss: a batch's loss_mask removes exactly the unmarked examples (vector prompts) or
// positions (token prompts) from the objective (value and gradient), for each loss kind, and a
// mask of the wrong size is an error. History prompts, which have no mask, are scored at every
// step (HistoryPromptsScoreEveryStep).
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

// A random batch of B prompts of K scored units with examples k ≡ 1 (mod 3) unmarked: vector
// prompts for squared error and the logistic loss, token prompts (K positions, dy classes) for
// cross-entropy, the kinds that carry a loss_mask.
PromptBatch batch(const Case& c, int64_t B, int64_t K, uint64_t seed) {
  Rng rng(RngKey{seed, 7}, 0);
  std::vector<uint8_t> mask(size_t(B * K), 1);
  for (int64_t i = 0; i < B * K; ++i) mask[size_t(i)] = (i % K) % 3 != 1;
  if (c.loss == LossKind::CrossEntropy) {
    TokenPrompts t;
    t.allocate(B, K, K, 0);
    for (auto& v : t.targets) v = int32_t(rng.below(uint64_t(c.dy)));
    t.loss_mask = mask;
    return PromptBatch(std::move(t));
  }
  VectorPrompts v;
  v.loss = c.loss;
  v.allocate(B, K, 3, c.dy, false);
  for (auto& y : v.ys)
    y = c.loss == LossKind::Logistic ? (rng.uniform() < 0.5 ? -1.f : 1.f) : float(rng.normal());
  v.loss_mask = mask;
  return PromptBatch(std::move(v));
}

std::vector<uint8_t>& mask_of(PromptBatch& pb) {
  if (auto* t = pb.get<TokenPrompts>()) return t->loss_mask;
  return pb.get<VectorPrompts>()->loss_mask;
}

// Gives unit i another label.
void relabel(PromptBatch& pb, int64_t i, int64_t dy) {
  if (auto* t = pb.get<TokenPrompts>()) {
    t->targets[size_t(i)] = (t->targets[size_t(i)] + 1) % int32_t(dy);
    return;
  }
  for (int64_t j = 0; j < dy; ++j) pb.get<VectorPrompts>()->ys[size_t(i * dy + j)] *= -1.f;
}

// The per-unit loss in fp64, written out from the definitions.
double example_loss(const Case& c, const PromptBatch& pb, const float* p, int64_t i) {
  if (const auto* t = pb.get<TokenPrompts>()) {
    double mx = p[0], s = 0;
    for (int64_t v = 1; v < c.dy; ++v) mx = std::max(mx, double(p[v]));
    for (int64_t v = 0; v < c.dy; ++v) s += std::exp(double(p[v]) - mx);
    return mx + std::log(s) - double(p[t->targets[size_t(i)]]);
  }
  const VectorPrompts& v = pb.as<VectorPrompts>("test");
  double sum = 0;
  for (int64_t j = 0; j < c.dy; ++j) {
    const double z = p[j], y = v.ys[size_t(i * c.dy + j)];
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

    const std::vector<uint8_t>& m = mask_of(pb);
    double want = 0, units = 0;
    for (int64_t i = 0; i < B * K; ++i)
      if (m[size_t(i)]) {
        want += example_loss(c, pb, pred.f() + i * c.dy, i);
        units += c.loss == LossKind::CrossEntropy ? 1.0 : double(c.dy);
      }
    EXPECT_NEAR(loss.f()[0], want / units, 1e-5 * std::max(1.0, want / units)) << to_string(c.loss);
    for (int64_t i = 0; i < B * K; ++i)
      for (int64_t j = 0; j < c.dy; ++j) {
        const float d = dpred.f()[i * c.dy + j];
        if (!m[size_t(i)]) {
          EXPECT_EQ(d, 0.f) << "unmarked example " << i;
        } else {
          EXPECT_NE(d, 0.f) << "marked example " << i;
        }
      }

    // Relabelling an unmarked example leaves the loss bit-identical; a marked one moves it.
    PromptBatch other = pb;
    relabel(other, 1, c.dy);
    Graph g2(arena, false);
    EXPECT_EQ(batch_loss(g2, g2.constant(pred), other, mask).f()[0], loss.f()[0]);
    relabel(other, 0, c.dy);
    EXPECT_NE(batch_loss(g2, g2.constant(pred), other, mask).f()[0], loss.f()[0]);
  }
}

TEST(BatchLoss, NoMaskScoresEveryExample) {
  const Case c{LossKind::SquaredError, 2};
  PromptBatch pb = batch(c, 2, 5, 3);
  mask_of(pb).clear();
  Arena arena;
  Graph g(arena, false);
  Tensor pred = arena.tensor({2, 5, 2});
  for (int64_t i = 0; i < 20; ++i) pred.f()[i] = 0.1f * float(i);
  std::vector<float> mask;
  double want = 0;
  for (int64_t i = 0; i < 10; ++i) want += example_loss(c, pb, pred.f() + 2 * i, i);
  EXPECT_NEAR(batch_loss(g, g.constant(pred), pb, mask).f()[0], want / 20, 1e-5);
}

TEST(BatchLoss, HistoryPromptsScoreEveryStep) {
  const int64_t B = 2, K = 4, A = 3;
  HistoryPrompts h;
  h.allocate(B, K, 5, A);
  for (int64_t i = 0; i < B * K; ++i) h.targets[size_t(i)] = int32_t(i % A);
  const PromptBatch pb(std::move(h));
  Arena arena;
  Graph g(arena, false);
  Tensor pred = arena.tensor({B, K, A});
  for (int64_t i = 0; i < B * K * A; ++i) pred.f()[i] = 0.3f * float(i % 5) - 0.4f;
  std::vector<float> mask;
  double want = 0;
  const Case c{LossKind::CrossEntropy, A};
  for (int64_t i = 0; i < B * K; ++i) {
    // the same cross-entropy as a token batch whose every position is marked
    TokenPrompts t;
    t.allocate(1, 1, 1, 0);
    t.targets[0] = pb.get<HistoryPrompts>()->targets[size_t(i)];
    want += example_loss(c, PromptBatch(std::move(t)), pred.f() + i * A, 0);
  }
  EXPECT_FALSE(expand_loss_mask(pb, mask));
  EXPECT_NEAR(batch_loss(g, g.constant(pred), pb, mask).f()[0], want / double(B * K), 1e-6);
}

TEST(BatchLoss, VectorPromptsRefuseCrossEntropy) {
  VectorPrompts v;
  v.loss = LossKind::CrossEntropy;
  v.allocate(1, 2, 1, 1, false);
  const PromptBatch pb(std::move(v));
  Arena arena;
  Graph g(arena, false);
  Tensor pred = arena.tensor({1, 2, 1});
  std::vector<float> mask;
  const std::string msg = test::error_of([&] { batch_loss(g, g.constant(pred), pb, mask); });
  EXPECT_NE(msg.find("class labels need history or token prompts"), std::string::npos) << msg;
}

TEST(BatchLoss, AMaskOfTheWrongSizeIsAnError) {
  PromptBatch pb = batch(Case{LossKind::SquaredError, 1}, 2, 5, 4);
  mask_of(pb).resize(9);
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

// Gradient accumulation (train/accumulate.h, train.micro_batches): the micro-batches are the
// batch's rows; the accumulated gradient is exactly the parts' gradients summed in order and
// scaled (what a data-parallel reduction computes), and close to one backward over the whole
// batch, for vector and token prompts; training with it is reproducible and resumes exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "core/arena.h"
#include "core/error.h"
#include "core/graph.h"
#include "run/resolved_run.h"
#include "tests/train_fixture.h"
#include "train/accumulate.h"
#include "train/batch_loss.h"

namespace icl {
namespace {

// The parameters' gradients, concatenated.
std::vector<float> grads(Model& m) {
  std::vector<float> out;
  for (const auto& p : m.parameters().all()) out.insert(out.end(), p->grad.begin(), p->grad.end());
  return out;
}

// One backward over `pb` (the step without accumulation); returns the loss.
double whole(Model& m, Arena& arena, const PromptBatch& pb, std::vector<float>& mask) {
  arena.reset();
  Graph g(arena, true);
  const Var loss = batch_loss(g, m.forward(g, pb), pb, mask);
  m.parameters().zero_grad();
  g.backward(loss);
  return loss.f()[0];
}

void check_config(const std::string& config, const std::vector<std::string>& sets) {
  const ResolvedRun run = load_run(config, sets);
  auto model = run.build_model();
  model->init(3);
  const int64_t B = 8, K = run.evals.front().examples;
  const PromptBatch pb = run.task->sample(RngKey{5, 1}, 0, B, K);
  Arena arena;
  std::vector<float> mask;

  // The slices are the batch's rows.
  const PromptBatch second = slice_prompts(pb, 4, 4);
  EXPECT_EQ(second.batch(), 4);
  EXPECT_EQ(slice_prompts(pb, 0, B), pb);

  // Oracle: each part's gradient on its own, summed in order, scaled.
  std::vector<float> sum;
  double loss_sum = 0;
  for (int64_t m = 0; m < 4; ++m) {
    loss_sum += whole(*model, arena, slice_prompts(pb, 2 * m, 2), mask);
    const std::vector<float> g = grads(*model);
    if (m == 0)
      sum = g;
    else
      for (size_t j = 0; j < g.size(); ++j) sum[j] += g[j];
  }
  for (auto& v : sum) v *= 0.25f;
  const double acc = accumulate_gradients(*model, arena, pb, 4, mask);
  EXPECT_EQ(acc, loss_sum / 4);
  EXPECT_EQ(grads(*model), sum);  // bit for bit

  // Close to one backward over the whole batch (the same mean, associated differently).
  const double full = whole(*model, arena, pb, mask);
  const std::vector<float> g = grads(*model);
  EXPECT_NEAR(acc, full, 1e-5 * std::abs(full));
  double num = 0, den = 0;
  for (size_t j = 0; j < g.size(); ++j) {
    num += (g[j] - sum[j]) * double(g[j] - sum[j]);
    den += double(g[j]) * g[j];
  }
  EXPECT_LT(std::sqrt(num / den), 1e-5);

  EXPECT_THROW(accumulate_gradients(*model, arena, pb, 3, mask), Error);
}

TEST(Accumulate, VectorPromptsSumThePartsInOrder) {
  check_config("quickstart", {"model.n_layer=1", "model.n_embd=16", "eval.examples=7"});
}

TEST(Accumulate, TokenPromptsSumThePartsInOrder) {
  // Every part's mean over its own scored tokens: equal to the whole batch's mean only when the
  // parts score as many tokens, as parity's fixed-length training prompts do.
  check_config("grazzi2025/parity_deltanet_positive_quick", {"model.n_layer=1", "model.n_embd=16"});
}

TEST(Accumulate, TrainingWithMicroBatchesIsReproducibleAndResumes) {
  test::Dir dir("accumulate");
  const std::vector<std::string> mb = {"train.micro_batches=2"};
  test::run(mb, dir / "a.h5");
  test::run(mb, dir / "b.h5");
  EXPECT_EQ(test::losses(dir / "a.h5"), test::losses(dir / "b.h5"));
  test::run(mb, dir / "half.h5", "", 6);
  test::run(mb, dir / "half.h5", dir / "half.h5");
  EXPECT_EQ(test::losses(dir / "half.h5"), test::losses(dir / "a.h5"));
  EXPECT_EQ(test::params(dir / "half.h5", "params"), test::params(dir / "a.h5", "params"));
  // Close to the run without accumulation, not equal.
  test::run({}, dir / "one.h5");
  const auto one = test::losses(dir / "one.h5"), two = test::losses(dir / "a.h5");
  EXPECT_NEAR(one.front(), two.front(), 1e-5 * one.front());
  EXPECT_NE(one, two);
}

TEST(Accumulate, MicroBatchesMustDivideTheBatch) {
  try {
    load_run("quickstart", {"train.batch_size=6", "train.micro_batches=4"});
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "train.micro_batches: must divide train.batch_size (6) into equal parts, got 4");
  }
}

}  // namespace
}  // namespace icl

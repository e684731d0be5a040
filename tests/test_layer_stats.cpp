// Per-layer training statistics (train.layer_stats_every, train/layer_stats.h): the recorded
// gradient norms against a direct computation on a small model (clipping on, so undoing it is
// checked too), the hidden-state variances at the block outputs (an identity block repeats its
// input's variance; post-LN blocks end in a unit-variance norm), the statistics leave training bit
// for bit as it was, survive N/2 + resume + N/2, and reach figures through set "train".
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include <fmt/format.h>

#include "core/error.h"
#include "repro/curves.h"
#include "run/training.h"
#include "tests/train_fixture.h"
#include "train/batch_loss.h"
#include "train/layer_stats.h"
#include "train/trainer.h"

namespace icl {
namespace {

using namespace icl::test;
using testing::HasSubstr;

ResolvedRun tiny_run(const std::vector<std::string>& extra) {
  std::vector<std::string> o = kTiny;
  o.insert(o.end(), extra.begin(), extra.end());
  return load_run("quickstart", o);
}

// One training step of the run's model with statistics on; returns the log.
TrainLog one_step(const ResolvedRun& run, Model& model) {
  CurriculumPrompts prompts(*run.task, run.train, training_stream(run));
  TrainState st;
  Trainer(run.train, model, prompts, TrainEval{"eval", [] { return 0.0; }})
      .run(
          st, 1, [](const TrainState&) {}, false);
  return st.log;
}

// √(Σ g²) of block l's parameters, summed here in long double from a fresh backward.
std::vector<double> direct_grad_norms(const ResolvedRun& run, int64_t blocks, double* total) {
  const std::unique_ptr<Model> m = run.build_model();
  m->init(run.seed);
  CurriculumPrompts prompts(*run.task, run.train, training_stream(run));
  const PromptBatch pb = prompts.batch(0);
  Arena arena;
  Graph g(arena, true);
  std::vector<float> mask;
  const Var loss = batch_loss(g, m->forward(g, pb), pb, mask);
  m->parameters().zero_grad();
  g.backward(loss);
  std::vector<double> norms;
  long double all = 0;
  for (int64_t l = 0; l < blocks; ++l) {
    long double sum = 0;
    for (const auto& p : m->parameters().all())
      if (p->name.starts_with(fmt::format("blocks.{}.", l)))
        for (const float x : p->grad) sum += (long double)x * x;
    norms.push_back(double(std::sqrt(sum)));
  }
  for (const auto& p : m->parameters().all())
    for (const float x : p->grad) all += (long double)x * x;
  *total = double(std::sqrt(all));
  return norms;
}

TEST(LayerStats, GradientNormsMatchADirectComputationWithClippingUndone) {
  for (const char* placement : {"pre", "post", "peri", "mix"}) {
    SCOPED_TRACE(placement);
    // Three blocks; a clip far below the gradient's norm, so the step's gradient was scaled.
    const ResolvedRun run =
        tiny_run({"model.n_layer=3", fmt::format("model.placement={}", placement),
                  "model.mix_alpha=0.34", "train.grad_clip=0.01", "train.layer_stats_every=5"});
    const std::unique_ptr<Model> model = run.build_model();
    model->init(run.seed);
    const TrainLog log = one_step(run, *model);
    double total = 0;
    const std::vector<double> direct = direct_grad_norms(run, 3, &total);
    ASSERT_GT(total, 10 * 0.01);  // clipping happened
    EXPECT_EQ(log.layer_step, std::vector<int64_t>{1});
    ASSERT_EQ(log.layer_grad_norm.size(), 3u);
    for (size_t l = 0; l < 3; ++l)
      EXPECT_NEAR(log.layer_grad_norm[l], direct[l], 1e-6 * direct[l]) << l;
    ASSERT_EQ(log.layer_variance.size(), 3u);
  }
}

// Var(h_l) for a model built from `run` with init seed, after `edit` changes its parameters.
std::vector<double> variances(const ResolvedRun& run, const std::function<void(Model&)>& edit) {
  const std::unique_ptr<Model> m = run.build_model();
  m->init(run.seed);
  edit(*m);
  const TrainLog log = one_step(run, *m);
  return log.layer_variance;
}

TEST(LayerStats, VariancesAreTheBlockOutputsInOrder) {
  const ResolvedRun pre = tiny_run({"model.n_layer=3", "train.layer_stats_every=1"});
  // Block 2 (index 1) with zero output projections adds nothing: h_2 = h_1 exactly.
  const std::vector<double> v = variances(pre, [](Model& m) {
    for (auto& p : m.parameters().all())
      if (p->name.starts_with("blocks.1.") &&
          (p->name.ends_with("w_out") || p->name.ends_with("b_out")))
        std::fill(p->value.begin(), p->value.end(), 0.f);
  });
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[1], v[0]);
  EXPECT_NE(v[2], v[1]);
  // A direct computation of h_1 for block 1 zeroed too: the read-in's output, whose variance the
  // first record then also holds (two identity blocks in a row).
  const std::vector<double> w = variances(pre, [](Model& m) {
    for (auto& p : m.parameters().all())
      if ((p->name.starts_with("blocks.0.") || p->name.starts_with("blocks.1.")) &&
          (p->name.ends_with("w_out") || p->name.ends_with("b_out")))
        std::fill(p->value.begin(), p->value.end(), 0.f);
  });
  EXPECT_EQ(w[0], w[1]);
  // Post-LN: every block ends in a LayerNorm of unit gain and zero bias at initialisation, whose
  // rows have mean 0 and variance σ²/(σ² + ε) ≈ 1.
  const ResolvedRun post =
      tiny_run({"model.n_layer=3", "model.placement=post", "train.layer_stats_every=1"});
  for (const double x : variances(post, [](Model&) {})) EXPECT_NEAR(x, 1.0, 1e-3);
  // The recurrent stack hands out its blocks' outputs too.
  const ResolvedRun rec =
      tiny_run({"model.name=recurrent", "model.n_layer=3", "train.layer_stats_every=1"});
  EXPECT_EQ(variances(rec, [](Model&) {}).size(), 3u);
}

TEST(LayerStats, LeaveTrainingAsItWasAndResumeExactly) {
  Dir d("layer_stats");
  run({}, d / "plain.h5");
  run({"train.layer_stats_every=3"}, d / "whole.h5");
  EXPECT_EQ(losses(d / "plain.h5"), losses(d / "whole.h5"));
  EXPECT_EQ(params(d / "plain.h5", "params"), params(d / "whole.h5", "params"));
  run({"train.layer_stats_every=3"}, d / "half.h5", "", 7);
  run({"train.layer_stats_every=3"}, d / "resumed.h5", d / "half.h5");
  const auto column = [&](const std::string& path, const std::string& name) {
    const h5::Handle f = h5::open_file(path);
    return h5::read<double>(f.id(), "train/" + name);
  };
  const h5::Handle f = h5::open_file(d / "whole.h5");
  EXPECT_EQ(h5::read<int64_t>(f.id(), "train/layer_step"), (std::vector<int64_t>{1, 3, 6, 9, 12}));
  for (const char* name : {"layer_grad_norm", "layer_variance"}) {
    EXPECT_EQ(column(d / "whole.h5", name).size(), 5u * 2u) << name;  // 5 records × 2 blocks
    EXPECT_EQ(column(d / "whole.h5", name), column(d / "resumed.h5", name)) << name;
  }
  // Off: the columns are there and empty.
  const h5::Handle p = h5::open_file(d / "plain.h5");
  EXPECT_EQ(h5::length(p.id(), "train/layer_step"), 0);

  // A figure's set "train": the layer metrics against the block, the geometric mean over the
  // records (all, or those in train_steps), the band their middle half.
  FigureSeries s;
  s.id = "g";
  s.run = "r";
  s.metric = "layer_grad_norm";
  const std::vector<double> g = column(d / "whole.h5", "layer_grad_norm");
  Curve c = read_curve(d / "whole.h5", s, "train");
  EXPECT_EQ(c.x, (std::vector<double>{1, 2}));
  ASSERT_EQ(c.mean.size(), 2u);
  for (size_t l = 0; l < 2; ++l) {
    double logs = 0;
    for (size_t r = 0; r < 5; ++r) logs += std::log(g[r * 2 + l]);
    EXPECT_NEAR(c.mean[l], std::exp(logs / 5), 1e-12 * c.mean[l]) << l;
    // The band: the middle half of the five records, their 2nd and 4th smallest.
    std::vector<double> r = {g[l], g[2 + l], g[4 + l], g[6 + l], g[8 + l]};
    std::sort(r.begin(), r.end());
    EXPECT_EQ(c.lo[l], r[1]) << l;
    EXPECT_EQ(c.hi[l], r[3]) << l;
  }
  EXPECT_EQ(c.x_label, "layer");
  s.train_steps = {3, 3};  // one record
  c = read_curve(d / "whole.h5", s, "train");
  EXPECT_EQ(c.mean[0], g[2]);
  EXPECT_EQ(c.mean[1], g[3]);
  s.train_steps = {6, 12};  // the last three
  c = read_curve(d / "whole.h5", s, "train");
  EXPECT_NEAR(c.mean[1], std::cbrt(g[5] * g[7] * g[9]), 1e-12 * c.mean[1]);
  s.train_steps = {4, 5};
  try {
    read_curve(d / "whole.h5", s, "train");
    ADD_FAILURE() << "read";
  } catch (const Error& e) {
    EXPECT_THAT(
        e.what(),
        HasSubstr("no per-layer record in steps [4, 5] (records at steps 1 to 12, 5 in all)"));
  }
  s.train_steps.reset();
  s.metric = "loss";
  c = read_curve(d / "whole.h5", s, "train");
  EXPECT_EQ(c.mean, losses(d / "whole.h5"));  // 12 steps: bins of one
  EXPECT_EQ(c.lo, c.mean);
  EXPECT_EQ(c.hi, c.mean);
  EXPECT_EQ(c.x.back(), 12);
  s.metric = "layer_variance";
  try {
    read_curve(d / "plain.h5", s, "train");
    ADD_FAILURE() << "read";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("recorded no per-layer statistics (set "
                                    "train.layer_stats_every)"));
  }
}

TEST(LayerStats, AModelWithoutBlocksIsRefused) {
  Dir d("no_blocks");
  std::ofstream(d / "lsa.yaml") << "task: {name: linear_regression, d: 3}\n"
                                   "eval: {prompts: 16, examples: 6, bootstrap: 20}\n"
                                   "model: {name: lsa}\n"
                                   "train: {steps: 4, batch_size: 4, layer_stats_every: 2}\n";
  const ResolvedRun run = load_run(d / "lsa.yaml", {});
  const std::unique_ptr<Model> m = run.build_model();
  m->init(run.seed);
  try {
    one_step(run, *m);
    ADD_FAILURE() << "trained";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("train.layer_stats_every: model lsa has no blocks"));
  }
}

}  // namespace
}  // namespace icl

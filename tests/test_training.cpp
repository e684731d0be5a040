// Training runs end to end on a tiny configuration: bit-identical reruns, N steps == N/2 + resume +
// N/2, checkpoint errors, the NaN guard, and `icl eval` on a trained checkpoint.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "run/run_file.h"
#include "run/training.h"
#include "tests/train_fixture.h"
#include "train/checkpoint.h"

namespace icl {
namespace {

using namespace icl::test;

TEST(Training, TwoRunsAreBitIdentical) {
  Dir d("rerun");
  run({}, d / "a.h5");
  run({}, d / "b.h5");
  EXPECT_EQ(losses(d / "a.h5"), losses(d / "b.h5"));
  EXPECT_EQ(params(d / "a.h5", "params"), params(d / "b.h5", "params"));
  EXPECT_EQ(losses(d / "a.h5").size(), 12u);
  run({"seed=1"}, d / "c.h5");
  EXPECT_NE(losses(d / "a.h5"), losses(d / "c.h5"));
}

TEST(Training, HalfPlusResumePlusHalfEqualsWhole) {
  Dir d("resume");
  run({"train.schedule=cosine"}, d / "whole.h5");
  const BenchmarkResult half = run({"train.schedule=cosine"}, d / "half.h5", "", 6);
  EXPECT_TRUE(half.evals.empty());  // stopped early: checkpoint only
  run({"train.schedule=cosine"}, d / "resumed.h5", d / "half.h5");
  EXPECT_EQ(losses(d / "whole.h5"), losses(d / "resumed.h5"));
  for (const char* g : {"params", "adam_m", "adam_v"})
    EXPECT_EQ(params(d / "whole.h5", g), params(d / "resumed.h5", g)) << g;
}

// A curriculum on a task parameter other than the dimensions (Panwar et al. ramp the maximum
// frequency of their Fourier series): the ramp changes what is trained on, and a resumed run
// follows it exactly.
TEST(Training, TaskParameterCurriculumResumesExactly) {
  Dir d("ramp");
  std::ofstream(d / "fourier.yaml")
      << "task: {name: fourier_series, N: 3}\n"
         "eval: {prompts: 16, examples: 7, bootstrap: 20}\n"
         "model: {name: transformer, n_layer: 1, n_embd: 8, n_head: 2}\n"
         "train: {steps: 12, batch_size: 4, eval_every: 6, eval_prompts: 8, checkpoint_every: 4,\n"
         "        curriculum: {N: {start: 1, end: 3, inc: 1, every: 4}}}\n";
  auto fourier = [&](const std::vector<std::string>& o, const std::string& out,
                     const std::string& resume = "", int64_t until = 0) {
    const ResolvedRun cfg = load_run(d / "fourier.yaml", o);
    AtomicH5Output file(out);
    RunOptions ro;
    ro.progress = false;
    ro.resume = resume;
    ro.until = until;
    run_benchmark(cfg, file, ro);
  };
  fourier({}, d / "whole.h5");
  fourier({}, d / "half.h5", "", 6);
  fourier({}, d / "resumed.h5", d / "half.h5");
  const std::vector<double> whole = losses(d / "whole.h5");
  EXPECT_EQ(whole, losses(d / "resumed.h5"));
  fourier({"train.curriculum.N.start=3"}, d / "fixed.h5");
  const std::vector<double> fixed = losses(d / "fixed.h5");
  ASSERT_EQ(fixed.size(), 12u);
  // Same prompts stream and model: the first 8 steps (N = 1, 2) differ, the last 4 (N = 3) start
  // from different weights, so all differ; the resolved config records the ramp.
  for (size_t i = 0; i < 4; ++i) EXPECT_NE(whole[i], fixed[i]) << i;
  const h5::Handle f = h5::open_file(d / "whole.h5");
  EXPECT_NE(h5::read_attr_string(f.id(), "config").find("every: 4"), std::string::npos);
}

TEST(Training, CheckpointsAreWrittenAsTrainingGoes) {
  Dir d("periodic");
  run({}, d / "r.h5", "", 9);  // checkpoint_every = 4: the file holds step 9 (the stop)
  const h5::Handle f = h5::open_file(d / "r.h5");
  EXPECT_EQ(h5::read_attr_int(h5::open_group(f.id(), "checkpoint").id(), "step"), 9);
  EXPECT_EQ(h5::read<int64_t>(f.id(), "train/step").size(), 9u);
  EXPECT_FALSE(h5::exists(f.id(), "eval"));
}

TEST(Training, ResumeRejectsBadCheckpoints) {
  Dir d("bad");
  run({}, d / "ok.h5", "", 4);
  auto message = [&](const std::vector<std::string>& extra, const std::string& from) {
    try {
      run(extra, d / "out.h5", from);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({"model.n_embd=12"}, d / "ok.h5").find("its checkpoint is of model"),
            std::string::npos);
  {
    std::ifstream in(d / "ok.h5", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(d / "cut.h5", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  EXPECT_NE(message({}, d / "cut.h5").find("cannot resume from"), std::string::npos);
  EXPECT_NE(message({}, d / "missing.h5").find("not a readable HDF5 file"), std::string::npos);
  {
    AtomicH5Output f(d / "nockpt.h5");
    h5::attr(f.root(), "x", int64_t(1));
    f.commit();
  }
  EXPECT_NE(message({}, d / "nockpt.h5").find("holds no checkpoint"), std::string::npos);
  EXPECT_FALSE(fs::exists(d / "out.h5"));  // nothing half-written
}

TEST(Training, DivergenceStopsWithTheStepAndKeepsTheLastCheckpoint) {
  Dir d("nan");
  run({}, d / "r.h5", "", 4);
  // Labels of 1e20 overflow the fp32 loss at once: resuming into the same file must stop at step 5
  // and leave the step-4 checkpoint in place.
  try {
    run({"task.y_scale=1e20"}, d / "r.h5", d / "r.h5");
    FAIL() << "training on labels of 1e20 did not stop";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("training diverged at step 5"), std::string::npos)
        << e.what();
  }
  const h5::Handle f = h5::open_file(d / "r.h5");
  EXPECT_EQ(h5::read_attr_int(h5::open_group(f.id(), "checkpoint").id(), "step"), 4);
  for (double v : h5::read<double>(f.id(), "train/loss")) EXPECT_TRUE(std::isfinite(v));
  EXPECT_EQ(std::distance(fs::directory_iterator(d.p), fs::directory_iterator()), 1);
}

// train.data_seed (one line in train_section(), train/train_config.h, and its use in
// run/training.cpp): the training prompts come from their own seed, the initialisation from the
// run's, so the two can be varied apart; by default (-1) the run's seed draws both, as before.
TEST(Training, DataSeedVariesThePromptsNotTheInitialisation) {
  Dir d("data_seed");
  run({}, d / "default.h5");
  run({"train.data_seed=0"}, d / "same.h5");  // quickstart's seed is 0
  run({"train.data_seed=5"}, d / "other.h5");
  EXPECT_EQ(losses(d / "default.h5"), losses(d / "same.h5"));
  EXPECT_NE(losses(d / "default.h5"), losses(d / "other.h5"));

  std::vector<std::string> o = kTiny;
  const ResolvedRun base = load_run("quickstart", o);
  o.push_back("train.data_seed=5");
  const ResolvedRun moved = load_run("quickstart", o);
  CurriculumPrompts a(*base.task, base.train, training_stream(base));
  CurriculumPrompts b(*moved.task, moved.train, training_stream(moved));
  EXPECT_NE(a.batch(0), b.batch(0)) << "other prompts";
  auto ma = base.build_model(), mb = moved.build_model();
  ma->init(base.seed);
  mb->init(moved.seed);
  EXPECT_EQ(ma->parameters().all()[0]->value, mb->parameters().all()[0]->value)
      << "the same initialisation";
  // It changes what is trained: --resume refuses it without --force.
  const auto changes = config_changes(YAML::Load(base.yaml()), YAML::Load(moved.yaml()));
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].key, "train.data_seed");
  EXPECT_EQ(changes[0].kind, ConfigChange::Training);
}

// train.loss_on: last scores only the last example of each training prompt (Ahn et al. 2023's
// one-query loss); the prompts themselves are the same, and a task without vector prompts refuses.
TEST(Training, LossOnLastScoresOnlyTheLastExample) {
  std::vector<std::string> o = kTiny;
  const ResolvedRun all = load_run("quickstart", o);
  o.push_back("train.loss_on=last");
  const ResolvedRun last = load_run("quickstart", o);
  CurriculumPrompts a(*all.task, all.train, training_stream(all));
  CurriculumPrompts b(*last.task, last.train, training_stream(last));
  const PromptBatch pa = a.batch(3), pb = b.batch(3);
  const VectorPrompts& va = pa.as<VectorPrompts>("test");
  const VectorPrompts& vb = pb.as<VectorPrompts>("test");
  EXPECT_EQ(va.xs, vb.xs);
  EXPECT_EQ(va.ys, vb.ys);
  EXPECT_TRUE(va.loss_mask.empty());
  const int64_t K = vb.n_examples;
  ASSERT_EQ(vb.loss_mask.size(), size_t(vb.batch * K));
  for (int64_t i = 0; i < vb.batch * K; ++i)
    EXPECT_EQ(vb.loss_mask[size_t(i)], i % K == K - 1 ? 1 : 0) << i;
  const auto changes = config_changes(YAML::Load(all.yaml()), YAML::Load(last.yaml()));
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].key, "train.loss_on");
  EXPECT_EQ(changes[0].kind, ConfigChange::Training);
  try {
    load_run("grazzi2025/parity_quick", {"train.loss_on=last"});
    FAIL() << "token prompts accepted loss_on: last";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("train.loss_on: last needs vector prompts"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace icl

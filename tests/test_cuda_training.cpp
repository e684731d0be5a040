// The whole model on the GPU: training tracks the CPU, reruns and resume are bit-identical, the
// step is captured as a CUDA graph (vector prompts; token prompts run eagerly), evaluation
// matches, divergence stops with the step. Skipped
// (visibly) without a CUDA build or a GPU; the device-selection errors run everywhere.
#include <gtest/gtest.h>

#include <cmath>

#include "core/device.h"
#include "models/model.h"
#include "models/model_predictor.h"
#include "run/training.h"
#include "tests/cuda_harness.h"
#include "tests/train_fixture.h"
#include "train/trainer.h"

namespace icl {
namespace {

using namespace icl::test;

// Strict fp32 on the GPU: only the summation order differs from the CPU.
const std::vector<std::string> kFp32 = {"train.precision=fp32", "train.steps=20",
                                        "train.checkpoint_every=10"};

TEST(CudaTraining, TwentyStepsTrackTheCpuLosses) {
  ICL_REQUIRE_GPU();
  Dir d("gpu_track");
  run(kFp32, d / "cpu.h5", "", 0, "cpu");
  run(kFp32, d / "gpu.h5", "", 0, "cuda");
  const auto cpu = losses(d / "cpu.h5"), gpu = losses(d / "gpu.h5");
  ASSERT_EQ(cpu.size(), 20u);
  ASSERT_EQ(gpu.size(), 20u);
  for (size_t i = 0; i < cpu.size(); ++i)
    EXPECT_NEAR(gpu[i], cpu[i], 1e-4 * std::abs(cpu[i]) + 1e-6) << "step " << i + 1;
  const auto pc = params(d / "cpu.h5", "params"), pg = params(d / "gpu.h5", "params");
  expect_close(pg, pc, 1e-3, "parameters after 20 steps");
}

TEST(CudaTraining, Tf32TracksTheCpuLossesLoosely) {
  ICL_REQUIRE_GPU();
  Dir d("gpu_tf32");
  const std::vector<std::string> o = {"train.precision=tf32", "train.steps=20"};
  run(o, d / "cpu.h5", "", 0, "cpu");
  run(o, d / "gpu.h5", "", 0, "cuda");
  const auto cpu = losses(d / "cpu.h5"), gpu = losses(d / "gpu.h5");
  for (size_t i = 0; i < cpu.size(); ++i)
    EXPECT_NEAR(gpu[i], cpu[i], 1e-2 * std::abs(cpu[i]) + 1e-5) << "step " << i + 1;
}

TEST(CudaTraining, TwoGpuRunsAreBitIdentical) {
  ICL_REQUIRE_GPU();
  Dir d("gpu_rerun");
  run({}, d / "a.h5", "", 0, "cuda");
  run({}, d / "b.h5", "", 0, "cuda");
  EXPECT_EQ(losses(d / "a.h5"), losses(d / "b.h5"));
  EXPECT_EQ(params(d / "a.h5", "params"), params(d / "b.h5", "params"));
  EXPECT_EQ(params(d / "a.h5", "adam_m"), params(d / "b.h5", "adam_m"));
}

TEST(CudaTraining, HalfPlusResumePlusHalfEqualsWhole) {
  ICL_REQUIRE_GPU();
  Dir d("gpu_resume");
  run({"train.schedule=cosine"}, d / "whole.h5", "", 0, "cuda");
  run({"train.schedule=cosine"}, d / "half.h5", "", 6, "cuda");
  run({"train.schedule=cosine"}, d / "resumed.h5", d / "half.h5", 0, "cuda");
  EXPECT_EQ(losses(d / "whole.h5"), losses(d / "resumed.h5"));
  EXPECT_EQ(params(d / "whole.h5", "params"), params(d / "resumed.h5", "params"));
  EXPECT_EQ(params(d / "whole.h5", "adam_v"), params(d / "resumed.h5", "adam_v"));
}

// Per-layer statistics on the GPU (train/layer_stats.h): the gradients are read back after the
// captured step and the clip undone, the variances come from an eager pass in their own arena;
// both track the CPU's, and the losses are those of a run without statistics, bit for bit.
TEST(CudaTraining, LayerStatsTrackTheCpu) {
  ICL_REQUIRE_GPU();
  Dir d("gpu_layer_stats");
  std::vector<std::string> o = kFp32;
  o.push_back("train.layer_stats_every=5");
  run(o, d / "cpu.h5", "", 0, "cpu");
  run(o, d / "gpu.h5", "", 0, "cuda");
  run(kFp32, d / "plain.h5", "", 0, "cuda");
  EXPECT_EQ(losses(d / "gpu.h5"), losses(d / "plain.h5"));
  const auto column = [&](const std::string& path, const std::string& name) {
    const h5::Handle f = h5::open_file(path);
    return h5::read<double>(f.id(), "train/" + name);
  };
  for (const char* name : {"layer_grad_norm", "layer_variance"}) {
    const std::vector<double> c = column(d / "cpu.h5", name), g = column(d / "gpu.h5", name);
    ASSERT_EQ(c.size(), 5u * 2u) << name;  // steps 1, 5, 10, 15, 20 × 2 blocks
    ASSERT_EQ(g.size(), c.size()) << name;
    for (size_t i = 0; i < c.size(); ++i) EXPECT_NEAR(g[i], c[i], 1e-3 * c[i]) << name << " " << i;
  }
}

TEST(CudaTraining, TheStepIsCapturedAndReplayed) {
  ICL_REQUIRE_GPU();
  std::vector<std::string> o = kTiny;
  o.push_back("train.steps=20");
  const ResolvedRun cfg = load_run("quickstart", o);
  auto gpu = open_device("cuda", false);
  auto model = cfg.build_model();
  model->init(cfg.seed);
  model->parameters().to_device(*gpu);
  CurriculumPrompts prompts(*cfg.task, cfg.train, training_stream(cfg));
  Trainer t(cfg.train, *model, prompts, train_eval(cfg, *model));
  TrainState st;
  t.run(
      st, 20, [](const TrainState&) {}, false);
  // points ramp 4 → 6 every 5 steps (3 lengths): per length one eager step and one capture, so
  // at least 20 − 3·2 steps replayed the graph... the captures themselves count as launches too.
  EXPECT_GE(t.graph_replays(), 20 - 2 * 3);
  for (double l : st.log.loss) EXPECT_TRUE(std::isfinite(l));
}

TEST(CudaTraining, GpuPredictionsMatchTheCpu) {
  ICL_REQUIRE_GPU();
  const ResolvedRun cfg = load_run("quickstart", kTiny);
  auto gpu = open_device("cuda", false);
  auto on_cpu = cfg.build_model();
  auto on_gpu = cfg.build_model();
  on_cpu->init(3);
  on_gpu->init(3);
  on_gpu->parameters().to_device(*gpu);
  for (const char* query : {"standard", "orthogonal"}) {
    RawParams p = raw_params(cfg.task->params());
    p["query"] = query;
    const auto task = resolve_task(cfg.task->name(), p, "task");
    const PromptBatch pb = task->sample({5, 1}, 0, 7, 3);
    const auto a = ModelPredictor(*on_cpu, "m").predict(pb);
    const auto b = ModelPredictor(*on_gpu, "m").predict(pb);
    expect_close(b, a, 1e-5, std::string("predictions, query ") + query);
  }
}

TEST(CudaTraining, DivergenceStopsWithTheStepAndKeepsTheParameters) {
  ICL_REQUIRE_GPU();
  Dir d("gpu_nan");
  run({}, d / "r.h5", "", 4, "cuda");
  const auto before = params(d / "r.h5", "params");
  try {
    run({"task.y_scale=1e20"}, d / "r.h5", d / "r.h5", 0, "cuda");
    FAIL() << "expected the run to stop";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("training diverged at step 5"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(params(d / "r.h5", "params"), before);
}

// Token prompts train on the GPU too (eager steps, never captured): the maze task, next token with
// learned and with rotary positions, and MLM-U with one non-causal stack and with the
// encoder-decoder (past: attention with hidden keys, concatenation); parity with DeltaNet and
// Mamba (negative eigenvalues, chunked). Losses track the CPU's, the parameters after training
// agree, and a second GPU run is bit-identical.
BenchmarkResult run_tokens(const std::string& benchmark, std::vector<std::string> o,
                           const std::string& out, const std::string& device) {
  for (const char* s :
       {"train.precision=fp32", "train.steps=12", "train.batch_size=8", "train.warmup=2",
        "train.eval_every=6", "train.eval_prompts=4", "train.checkpoint_every=6", "eval.prompts=16",
        "eval.bootstrap=20", "model.n_layer=2", "model.n_embd=16", "model.n_head=2"})
    o.push_back(s);
  const ResolvedRun cfg = load_run(benchmark, o);
  AtomicH5Output file(out);
  RunOptions ro;
  ro.progress = false;
  ro.device = device;
  return run_benchmark(cfg, file, ro);
}

std::vector<float> token_params(const std::string& path) {
  const h5::Handle f = h5::open_file(path);
  const h5::Handle g = h5::open_group(f.id(), "checkpoint/params");
  std::vector<float> all;
  // Names every token model has: the embedding, an MLP of the first block, the read-out.
  for (const char* n : {"embed.w", "blocks.0.mlp.w_out", "read_out.w"}) {
    const auto v = h5::read<float>(g.id(), n);
    all.insert(all.end(), v.begin(), v.end());
  }
  return all;
}

TEST(CudaTraining, TokenTasksTrackTheCpuLosses) {
  ICL_REQUIRE_GPU();
  Dir d("gpu_tokens");
  struct Variant {
    const char* benchmark;
    std::vector<std::string> o;
  };
  for (const Variant& v :
       {Variant{"nolte2024/dfs_mazes_quick", {}},
        Variant{"nolte2024/dfs_mazes_quick", {"model.pos=rope"}},
        Variant{"nolte2024/dfs_mazes_mlmu_single_stack_quick", {"model.pos=rope"}},
        Variant{"nolte2024/dfs_mazes_mlmu_quick", {}},
        Variant{"grazzi2025/parity_deltanet_quick", {}},
        Variant{"grazzi2025/parity_mamba_quick", {}}}) {
    const std::string what = std::string(v.benchmark) + (v.o.empty() ? "" : " " + v.o[0]);
    SCOPED_TRACE(what);
    run_tokens(v.benchmark, v.o, d / "cpu.h5", "cpu");
    run_tokens(v.benchmark, v.o, d / "gpu.h5", "cuda");
    run_tokens(v.benchmark, v.o, d / "gpu2.h5", "cuda");
    const auto cpu = losses(d / "cpu.h5"), gpu = losses(d / "gpu.h5");
    ASSERT_EQ(cpu.size(), 12u);
    ASSERT_EQ(gpu.size(), 12u);
    for (size_t i = 0; i < cpu.size(); ++i)
      EXPECT_NEAR(gpu[i], cpu[i], 1e-4 * std::abs(cpu[i]) + 1e-6) << "step " << i + 1;
    expect_close(token_params(d / "gpu.h5"), token_params(d / "cpu.h5"), 1e-3,
                 what + ": parameters after 12 steps");
    EXPECT_EQ(losses(d / "gpu2.h5"), gpu);
    EXPECT_EQ(token_params(d / "gpu2.h5"), token_params(d / "gpu.h5"));
  }
}

TEST(DeviceChoice, UnknownDeviceIsAnErrorNamingTheChoices) {
  try {
    open_device("tpu", true);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "device: must be one of auto|cpu|cuda, got 'tpu'");
  }
}

TEST(DeviceChoice, CudaWithoutAGpuIsAOneLineError) {
  if (gpu_available()) GTEST_SKIP() << "a GPU is visible: the error cannot happen here";
  try {
    open_device("cuda", true);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    EXPECT_TRUE(m.starts_with("device cuda: ")) << m;
  }
  EXPECT_EQ(open_device("auto", true), nullptr);
  EXPECT_EQ(open_device("cpu", true), nullptr);
}

}  // namespace
}  // namespace icl

// Training runs end to end on a tiny configuration: bit-identical reruns, N steps == N/2 + resume +
// N/2, checkpoint errors, the NaN guard, and `icl eval` on a trained checkpoint.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "eval/benchmark.h"
#include "io/h5.h"
#include "train/checkpoint.h"

namespace icl {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kTiny = {"task.d=3",
                                        "eval.prompts=32",
                                        "eval.examples=6",
                                        "eval.bootstrap=20",
                                        "model.n_layer=2",
                                        "model.n_embd=8",
                                        "model.n_head=2",
                                        "train.steps=12",
                                        "train.batch_size=4",
                                        "train.eval_every=5",
                                        "train.eval_prompts=8",
                                        "train.checkpoint_every=4",
                                        "train.warmup=2",
                                        "train.curriculum.dims.start=2",
                                        "train.curriculum.dims.end=3",
                                        "train.curriculum.dims.every=5",
                                        "train.curriculum.points.start=4",
                                        "train.curriculum.points.end=6",
                                        "train.curriculum.points.every=5"};

struct Dir {
  fs::path p;
  explicit Dir(const std::string& name)
      : p(fs::temp_directory_path() / fmt::format("icl_train_{}_{}", name, ::getpid())) {
    fs::remove_all(p);
    fs::create_directories(p);
  }
  ~Dir() { fs::remove_all(p); }
  std::string operator/(const std::string& f) const { return (p / f).string(); }
};

BenchmarkResult run(const std::vector<std::string>& extra, const std::string& out,
                    const std::string& resume = "", int64_t until = 0) {
  std::vector<std::string> o = kTiny;
  o.insert(o.end(), extra.begin(), extra.end());
  const BenchmarkConfig cfg = load_benchmark("quickstart", o);
  AtomicH5Output file(out);
  RunOptions ro;
  ro.progress = false;
  ro.resume = resume;
  ro.until = until;
  return run_benchmark(cfg, file, ro);
}

std::vector<double> losses(const std::string& path) {
  const h5::Handle f = h5::open_file(path);
  return h5::read<double>(f.id(), "train/loss");
}

std::vector<float> params(const std::string& path, const std::string& group) {
  const h5::Handle f = h5::open_file(path);
  const h5::Handle g = h5::open_group(f.id(), "checkpoint/" + group);
  std::vector<float> all;
  for (const char* n : {"read_in.w", "blocks.1.attn.w_qkv", "blocks.0.mlp.w_out", "read_out.w"}) {
    const auto v = h5::read<float>(g.id(), n);
    all.insert(all.end(), v.begin(), v.end());
  }
  return all;
}

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

}  // namespace
}  // namespace icl

// Evaluation harness and results.h5: bootstrap intervals, the file layout of docs/DESIGN.md
// ("results.h5"), atomic writes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>

#include <fmt/format.h>

#include "baselines/baseline.h"
#include "core/error.h"
#include "core/isa.h"
#include "core/memory.h"
#include "core/threads.h"
#include "eval/evaluate.h"
#include "eval/memory_estimate.h"
#include "eval/results.h"
#include "eval/streams.h"
#include "io/h5.h"
#include "run/config_file.h"
#include "run/run_benchmark.h"
#include "run/run_checks.h"
#include "tasks/check_finite.h"
#include "tests/errors.h"

namespace icl {
namespace {

// A quiet evaluation of `prompts` prompts of `examples` examples (bootstrap as given, or the
// default).
EvalOptions quiet(int64_t prompts, int64_t examples, int64_t bootstrap = EvalOptions{}.bootstrap) {
  EvalOptions opt;
  opt.prompts = prompts;
  opt.examples = examples;
  opt.bootstrap = bootstrap;
  opt.progress = false;
  return opt;
}

namespace fs = std::filesystem;

// Runs `cfg` without progress lines into the results file `out`.
BenchmarkResult run_quietly(const ResolvedRun& cfg, const std::string& out) {
  AtomicH5Output file(out);
  RunOptions quiet;
  quiet.progress = false;
  return run_benchmark(cfg, file, quiet);
}

fs::path temp_dir(const std::string& name) {
  const fs::path p =
      fs::temp_directory_path() / fmt::format("icl_test_eval_{}_{}", name, ::getpid());
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

TEST(Bootstrap, IntervalBracketsTheMeanAndMatchesNormalTheory) {
  // Per-prompt values with known spread: the 90% interval of the mean is ±1.645·σ/√P.
  const int64_t P = 2000, K = 3;
  std::vector<double> e(size_t(P * K));
  Rng rng({1, 2}, 0);
  for (auto& v : e) v = 2.0 * rng.normal() + 1.0;
  const CurveStats s = summarise(e, P, K, 2000, {3, 4});
  for (int64_t k = 0; k < K; ++k) {
    EXPECT_LT(s.lo[size_t(k)], s.mean[size_t(k)]);
    EXPECT_GT(s.hi[size_t(k)], s.mean[size_t(k)]);
    const double half = (s.hi[size_t(k)] - s.lo[size_t(k)]) / 2;
    EXPECT_NEAR(half, 1.645 * 2.0 / std::sqrt(double(P)), 0.1 * half);
  }
  const CurveStats again = summarise(e, P, K, 2000, {3, 4});
  EXPECT_EQ(s.lo, again.lo);
  EXPECT_EQ(s.hi, again.hi);
}

TEST(Bootstrap, ConstantValuesGiveADegenerateInterval) {
  const std::vector<double> e(40, 0.25);
  const CurveStats s = summarise(e, 20, 2, 100, {0, 0});
  EXPECT_EQ(s.mean, std::vector<double>(2, 0.25));
  EXPECT_EQ(s.lo, s.mean);
  EXPECT_EQ(s.hi, s.mean);
}

TEST(Evaluate, IndependentOfBatchSize) {
  const auto task = make_task("linear_regression", {{"d", "5"}, {"noise_std", "0.1"}});
  const auto ls = make_baseline("least_squares", {});
  const auto knn = make_baseline("knn", {});
  EvalOptions a;
  a.prompts = 100;
  a.examples = 9;
  a.bootstrap = 100;
  a.progress = false;
  EvalOptions b = a;
  a.batch_size = 1;
  b.batch_size = 64;
  const RngKey key{3, stream_id("batch")};
  const EvalResult ra = evaluate("s", *task, {ls.get(), knn.get()}, key, a);
  const EvalResult rb = evaluate("s", *task, {ls.get(), knn.get()}, key, b);
  for (size_t j = 0; j < 2; ++j) {
    EXPECT_EQ(ra.curves[j].stats.mean, rb.curves[j].stats.mean);
    EXPECT_EQ(ra.curves[j].stats.lo, rb.curves[j].stats.lo);
    EXPECT_EQ(ra.curves[j].stats.hi, rb.curves[j].stats.hi);
  }
}

TEST(Evaluate, QueriesAreScoredAgainstTheirOwnLabels) {
  // Overlapping queries repeat an earlier point, so 1-NN is exact from k = 1 on.
  const auto task = make_task("linear_regression", {{"d", "4"}, {"query", "overlapping"}});
  const auto nn = make_baseline("knn", {{"k", "1"}});
  const EvalOptions opt = quiet(50, 10, 50);
  const EvalResult r = evaluate("o", *task, {nn.get()}, {1, 1}, opt);
  for (int64_t k = 1; k < 10; ++k) EXPECT_LT(r.curves[0].stats.mean[size_t(k)], 1e-10);
}

// Accuracy is sign(ŷ) == y with sign(0) = 0, as in the Boolean reference code (docs/TASKS.md):
// a predictor that answers 0 is wrong on every example, whichever label is more common.
TEST(Evaluate, AccuracyCountsAZeroPredictionAsWrong) {
  EXPECT_EQ(metric_value(Metric::Accuracy, 0.0, 1.0), 0.0);
  EXPECT_EQ(metric_value(Metric::Accuracy, 0.0, -1.0), 0.0);
  EXPECT_EQ(metric_value(Metric::Accuracy, std::nan(""), 1.0), 0.0);
  EXPECT_EQ(metric_value(Metric::Accuracy, 0.3, 1.0), 1.0);
  EXPECT_EQ(metric_value(Metric::Accuracy, -1e-30, -1.0), 1.0);
  EXPECT_EQ(metric_value(Metric::Accuracy, 0.3, -1.0), 0.0);
  const auto task = make_task("conjunction", {});
  const auto zero = make_baseline("zero", {});
  const EvalOptions opt = quiet(64, 12, 20);
  const EvalResult r = evaluate("z", *task, {zero.get()}, {2, 2}, opt);
  for (double m : r.curves[0].stats.mean) EXPECT_EQ(m, 0.0);
}

// The pairwise prediction difference against the predictions themselves: the mean over prompts of
// (p − q)² per k from the two predictors' own outputs, symmetric, zero on the diagonal, and the
// curves unchanged by asking for it.
TEST(Evaluate, PredictionDifferenceIsTheMeanSquaredGapBetweenPredictions) {
  const auto task = make_task("linear_regression", {{"d", "4"}, {"noise_std", "0.5"}});
  const auto ls = make_baseline("least_squares", {});
  const auto ridge = make_baseline("ridge", {{"lambda", "0.5"}});
  const auto avg = make_baseline("averaging", {});
  const std::vector<const Predictor*> preds{ls.get(), ridge.get(), avg.get()};
  EvalOptions opt = quiet(40, 9, 50);
  opt.batch_size = 16;  // several batches
  const RngKey key{7, stream_id("spd")};
  const EvalResult plain = evaluate("s", *task, preds, key, opt);
  opt.prediction_difference = true;
  const EvalResult r = evaluate("s", *task, preds, key, opt);
  ASSERT_EQ(r.difference, Difference::SquaredDifference);
  const PromptBatch batch = task->sample(key, 0, 40, 9);
  std::vector<std::vector<float>> out;
  for (const Predictor* p : preds) out.push_back(p->predict(batch));
  for (size_t i = 0; i < preds.size(); ++i) {
    EXPECT_EQ(r.curves[i].stats.mean, plain.curves[i].stats.mean);
    ASSERT_EQ(r.curves[i].difference.size(), preds.size());
    for (size_t j = 0; j < preds.size(); ++j)
      for (int64_t k = 0; k < 9; ++k) {
        double want = 0;
        for (int64_t b = 0; b < 40; ++b) {
          const double g = double(out[i][size_t(b * 9 + k)]) - double(out[j][size_t(b * 9 + k)]);
          want += g * g / 40;
        }
        const CurveStats& got = r.curves[i].difference[j];
        EXPECT_NEAR(got.mean[size_t(k)], want, 1e-12 * (1 + want)) << i << " vs " << j;
        EXPECT_LE(got.lo[size_t(k)], got.mean[size_t(k)] + 1e-12);
        EXPECT_GE(got.hi[size_t(k)], got.mean[size_t(k)] - 1e-12);
        EXPECT_EQ(got.mean, r.curves[j].difference[i].mean);
        if (i == j) {
          EXPECT_EQ(got.mean[size_t(k)], 0.0);
        }
      }
  }
  // Least squares and ridge differ most near k = d, and agree at k = 0 (both predict 0).
  EXPECT_EQ(r.curves[0].difference[1].mean[0], 0.0);
  EXPECT_GT(r.curves[0].difference[1].mean[4], r.curves[0].difference[1].mean[8]);
}

// Accuracy tasks compare signs: the null classifier (always −1) and the zero predictor disagree
// everywhere (sign 0 is neither), and a predictor agrees with itself.
TEST(Evaluate, PredictionDifferenceOfAccuracyTasksIsSignDisagreement) {
  EXPECT_EQ(difference_value(Difference::SignDisagreement, 0.0, -1.0), 1.0);
  EXPECT_EQ(difference_value(Difference::SignDisagreement, 0.2, 3.0), 0.0);
  EXPECT_EQ(difference_value(Difference::SignDisagreement, -0.2, 3.0), 1.0);
  EXPECT_EQ(difference_value(Difference::SquaredDifference, 1.5, -0.5), 4.0);
  const auto task = make_task("conjunction", {});
  const auto zero = make_baseline("zero", {});
  const auto null = make_baseline("null_classifier", {});
  EvalOptions opt = quiet(32, 10, 20);
  opt.prediction_difference = true;
  const EvalResult r = evaluate("c", *task, {zero.get(), null.get()}, {2, 3}, opt);
  EXPECT_EQ(r.difference, Difference::SignDisagreement);
  for (double m : r.curves[0].difference[1].mean) EXPECT_EQ(m, 1.0);
}

TEST(Evaluate, PredictionDifferenceNeedsVectorPrompts) {
  const auto task = make_task("parity_check", {});
  EvalOptions opt = quiet(8, 1, 20);
  opt.lengths = {8};
  opt.prediction_difference = true;
  EXPECT_NE(test::error_of([&] {
              evaluate("p", *task, {}, {1, 1}, opt);
            }).find("prediction differences need vector prompts; parity_check has token"),
            std::string::npos);
}

// The results file holds every ordered pair under /eval/<set>/<p>/difference/<q>, the figure
// reader finds it by `against`, and the config key is per set with the eval default.
TEST(Results, PredictionDifferencesAreWrittenAndRead) {
  const fs::path dir = temp_dir("spd");
  ResolvedRun cfg = load_run("linear_regression_baselines_small",
                             {"eval.prompts=32", "eval.bootstrap=50",
                              "eval.sets={a: {prediction_difference: true}, b: {}}"});
  ASSERT_TRUE(cfg.evals[0].prediction_difference);
  ASSERT_FALSE(cfg.evals[1].prediction_difference);
  // The resolved config says so, and reads back the same.
  EXPECT_NE(cfg.yaml().find("prediction_difference: true"), std::string::npos);
  YAML::Node tree = YAML::Load(cfg.yaml());
  tree.remove("benchmark");  // the name it was resolved from, not a setting
  const ResolvedRun again = resolve_run(tree, cfg.name, "resolved");
  EXPECT_TRUE(again.evals[0].prediction_difference);
  EXPECT_FALSE(again.evals[1].prediction_difference);
  EXPECT_EQ(again.yaml(), cfg.yaml());
  const std::string out = (dir / "r.h5").string();
  const BenchmarkResult res = run_quietly(cfg, out);
  const h5::Handle f = h5::open_file(out);
  const h5::Handle g = h5::open_group(f.id(), "eval/a");
  EXPECT_EQ(h5::read_attr_string(g.id(), "prediction_difference"), "squared_difference");
  const auto& curves = res.evals[0].curves;
  for (size_t i = 0; i < curves.size(); ++i)
    for (size_t j = 0; j < curves.size(); ++j) {
      const std::string path = curves[i].label + "/difference/" + curves[j].label + "/mean";
      if (i == j) {
        EXPECT_FALSE(h5::exists(g.id(), path));
        continue;
      }
      EXPECT_EQ(h5::read<double>(g.id(), path), curves[i].difference[j].mean) << path;
    }
  EXPECT_FALSE(h5::exists(f.id(), "eval/b/" + curves[0].label + "/difference"));
  EXPECT_NE(summary_table(res.evals[0]).find("squared_difference from"), std::string::npos);
  fs::remove_all(dir);
}

// Per-prompt scores: the curve's mean is their mean (the same sum), for a vector task with
// prediction differences and for the maze's token prompts and path metrics; off, none are kept,
// and the curves are the same either way.
TEST(Evaluate, PerPromptScoresAreWhatTheMeanAverages) {
  const auto column_means = [](const CurveStats& s) {
    const size_t K = s.mean.size(), P = s.per_prompt.size() / K;
    std::vector<double> m(K, 0.0);
    for (size_t p = 0; p < P; ++p)
      for (size_t k = 0; k < K; ++k) m[k] += s.per_prompt[p * K + k];
    for (auto& v : m) v /= double(P);
    return m;
  };
  {
    const auto task = make_task("linear_regression", {{"d", "4"}});
    const auto ls = make_baseline("least_squares", {});
    const auto avg = make_baseline("averaging", {});
    EvalOptions opt = quiet(40, 9, 50);
    opt.batch_size = 16;
    opt.prediction_difference = true;
    const RngKey key{7, stream_id("per prompt")};
    const EvalResult plain = evaluate("s", *task, {ls.get(), avg.get()}, key, opt);
    EXPECT_TRUE(plain.curves[0].stats.per_prompt.empty());
    opt.per_prompt = true;
    const EvalResult r = evaluate("s", *task, {ls.get(), avg.get()}, key, opt);
    for (size_t i = 0; i < 2; ++i) {
      EXPECT_EQ(r.curves[i].stats.mean, plain.curves[i].stats.mean);
      EXPECT_EQ(r.curves[i].stats.lo, plain.curves[i].stats.lo);
      ASSERT_EQ(r.curves[i].stats.per_prompt.size(), 40u * 9u);
      EXPECT_EQ(column_means(r.curves[i].stats), r.curves[i].stats.mean);
      for (size_t j = 0; j < 2; ++j)
        EXPECT_EQ(column_means(r.curves[i].difference[j]), r.curves[i].difference[j].mean);
    }
  }
  const auto maze = make_task("maze", {{"min_length", "3"}, {"max_length", "4"}, {"max_n", "4"}});
  const auto bfs = make_baseline("maze_bfs", {});
  EvalOptions opt = quiet(12, 1, 50);
  opt.lengths = {3, 4};
  opt.per_prompt = true;
  const EvalResult r = evaluate("m", *maze, {bfs.get()}, {3, 3}, opt);
  const PredictorCurve& c = r.curves[0];
  ASSERT_EQ(c.stats.per_prompt.size(), 12u * 2u);
  EXPECT_EQ(column_means(c.stats), c.stats.mean);
  ASSERT_EQ(c.extra.size(), 4u);
  for (const auto& [metric, stats] : c.extra) {
    ASSERT_EQ(stats.per_prompt.size(), 24u) << metric;
    EXPECT_EQ(column_means(stats), stats.mean) << metric;
    for (double v : stats.per_prompt) EXPECT_EQ(v, 1.0) << metric;  // BFS is exact
  }
}

// eval.per_prompt: in the resolved config only when on (every other run's config is unchanged),
// read back the same, and written as per_prompt [prompts, points] beside every mean.
TEST(Results, PerPromptScoresAreWrittenWhenAsked) {
  const fs::path dir = temp_dir("per_prompt");
  const ResolvedRun off = load_run("linear_regression_baselines_small", {"eval.prompts=16"});
  EXPECT_EQ(off.yaml().find("per_prompt"), std::string::npos);
  ResolvedRun cfg = load_run("linear_regression_baselines_small",
                             {"eval.prompts=16", "eval.bootstrap=50", "eval.per_prompt=true"});
  EXPECT_NE(cfg.yaml().find("per_prompt: true"), std::string::npos);
  YAML::Node tree = YAML::Load(cfg.yaml());
  tree.remove("benchmark");
  EXPECT_EQ(resolve_run(tree, cfg.name, "resolved").yaml(), cfg.yaml());
  const std::string out = (dir / "r.h5").string();
  const BenchmarkResult res = run_quietly(cfg, out);
  const h5::Handle f = h5::open_file(out);
  const std::string set = res.evals[0].name, label = res.evals[0].curves[0].label;
  const h5::Handle g = h5::open_group(f.id(), "eval/" + set + "/" + label);
  const std::vector<double> pp = h5::read<double>(g.id(), "per_prompt");
  EXPECT_EQ(pp, res.evals[0].curves[0].stats.per_prompt);
  EXPECT_EQ(int64_t(pp.size()), 16 * int64_t(res.evals[0].curves[0].stats.mean.size()));
  fs::remove_all(dir);
}

TEST(Results, FileFollowsTheDesignLayout) {
  const fs::path dir = temp_dir("layout");
  ResolvedRun cfg =
      load_run("linear_regression_baselines_small", {"eval.prompts=32", "eval.bootstrap=50"});
  const std::string out = (dir / "r.h5").string();
  const BenchmarkResult res = run_quietly(cfg, out);
  ASSERT_TRUE(fs::exists(out));
  const h5::Handle f = h5::open_file(out);
  for (const char* a :
       {"iclbench_version", "git_commit", "created", "config", "benchmark", "device", "build_isa"})
    EXPECT_FALSE(h5::read_attr_string(f.id(), a).empty()) << a;
  EXPECT_EQ(h5::read_attr_string(f.id(), "build_isa"), build_isa());
  EXPECT_EQ(h5::read_attr_int(f.id(), "cpu_threads"), threads::in_use());
  EXPECT_NE(h5::read_attr_string(f.id(), "config").find("least_squares"), std::string::npos);
  const h5::Handle g = h5::open_group(f.id(), "eval/standard");
  EXPECT_EQ(h5::read_attr_string(g.id(), "metric"), "squared_error");
  EXPECT_EQ(h5::read_attr_string(g.id(), "task"), "linear_regression");
  std::vector<int64_t> dims;
  const auto n = h5::read<int64_t>(g.id(), "n_examples", &dims);
  ASSERT_EQ(dims, std::vector<int64_t>{25});
  for (int64_t k = 0; k < 25; ++k) EXPECT_EQ(n[size_t(k)], k);
  for (const auto& c : res.evals[0].curves) {
    for (const char* s : {"mean", "lo", "hi"}) {
      const auto v = h5::read<double>(g.id(), c.label + "/" + s, &dims);
      EXPECT_EQ(dims, std::vector<int64_t>{25});
    }
    EXPECT_EQ(h5::read<double>(g.id(), c.label + "/mean"), c.stats.mean);
  }
  // Nothing but the results file is left in the directory.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
  fs::remove_all(dir);
}

TEST(Results, FailedRunLeavesNoFile) {
  const fs::path dir = temp_dir("atomic");
  const std::string out = (dir / "r.h5").string();
  {
    AtomicH5Output o(out);
    h5::attr(o.root(), "x", std::string("half-written"));
    // destroyed without commit(), as when an exception unwinds a run
  }
  EXPECT_FALSE(fs::exists(out));
  EXPECT_TRUE(fs::is_empty(dir));
  // An existing file is only replaced once the new one is complete.
  { std::ofstream(out) << "old"; }
  { AtomicH5Output o(out); }
  std::ifstream in(out);
  std::string text;
  in >> text;
  EXPECT_EQ(text, "old");
  fs::remove_all(dir);
}

TEST(Results, UnwritableDestinationFailsBeforeAnyWork) {
  const fs::path dir = temp_dir("isdir");
  EXPECT_THROW(AtomicH5Output(dir.string()), Error);
  std::ofstream(dir / "file") << "x";  // a regular file where a directory would have to be
  EXPECT_THROW(AtomicH5Output((dir / "file" / "x.h5").string()), Error);
  EXPECT_THROW(AtomicH5Output((dir / "file" / "sub" / "x.h5").string()), Error);
  // Directories made on the way are removed again when the output is never committed.
  { AtomicH5Output((dir / "a" / "b" / "x.h5").string()); }
  EXPECT_FALSE(fs::exists(dir / "a"));
  fs::remove_all(dir);
}

// ------------------------------------------------------------------------------------------------
// Memory checked before allocating (core/memory.h, eval/memory_estimate.h) and non-finite values
// from finite settings (tasks/check_finite.h, evaluate()).

// Sets an environment variable for one scope and restores what was there.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value)
      ::setenv(name, value, 1);
    else
      ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

TEST(Memory, SizesAndTheirOverflow) {
  EXPECT_EQ(memory::parse_size("512"), 512);
  EXPECT_EQ(memory::parse_size("64K"), 64 << 10);
  EXPECT_EQ(memory::parse_size("3M"), 3 << 20);
  EXPECT_EQ(memory::parse_size("2g"), int64_t(2) << 30);
  for (const char* bad : {"", "G", "-1", "1.5G", "12X", "1e9", "99999999999999999999", "9999999T"})
    EXPECT_EQ(memory::parse_size(bad), -1) << bad;
  EXPECT_EQ(memory::checked_product({1000, 1000, 1000}, "x"), 1000000000);
  EXPECT_EQ(memory::checked_product({0, INT64_MAX, 5}, "x"), 0);
  const std::string msg = test::error_of([] {
    memory::checked_product({int64_t(1) << 40, int64_t(1) << 30}, "--prompts");
  });
  EXPECT_TRUE(contains(msg, "--prompts: the size 1099511627776 x 1073741824 overflows")) << msg;
  EXPECT_TRUE(contains(test::error_of([] {
                         memory::checked_sum({INT64_MAX, 1}, "eval.x");
                       }),
                       "eval.x: the total size overflows"));
  EXPECT_EQ(memory::format_bytes(6.7e12), "6.7 TB");
  EXPECT_EQ(memory::format_bytes(512), "512 B");
}

TEST(Memory, TheBudgetComesFromTheEnvironmentOrTheMachine) {
  {
    ScopedEnv env("ICL_MAX_MEMORY", "1M");
    EXPECT_EQ(memory::available(), 1 << 20);
    EXPECT_EQ(memory::available_source(), "ICL_MAX_MEMORY");
    memory::check_fits(1 << 20, "fits");
    EXPECT_EQ(test::error_of([] { memory::check_fits(3000000, "--prompts 7"); }),
              "--prompts 7 need about 3.0 MB, 1.0 MB is available (ICL_MAX_MEMORY)");
  }
  {
    ScopedEnv env("ICL_MAX_MEMORY", "lots");
    const std::string msg = test::error_of([] { memory::available(); });
    EXPECT_TRUE(contains(msg, "ICL_MAX_MEMORY: expected a number of bytes")) << msg;
    EXPECT_TRUE(contains(msg, "'lots'")) << msg;
  }
  ScopedEnv none("ICL_MAX_MEMORY", nullptr);
  // This machine: MemAvailable or a cgroup's room, never more than the machine has.
  EXPECT_GT(memory::available(), 0);
  EXPECT_TRUE(memory::available_source() == "free memory" ||
              memory::available_source() == "cgroup memory limit")
      << memory::available_source();
}

// The estimate of a vector task's prompts is extrapolated from K = 1 and 2, and must equal what
// sample() allocates at a larger K (also with separate query points and a shared covariance).
TEST(Memory, PromptEstimateMatchesTheSampledBuffers) {
  for (const auto& [name, raw] : std::vector<std::pair<std::string, RawParams>>{
           {"linear_regression", {{"d", "7"}}},
           {"linear_regression", {{"d", "9"}, {"query", "overlapping"}}},
           {"relu_2nn_regression", {{"d", "4"}}},
           {"sparse_parity", {}},
           {"parity_check", {}},
       }) {
    const auto task = make_task(name, raw);
    const int64_t K = 9, B = 3;
    const PromptFootprint f = prompt_footprint(*task, K, "x");
    const PromptBatch pb = task->sample({1, 2}, 0, B, K);
    EXPECT_EQ(B * f.per_prompt + f.shared, batch_bytes(pb)) << name;
  }
}

TEST(Memory, EvaluationSizesAreCheckedBeforeAllocating) {
  ScopedEnv env("ICL_MAX_MEMORY", "64M");
  const auto task = make_task("linear_regression", {{"d", "20"}});
  const auto ls = make_baseline("least_squares", {});
  const EvalOptions opt = quiet(1000000000, 40);
  const std::string msg = test::error_of([&] {
    evaluate("standard", *task, {ls.get()}, {0, 0}, opt);
  });
  EXPECT_TRUE(contains(msg, "eval standard: 1000000000 prompts x 40 examples")) << msg;
  EXPECT_TRUE(contains(msg, "67.1 MB is available (ICL_MAX_MEMORY)")) << msg;
}

// icl run checks every evaluation set and the training batch before training starts, naming the
// setting (cli/cmd_run.cpp calls check_run_memory after loading the config).
TEST(Memory, RunSizesNameTheirSetting) {
  ScopedEnv env("ICL_MAX_MEMORY", "1G");
  check_run_memory(load_run("quickstart"));
  std::string msg = test::error_of(
      [] { check_run_memory(load_run("quickstart", {"eval.sets.standard.prompts=1000000000"})); });
  EXPECT_TRUE(
      contains(msg, "eval.sets.standard.prompts 1000000000 x eval.sets.standard.examples 15"))
      << msg;
  EXPECT_TRUE(contains(msg, "is available (ICL_MAX_MEMORY)")) << msg;
  msg = test::error_of(
      [] { check_run_memory(load_run("quickstart", {"train.batch_size=10000000"})); });
  EXPECT_TRUE(contains(msg, "train.batch_size 10000000")) << msg;
  msg = test::error_of(
      [] { check_run_memory(load_run("quickstart", {"train.eval_prompts=10000000"})); });
  EXPECT_TRUE(contains(msg, "train.eval_prompts 10000000")) << msg;
}

// Nothing legitimate is cut off: every published benchmark passes the checks icl run makes before
// any work, its memory estimate within 100 GiB (the paper-scale configs are meant for a machine of
// 128 GB) and every other config's within 8 GiB, and its first prompts finite. (The maze paper
// configs evaluate 16 prompts at a time: at 64, training's periodic evaluation alone takes about
// 100 GB; tests/test_model_memory.cpp, ModelMemory.MazePaperConfigsAreRefusedOn24GiB.)
TEST(Memory, EveryPublishedBenchmarkPassesTheRunChecks) {
  for (const auto& name : list_benchmarks()) {
    SCOPED_TRACE(name);
    const bool paper = name.find("_paper") != std::string::npos;
    ScopedEnv env("ICL_MAX_MEMORY", paper ? "100G" : "8G");
    const ResolvedRun cfg = load_run(name);
    EXPECT_NO_THROW(check_run_memory(cfg));
    EXPECT_NO_THROW(check_run_prompts(cfg));
  }
}

// Settings whose product overflows are refused before a run trains or evaluates anything
// (cli/cmd_run.cpp calls check_run_prompts after loading the config), naming the set first.
TEST(NonFinite, RunPromptsAreCheckedBeforeAnyWork) {
  check_run_prompts(load_run("quickstart"));
  const std::string msg = test::error_of([] {
    check_run_prompts(
        load_run("quickstart", {"task.w_std=1e15", "task.x_scale=1e15", "task.y_scale=1e15"}));
  });
  EXPECT_TRUE(contains(msg, "eval standard: task linear_regression made a non-finite prompt value"))
      << msg;
  EXPECT_TRUE(contains(msg, "y_scale=1e+15 (default 1)")) << msg;
  // Only the training task overflows when the evaluation set shifts the scale back.
  const std::string train = test::error_of([] {
    check_run_prompts(
        load_run("quickstart", {"task.w_std=1e15", "task.x_scale=1e15", "task.y_scale=1e15",
                                "eval.sets.standard.task.y_scale=1"}));
  });
  EXPECT_TRUE(contains(train, "train: task linear_regression made a non-finite prompt value"))
      << train;
}

// A predictor whose outputs are NaN: evaluation must not write NaN curves silently.
class NanPredictor : public Predictor {
 public:
  std::string label() const override { return "nan_maker"; }
  std::string name() const override { return "nan_maker"; }
  const char* kind() const override { return "baseline"; }
  const ParamSet& params() const override { return params_; }
  std::vector<float> predict(const PromptBatch& pb) const override {
    return std::vector<float>(size_t(pb.batch() * pb.n_examples() * example_dims(pb).dy),
                              std::nanf(""));
  }

 private:
  ParamSet params_;
};

TEST(NonFinite, ACurveFromFinitePromptsNamesTheSetAndPredictor) {
  const auto task = make_task("linear_regression", {{"d", "3"}, {"noise_std", "0.5"}});
  const NanPredictor nan;
  const EvalOptions opt = quiet(8, 4);
  const std::string msg = test::error_of([&] { evaluate("shifted", *task, {&nan}, {0, 0}, opt); });
  EXPECT_TRUE(contains(msg, "eval shifted: predictor nan_maker has a non-finite squared_error"))
      << msg;
  EXPECT_TRUE(contains(msg, "task linear_regression")) << msg;
  EXPECT_TRUE(contains(msg, "noise_std=0.5 (default 0)")) << msg;
}

// Scales each in range whose product overflows fp32: the prompts are refused where they are
// sampled, naming the parameters that differ from their defaults.
TEST(NonFinite, OverflowingPromptsNameTheSuspectParameters) {
  const auto task =
      make_task("linear_regression",
                {{"w_std", "1e15"}, {"x_scale", "1e15"}, {"y_scale", "1e15"}, {"d", "4"}});
  const auto ls = make_baseline("least_squares", {});
  const EvalOptions opt = quiet(4, 3);
  const std::string msg = test::error_of([&] { evaluate("big", *task, {ls.get()}, {0, 0}, opt); });
  EXPECT_TRUE(contains(msg, "eval big: task linear_regression made a non-finite prompt value"))
      << msg;
  EXPECT_TRUE(contains(msg,
                       "w_std=1e+15 (default 1), x_scale=1e+15 (default 1), "
                       "y_scale=1e+15 (default 1)"))
      << msg;
  // Finite prompts pass, and the real parameters at their defaults are no suspects.
  const auto ok = make_task("linear_regression", {{"d", "4"}});
  check_finite(ok->sample({0, 0}, 0, 4, 3), *ok, "x");
  EXPECT_EQ(suspect_params(*ok), "");
}

// The ranges of the scale-like task parameters (tasks/param_limits.h): 1e20 is allowed (the
// divergence test trains on y_scale = 1e20), above it is refused naming the parameter.
TEST(NonFinite, ScaleParametersHaveAnUpperBound) {
  make_task("linear_regression", {{"y_scale", "1e20"}});
  for (const auto& [task, param] : std::vector<std::pair<std::string, std::string>>{
           {"linear_regression", "w_std"},
           {"linear_regression", "noise_std"},
           {"linear_regression", "x_scale"},
           {"linear_regression", "y_scale"},
           {"noisy_linear_regression", "noise_std"},
           {"fourier_series", "L"},
           {"fourier_series", "noise_std"},
           {"gaussian_mixture_regression", "centre"},
           {"gaussian_mixture_regression", "centre_std"},
           {"gaussian_mixture_regression", "w_std"},
           {"gaussian_mixture_regression", "noise_std"},
           {"softmax_regression", "noise_std"},
           {"sliding_window_regression", "w_std"},
           {"bandit_imitation", "noise_std"},
           {"bandit_imitation", "lambda"},
           {"bandit_imitation", "alpha"},
           {"mixture", "weight1"},
       }) {
    const std::string msg = test::error_of([&, t = task, p = param] {
      make_task(t, {{p, "1e308"}}, "task");
    });
    EXPECT_TRUE(contains(msg, "task." + param + ": must be a finite number in [")) << msg;
    EXPECT_TRUE(contains(msg, "1e+20], got 1e+308")) << msg;
  }
}

}  // namespace
}  // namespace icl

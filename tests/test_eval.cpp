// Evaluation harness and results.h5: bootstrap intervals, the file layout of DESIGN.md, atomic
// writes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "baselines/baseline.h"
#include "core/error.h"
#include "core/isa.h"
#include "eval/benchmark.h"
#include "eval/evaluate.h"
#include "eval/results.h"
#include "io/h5.h"

namespace icl {
namespace {

namespace fs = std::filesystem;

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
  EvalOptions opt;
  opt.prompts = 50;
  opt.examples = 10;
  opt.bootstrap = 50;
  opt.progress = false;
  const EvalResult r = evaluate("o", *task, {nn.get()}, {1, 1}, opt);
  for (int64_t k = 1; k < 10; ++k) EXPECT_LT(r.curves[0].stats.mean[size_t(k)], 1e-10);
}

TEST(Results, FileFollowsTheDesignLayout) {
  const fs::path dir = temp_dir("layout");
  BenchmarkConfig cfg =
      load_benchmark("linear_regression_baselines_small", {"eval.prompts=32", "eval.bootstrap=50"});
  const std::string out = (dir / "r.h5").string();
  AtomicH5Output file(out);
  RunOptions quiet;
  quiet.progress = false;
  const BenchmarkResult res = run_benchmark(cfg, file, quiet);
  ASSERT_TRUE(fs::exists(out));
  const h5::Handle f = h5::open_file(out);
  for (const char* a :
       {"iclbench_version", "git_commit", "created", "config", "benchmark", "device", "build_isa"})
    EXPECT_FALSE(h5::read_attr_string(f.id(), a).empty()) << a;
  EXPECT_EQ(h5::read_attr_string(f.id(), "build_isa"), build_isa());
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

}  // namespace
}  // namespace icl

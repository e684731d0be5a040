// `icl reproduce`: figure files (every mistake a one-line error naming it), claims evaluated on
// made-up curves, seeds combined, and the command end to end on a tiny benchmark: summary.md, the
// claims' exit status, runs reused on a second call and resumed after a SIGKILL. Every figure in
// configs/ is smoke-run at both scales by tests/slow/test_reproduce_smoke.cpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "core/error.h"
#include "io/h5.h"
#include "repro/claims.h"
#include "repro/curves.h"
#include "repro/figure.h"
#include "repro/reproduce.h"
#include "tests/cli_helpers.h"

namespace {

namespace fs = std::filesystem;
using icl::Claim;
using icl::ClaimStatus;
using icl::Curve;
using icl::Quantity;
using icl::SeriesCurves;
using icl::test::Result;
using icl::test::shell_quote;
using icl::test::slurp;
using testing::HasSubstr;
using testing::Not;

// A fresh directory per test, removed at the end.
struct TempDir {
  fs::path path;
  TempDir() {
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    path = fs::temp_directory_path() /
           fmt::format("icl_repro_{}_{}_{}", info->test_suite_name(), info->name(), ::getpid());
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name) << text;
    return (path / name).string();
  }
};

Result icl_in(const fs::path& dir, const std::vector<std::string>& args) {
  std::string cmd = fmt::format("cd {} && {}", shell_quote(dir.string()), shell_quote(ICL_BINARY));
  for (const auto& a : args) cmd += fmt::format(" {}", shell_quote(a));
  cmd += fmt::format(" >{} 2>{} </dev/null", shell_quote((dir / "out.txt").string()),
                     shell_quote((dir / "err.txt").string()));
  const int status = std::system(cmd.c_str());
  Result r;
  r.code = status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(dir / "out.txt");
  r.err = slurp(dir / "err.txt");
  return r;
}

// A benchmark that trains in about a second: one-layer LSA on linear regression in d = 3.
constexpr const char* kTinyBenchmark =
    "description: tiny\n"
    "seed: 3\n"
    "task: {name: linear_regression, d: 3}\n"
    "eval: {prompts: 64, examples: 8, bootstrap: 50}\n"
    "model: {name: lsa}\n"
    "train: {steps: 60, batch_size: 16, lr: 1.0e-2, eval_every: 20, checkpoint_every: 10}\n"
    "baselines: [least_squares, averaging]\n";

// A figure over kTinyBenchmark (at `config`) with the given claims (YAML list items).
std::string tiny_figure(const std::string& config, const std::string& claims,
                        const std::string& runs_extra = "") {
  return fmt::format(
      "title: tiny figure\n"
      "paper: nobody 2026\n"
      "scales:\n"
      "  quick: {{minutes: 1, seeds: 1, runs: [{{id: a, config: {0}}}{1}]}}\n"
      "  paper: {{minutes: 2, seeds: 2, runs: [{{id: a, config: {0}, set: {{train.steps: "
      "80}}}}{1}]}}\n"
      "panels:\n"
      "  - title: lr\n"
      "    series:\n"
      "      - {{id: lsa, label: LSA, run: a, predictor: model}}\n"
      "      - {{id: ls, label: Least squares, run: a, predictor: least_squares}}\n"
      "      - {{id: avg, run: a, predictor: averaging}}\n"
      "published:\n"
      "  - {{series: ls, x: 7, value: 0.0, source: closed form}}\n"
      "claims:\n{2}",
      config, runs_extra, claims);
}

constexpr const char* kHoldingClaims =
    "  - {id: ls_exact, text: least squares is exact past d, left: {series: ls, at: 7}, op: '<',"
    " right: 0.001}\n"
    "  - {id: only_paper, text: checked at paper scale, scales: [paper], left: {series: lsa, at: "
    "7},"
    " op: '<', right: 100}\n";

// The error of read_figure on `text`: one line, or "" when it reads.
std::string figure_error(const TempDir& dir, const std::string& text) {
  const std::string path = dir.write("fig.yaml", text);
  try {
    icl::read_figure(path, "test/fig");
  } catch (const icl::Error& e) {
    return e.what();
  }
  return "";
}

// ------------------------------------------------------------------------------------------------
// Figure files.

TEST(FigureFile, AValidFileReads) {
  TempDir dir;
  const std::string config = dir.write("tiny.yaml", kTinyBenchmark);
  const std::string path = dir.write("fig.yaml", tiny_figure(config, kHoldingClaims));
  const icl::Figure f = icl::read_figure(path, "test/fig");
  EXPECT_EQ(f.scale("quick").runs.size(), 1u);
  EXPECT_EQ(f.scale("paper").seeds, 2);
  EXPECT_EQ(f.scale("paper").runs[0].sets, std::vector<std::string>{"train.steps=80"});
  ASSERT_EQ(f.claims.size(), 2u);
  EXPECT_EQ(f.claims[1].scales, std::vector<std::string>{"paper"});
  EXPECT_EQ(f.claims[0].scales, (std::vector<std::string>{"quick", "paper"}));
  ASSERT_NE(f.find_series("avg"), nullptr);
  EXPECT_EQ(f.find_series("avg")->label, "avg");  // the id when no label is given
}

TEST(FigureFile, EveryMistakeIsOneLineNamingIt) {
  TempDir dir;
  const std::string config = dir.write("tiny.yaml", kTinyBenchmark);
  const std::string good = tiny_figure(config, kHoldingClaims);
  const auto with = [&](const std::string& from, const std::string& to) {
    std::string t = good;
    const size_t at = t.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return at == std::string::npos ? t : t.replace(at, from.size(), to);
  };
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"plots: 1\n" + good, {"unknown key 'plots'", "allowed: title, paper"}},
      {with(config, "no_such/config"), {"unknown benchmark 'no_such/config'"}},
      {with("run: a, predictor: model", "run: b, predictor: model"),
       {"panels.0.series.0.run", "unknown run 'b'", "runs: a"}},
      {with("label: LSA,", "colour: red,"), {"unknown key 'colour'", "allowed: id, label"}},
      {with("left: {series: ls, at: 7}", "lhs: {series: ls, at: 7}"),
       {"claims.0", "unknown key 'lhs'"}},
      {with("left: {series: ls, at: 7}", "left: {series: least, at: 7}"),
       {"unknown series 'least'", "series: avg, ls, lsa"}},
      {with("op: '<', right: 0.001", "op: '==', right: 0.001"), {"must be one of <, <=, >, >="}},
      {with("{series: ls, at: 7}", "{series: ls, at: 7, over: [1, 2]}"),
       {"exactly one of 'at: x' and 'over: [a, b]'"}},
      {with("scales: [paper]", "scales: [huge]"), {"unknown scale 'huge'"}},
      {with("{series: ls, at: 7}", "{series: ls, at: {quick: 7}}"),
       {"claims.0.left.at", "no value for scale 'paper'"}},
      {with("{series: ls, at: 7}", "{series: ls, over: [3, 1]}"), {"must be increasing"}},
      {with("{series: ls, at: 7}", "{series: ls, over: [1, 3], reduce: median}"),
       {"must be one of max|min|mean"}},
      {with("  paper: {minutes: 2", "  pap: {minutes: 2"), {"unknown key 'pap'", "quick, paper"}},
      {with("seeds: 2", "seeds: 0"), {"scales.paper.seeds"}},
      {with("runs: [{id: a, config: " + config + ", set",
            "runs: [{id: b, config: " + config + ", set"),
       {"scales.quick", "differ from scale"}},
      {with("id: avg, run", "id: ls, run"), {"series id 'ls' is given twice"}},
      {with("title: tiny figure\n", "title: tiny figure\ntitle: again\n"), {"given twice"}},
      {with("title: tiny figure\n", "title: [tiny\n"), {"not valid YAML"}},
      {with("  - {series: ls, x: 7, value: 0.0, source: closed form}",
            "  - {series: ls, x: 7, source: closed form}"),
       {"published.0", "'x' and 'value' are required"}},
      {with("title: tiny figure\n", ""), {"'title' is required"}},
      {with("predictor: averaging}", "predictor: averaging, metric: x, against: lsa}"),
       {"panels.0.series.2", "give metric or against, not both"}},
      {with("predictor: averaging}", "predictor: averaging, train_steps: [1, 3]}"),
       {"panels.0.series.2.train_steps", "only with set train"}},
      {with("predictor: averaging}", "predictor: model, set: train, metric: accuracy}"),
       {"panels.0.series.2.metric", "one of loss|grad_norm|layer_grad_norm|layer_variance",
        "'accuracy'"}},
      {with("predictor: averaging}", "predictor: averaging, set: train, metric: loss}"),
       {"panels.0.series.2", "set train is the trained model's log (predictor model"}},
      {with("{id: avg, run: a, predictor: averaging}",
            "{id: avg, run: a, set: train, metric: loss, train_steps: [1, 3]}"),
       {"panels.0.series.2.train_steps", "only for the layer metrics"}},
      {with("{id: avg, run: a, predictor: averaging}",
            "{id: avg, run: a, set: train, metric: layer_variance, train_steps: [0, 3]}"),
       {"panels.0.series.2.train_steps", "1 <= a <= b", "[0, 3]"}},
      {with("id: avg, run: a,", "id: avg, run: a, runs: [a, a],"),
       {"panels.0.series.2", "give run or runs, not both"}},
      {with("id: avg, run: a,", "id: avg, runs: [a],"),
       {"panels.0.series.2.runs", "at least two run ids", "1 entries"}},
      {with("id: avg, run: a,", "id: avg, runs: [a, b],"),
       {"panels.0.series.2.runs", "unknown run 'b'"}},
      {with("id: avg, run: a,", "id: avg, runs: [a, a],"),
       {"panels.0.series.2.runs", "named twice"}},
  };
  for (const auto& [text, needles] : cases) {
    const std::string err = figure_error(dir, text);
    SCOPED_TRACE(text);
    ASSERT_FALSE(err.empty()) << "read without error";
    EXPECT_EQ(err.find('\n'), std::string::npos) << err;
    for (const auto& n : needles) EXPECT_THAT(err, HasSubstr(n));
  }
}

TEST(FigureFile, UnknownFigureNamesTheKnownOnes) {
  try {
    icl::load_figure("garg2022/no_such_figure");
    FAIL() << "loaded";
  } catch (const icl::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("unknown figure 'garg2022/no_such_figure'"));
    EXPECT_THAT(e.what(), HasSubstr("garg2022/linear_regression"));
  }
}

// Every figure in configs/ reads, and benchmarks do not list figure files.
TEST(FigureFile, EveryFigureInConfigsReads) {
  const std::vector<std::string> figures = icl::list_figures();
  EXPECT_GE(figures.size(), 10u);
  for (const auto& name : figures) {
    SCOPED_TRACE(name);
    const icl::Figure f = icl::load_figure(name);
    EXPECT_EQ(f.name, name);
    EXPECT_FALSE(f.claims.empty()) << "a figure states the paper's claims";
  }
}

// ------------------------------------------------------------------------------------------------
// Claims on made-up curves.

Curve curve(std::vector<double> x, std::vector<double> mean) {
  Curve c;
  c.x = std::move(x);
  c.mean = mean;
  c.lo = mean;
  c.hi = mean;
  return c;
}

Quantity at(const std::string& series, double x, double times = 1.0, double plus = 0.0) {
  Quantity q;
  q.series = series;
  for (const auto& s : icl::figure_scales()) q.at[s] = x;
  q.times = times;
  q.plus = plus;
  return q;
}

Quantity over(const std::string& series, double a, double b, const std::string& reduce) {
  Quantity q;
  q.series = series;
  for (const auto& s : icl::figure_scales()) q.over[s] = {a, b};
  q.reduce = reduce;
  return q;
}

Quantity constant(double v) {
  Quantity q;
  q.value = v;
  return q;
}

Claim claim(Quantity left, const std::string& op, Quantity right) {
  Claim c;
  c.id = "c";
  c.text = "t";
  c.scales = icl::figure_scales();
  c.left = std::move(left);
  c.op = op;
  c.right = std::move(right);
  return c;
}

TEST(Claims, AreEvaluatedOnTheNumbers) {
  const SeriesCurves curves = {{"tf", curve({0, 1, 2, 3}, {1.0, 0.5, 0.2, 0.1})},
                               {"avg", curve({0, 1, 2, 3}, {1.0, 0.9, 0.8, 0.7})}};
  const auto status = [&](const Claim& c) { return icl::check_claim(c, curves, "quick").status; };
  EXPECT_EQ(status(claim(at("tf", 2), "<", at("avg", 2, 0.25))), ClaimStatus::Fails);  // .2 vs .2
  EXPECT_EQ(status(claim(at("tf", 2), "<=", at("avg", 2, 0.25))), ClaimStatus::Holds);
  EXPECT_EQ(status(claim(at("tf", 3), "<", at("avg", 3, 0.25))), ClaimStatus::Holds);  // .1 < .175
  EXPECT_EQ(status(claim(at("tf", 1), ">", at("avg", 1, 1.0, -0.3))), ClaimStatus::Fails);
  EXPECT_EQ(status(claim(at("tf", 1), ">=", at("avg", 1, 1.0, -0.4))), ClaimStatus::Holds);
  EXPECT_EQ(status(claim(over("tf", 1, 3, "max"), "<=", constant(0.5))), ClaimStatus::Holds);
  EXPECT_EQ(status(claim(over("tf", 1, 3, "max"), "<", constant(0.5))), ClaimStatus::Fails);
  EXPECT_EQ(status(claim(over("tf", 0, 3, "min"), ">", constant(0.1))), ClaimStatus::Fails);
  EXPECT_NEAR(icl::quantity_value(over("avg", 1, 2, "mean"), curves, "quick", "w"), 0.85, 1e-12);
  const icl::ClaimResult r =
      icl::check_claim(claim(at("tf", 3), "<", at("avg", 3, 0.25)), curves, "quick");
  EXPECT_EQ(r.numbers, "tf at 3 = 0.1 < 0.25 x avg at 3 = 0.175");
  EXPECT_EQ(r.status_text(), "holds");
}

// growth: the range's last value over its first; spread: its largest over its smallest.
TEST(Claims, GrowthAndSpreadReduceARange) {
  const SeriesCurves curves = {{"pre", curve({1, 2, 3, 4}, {2.0, 3.0, 8.0, 6.0})},
                               {"peri", curve({1, 2, 3, 4}, {4.0, 2.0, 1.0, 2.0})}};
  const auto value = [&](const Quantity& q) {
    return icl::quantity_value(q, curves, "quick", "w");
  };
  EXPECT_DOUBLE_EQ(value(over("pre", 1, 4, "growth")), 3.0);
  EXPECT_DOUBLE_EQ(value(over("pre", 1, 3, "growth")), 4.0);
  EXPECT_DOUBLE_EQ(value(over("peri", 1, 3, "growth")), 0.25);
  EXPECT_DOUBLE_EQ(value(over("pre", 1, 4, "spread")), 4.0);
  EXPECT_DOUBLE_EQ(value(over("peri", 2, 4, "spread")), 2.0);
  EXPECT_EQ(icl::check_claim(claim(over("pre", 1, 4, "growth"), ">", over("peri", 1, 4, "growth")),
                             curves, "quick")
                .numbers,
            "growth of pre over [1, 4] = 3 > growth of peri over [1, 4] = 0.5");
}

TEST(Claims, ScaleSpecificPointsAndOtherScales) {
  const SeriesCurves curves = {{"tf", curve({0, 10, 40}, {1.0, 0.3, 0.01})}};
  Claim c = claim(at("tf", 0), "<", constant(0.05));
  c.left.at = {{"quick", 10}, {"paper", 40}};
  EXPECT_EQ(icl::check_claim(c, curves, "quick").status, ClaimStatus::Fails);
  EXPECT_EQ(icl::check_claim(c, curves, "paper").status, ClaimStatus::Holds);
  c.scales = {"paper"};
  const icl::ClaimResult r = icl::check_claim(c, curves, "quick");
  EXPECT_EQ(r.status, ClaimStatus::OtherScale);
  EXPECT_EQ(r.status_text(), "paper scale only");
  // Still reported with its numbers at this scale, and what they would say.
  EXPECT_EQ(r.numbers, "here: tf at 10 = 0.3 < 0.05 (would fail)");
  EXPECT_EQ(r.left, 0.3);
  // Where this scale has no such point, there are no numbers to show.
  c.left.at["quick"] = 7;
  EXPECT_EQ(icl::check_claim(c, curves, "quick").numbers, "");
  EXPECT_EQ(icl::check_claim(c, curves, "quick").status, ClaimStatus::OtherScale);
}

TEST(Claims, NaNFailsAndMissingPointsAreErrors) {
  const SeriesCurves curves = {{"tf", curve({0, 1}, {1.0, std::nan("")})}};
  EXPECT_EQ(icl::check_claim(claim(at("tf", 1), "<", constant(1)), curves, "quick").status,
            ClaimStatus::Fails);
  EXPECT_EQ(icl::check_claim(claim(at("tf", 1), ">", constant(1)), curves, "quick").status,
            ClaimStatus::Fails);
  EXPECT_EQ(
      icl::check_claim(claim(over("tf", 0, 1, "min"), "<", constant(2)), curves, "quick").status,
      ClaimStatus::Fails);
  try {
    icl::check_claim(claim(at("tf", 5), "<", constant(1)), curves, "quick");
    FAIL() << "no error";
  } catch (const icl::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("series tf has no point at x = 5 (2 points from 0 to 1)"));
  }
  EXPECT_THROW(icl::check_claim(claim(over("tf", 2, 3, "max"), "<", constant(1)), curves, "quick"),
               icl::Error);
}

TEST(Claims, SeedsCombineIntoTheMeanAndTheWidestBand) {
  Curve a = curve({0, 1}, {1.0, 0.4}), b = curve({0, 1}, {0.8, 0.2});
  a.lo = {0.9, 0.3};
  a.hi = {1.1, 0.5};
  b.lo = {0.7, 0.1};
  b.hi = {0.9, 0.25};
  const Curve c = icl::combine_seeds({a, b}, 2.0, "s");
  EXPECT_EQ(c.mean, (std::vector<double>{1.8, 0.6000000000000001}));
  EXPECT_EQ(c.lo, (std::vector<double>{1.4, 0.2}));
  EXPECT_EQ(c.hi, (std::vector<double>{2.2, 1.0}));
  EXPECT_THROW(icl::combine_seeds({a, curve({0, 2}, {1, 1})}, 1.0, "s"), icl::Error);
}

// A series over several runs (one model per grid size) joins their points in order of x; two runs
// at the same x is an error naming it.
TEST(Claims, RunsOfASeriesJoinInOrderOfX) {
  const Curve five = curve({5}, {0.5}), three = curve({3, 4}, {0.9, 0.7});
  const Curve c = icl::join_runs({five, three}, "series s");
  EXPECT_EQ(c.x, (std::vector<double>{3, 4, 5}));
  EXPECT_EQ(c.mean, (std::vector<double>{0.9, 0.7, 0.5}));
  EXPECT_EQ(c.lo.size(), 3u);
  try {
    icl::join_runs({five, curve({5}, {0.1})}, "series s");
    FAIL() << "joined";
  } catch (const icl::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("series s: two of its runs give x = 5"));
  }
}

// ------------------------------------------------------------------------------------------------
// The command end to end.

// One series over two runs, each evaluated at its own grid size (the BFS solver on 3×3 and on 4×4
// mazes, no training): its points come from both, in order of x; claims read either.
TEST(Reproduce, ASeriesOverTwoRunsJoinsTheirPoints) {
  TempDir dir;
  const std::string config = dir.write(
      "bfs.yaml",
      "description: bfs\nseed: 1\ntask: {name: maze, min_length: 3, max_length: 3, max_n: 4}\n"
      "eval: {prompts: 8, bootstrap: 20, sets: {held_out: {lengths: [3]}}}\n"
      "baselines: [maze_bfs]\n");
  const std::string four =
      "{task.min_length: 4, task.max_length: 4, eval.sets.held_out.lengths: [4]}";
  const std::string fig = dir.write(
      "fig.yaml",
      fmt::format("title: two runs\n"
                  "paper: nobody 2026\n"
                  "scales:\n"
                  "  quick: {{minutes: 1, seeds: 1, runs: [{{id: n3, config: {0}}}, {{id: n4, "
                  "config: {0}, set: {1}}}]}}\n"
                  "  paper: {{minutes: 1, seeds: 1, runs: [{{id: n3, config: {0}}}, {{id: n4, "
                  "config: {0}, set: {1}}}]}}\n"
                  "panels:\n"
                  "  - title: by grid size\n"
                  "    series:\n"
                  "      - {{id: bfs, runs: [n4, n3], predictor: maze_bfs, metric: exact_path}}\n"
                  "claims:\n"
                  "  - {{id: both, text: exact at 3 and 4, left: {{series: bfs, over: [3, 4], "
                  "reduce: min}}, op: '>=', right: 1.0}}\n",
                  config, four));
  const Result r = icl_in(dir.path, {"reproduce", fig, "--out", "out", "--no-figures"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(slurp(dir.path / "out" / "fig" / "summary.md"), HasSubstr("**holds**"));
  // The same series with both runs at 3×3: two points at x = 3.
  const std::string clash =
      dir.write("clash.yaml", slurp(fig).replace(slurp(fig).find(four), four.size(), "{seed: 2}"));
  const Result c = icl_in(dir.path, {"reproduce", clash, "--out", "out2", "--no-figures"});
  EXPECT_EQ(c.code, 1) << c.err;
  EXPECT_THAT(c.err, HasSubstr("series bfs: two of its runs give x = 3"));
}

TEST(Reproduce, RunsChecksWritesAndReusesOnASecondCall) {
  TempDir dir;
  const std::string config = dir.write("tiny.yaml", kTinyBenchmark);
  const std::string fig = dir.write("fig.yaml", tiny_figure(config, kHoldingClaims));
  Result r = icl_in(dir.path, {"reproduce", fig, "--out", "out", "--device", "cpu"});
  ASSERT_EQ(r.code, 0) << r.err;
  const fs::path out = dir.path / "out" / "fig";
  EXPECT_TRUE(fs::exists(out / "runs" / "quick" / "a_seed3.h5"));
  const std::string summary = slurp(out / "summary.md");
  EXPECT_THAT(summary, HasSubstr("| least squares is exact past d (`ls_exact`) | **holds** |"));
  EXPECT_THAT(summary, HasSubstr("**paper scale only**"));
  EXPECT_THAT(summary, HasSubstr("| Least squares | 7 |"));  // beside the published value
  EXPECT_THAT(summary, HasSubstr("| a | 3 |"));
  EXPECT_THAT(summary, HasSubstr("| ran |"));
  EXPECT_THAT(r.out, HasSubstr("holds"));
  EXPECT_THAT(r.out, HasSubstr("paper scale only"));
  if (std::system("/usr/bin/python3 -c 'import matplotlib' >/dev/null 2>&1") == 0) {
    EXPECT_TRUE(fs::exists(out / "fig.png")) << r.err;
    EXPECT_TRUE(fs::exists(out / "fig.pdf"));
  }
  const auto mtime = fs::last_write_time(out / "runs" / "quick" / "a_seed3.h5");
  r = icl_in(dir.path, {"reproduce", fig, "--out", "out", "--device", "cpu", "--no-figures"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(slurp(out / "summary.md"), HasSubstr("| reused |"));
  EXPECT_EQ(fs::last_write_time(out / "runs" / "quick" / "a_seed3.h5"), mtime);
}

// smoke_set: overrides a smoke run adds (here it evaluates 4 examples instead of 8); a claim whose
// point the smoke run then lacks is not checked and says why, and the files of a smoke run are its
// own (runs/quick-smoke).
TEST(Reproduce, ASmokeRunAppliesSmokeSet) {
  TempDir dir;
  const std::string config = dir.write("tiny.yaml", kTinyBenchmark);
  const auto replaced = [](std::string t, const std::string& from, const std::string& to) {
    const size_t at = t.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return at == std::string::npos ? t : t.replace(at, from.size(), to);
  };
  const std::string quick_run = "runs: [{id: a, config: " + config + "}]";
  const std::string text =
      replaced(tiny_figure(config, kHoldingClaims), quick_run,
               "runs: [{id: a, config: " + config + ", smoke_set: {eval.examples: 4}}]");
  const std::string fig = dir.write("fig.yaml", text);
  const Result r = icl_in(dir.path, {"reproduce", fig, "--out", "out", "--no-figures", "--smoke"});
  ASSERT_EQ(r.code, 0) << r.err;
  icl::FigureSeries s;
  s.id = "ls";
  s.run = "a";
  s.predictor = "least_squares";
  const fs::path runs = dir.path / "out" / "fig" / "runs" / "quick-smoke";
  EXPECT_EQ(icl::read_curve((runs / "a_seed3.h5").string(), s, "").x.size(), 4u);
  const std::string summary = slurp(dir.path / "out" / "fig" / "summary.md");
  EXPECT_THAT(summary, HasSubstr("not checked: claim ls_exact: series ls has no point at x = 7"));
  EXPECT_THAT(summary, HasSubstr("the smoke run evaluates elsewhere"));
  EXPECT_THAT(figure_error(dir, replaced(text, "{eval.examples: 4}", "4")),
              HasSubstr("runs.0.smoke_set: expected a map of overrides"));
}

TEST(Reproduce, AFailingClaimIsExitCodeFourAndNamed) {
  TempDir dir;
  const std::string config = dir.write("tiny.yaml", kTinyBenchmark);
  const std::string claims = std::string(kHoldingClaims) +
                             "  - {id: impossible, text: averaging is exact, left: {series: avg, "
                             "at: 7}, op: '<', right: 0.0}\n";
  const std::string fig = dir.write("fig.yaml", tiny_figure(config, claims));
  const Result r = icl_in(dir.path, {"reproduce", fig, "--out", "out", "--no-figures"});
  EXPECT_EQ(r.code, 4) << r.err;
  EXPECT_THAT(r.err, HasSubstr("1 of 3 claims fail: impossible"));
  EXPECT_THAT(slurp(dir.path / "out" / "fig" / "summary.md"), HasSubstr("**fails**"));
}

TEST(Reproduce, SeedsAreCombinedAcrossRuns) {
  TempDir dir;
  const std::string config = dir.write("tiny.yaml", kTinyBenchmark);
  const std::string fig = dir.write("fig.yaml", tiny_figure(config, kHoldingClaims));
  const Result r = icl_in(dir.path, {"reproduce", fig, "--out", "out", "--no-figures", "--scale",
                                     "paper", "--seeds", "2"});
  ASSERT_EQ(r.code, 0) << r.err;
  const fs::path runs = dir.path / "out" / "fig" / "runs" / "paper";
  ASSERT_TRUE(fs::exists(runs / "a_seed3.h5"));
  ASSERT_TRUE(fs::exists(runs / "a_seed4.h5"));
  icl::FigureSeries s;
  s.id = "lsa";
  s.run = "a";
  s.predictor = "model";
  const Curve c3 = icl::read_curve((runs / "a_seed3.h5").string(), s, "");
  const Curve c4 = icl::read_curve((runs / "a_seed4.h5").string(), s, "");
  EXPECT_NE(c3.mean, c4.mean) << "two seeds, two models";
  const std::string summary = slurp(dir.path / "out" / "fig" / "summary.md");
  EXPECT_THAT(summary, HasSubstr(fmt::format("| LSA | {:.4g} |", (c3.mean[0] + c4.mean[0]) / 2)));
  EXPECT_THAT(summary, HasSubstr("2 seed(s)"));
  // A predictor the file does not have: one line naming those it has.
  s.predictor = "ridge";
  try {
    icl::read_curve((runs / "a_seed3.h5").string(), s, "");
    FAIL() << "read";
  } catch (const icl::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("no predictor 'ridge' in set standard (predictors: "
                                    "averaging, least_squares, lsa)"));
  }
}

// The seeds of a run that are not done yet train side by side in one process (run/replicas.h),
// each into the file it has alone and with the bits of its run alone; a second call reuses both.
TEST(Reproduce, ARunsSeedsTrainSideBySideThenAreReused) {
  TempDir dir;
  const std::string config = dir.write("tiny.yaml", kTinyBenchmark);
  const std::string fig = dir.write("fig.yaml", tiny_figure(config, kHoldingClaims));
  const std::vector<std::string> args = {"reproduce",    fig,         "--out", "out",
                                         "--no-figures", "--scale",   "paper", "--device",
                                         "cpu",          "--threads", "2"};
  Result r = icl_in(dir.path, args);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("icl reproduce: a seeds 3, 4: side by side in one process, 2 at a "
                               "time, one CPU thread each"));
  for (const char* seed : {"3", "4"})
    EXPECT_THAT(r.err, HasSubstr(fmt::format("icl reproduce: a seed {}: running", seed)));
  const fs::path runs = dir.path / "out" / "fig" / "runs" / "paper";
  const std::string summary = slurp(dir.path / "out" / "fig" / "summary.md");
  EXPECT_THAT(summary, HasSubstr("| a | 3 |"));
  EXPECT_THAT(summary, HasSubstr("| a | 4 |"));
  EXPECT_THAT(summary, Not(HasSubstr("| reused |")));
  // Seed 4 as `icl run` makes it alone (the paper scale's train.steps: 80).
  const Result alone = icl_in(dir.path, {"run", config, "--set", "train.steps=80", "--seed", "4",
                                         "--out", "alone.h5", "--no-figures", "--device", "cpu"});
  ASSERT_EQ(alone.code, 0) << alone.err;
  {
    const icl::h5::Handle a = icl::h5::open_file((runs / "a_seed4.h5").string());
    const icl::h5::Handle b = icl::h5::open_file((dir.path / "alone.h5").string());
    for (const std::string p : {"eval/standard/lsa/mean", "eval/standard/least_squares/mean",
                                "train/loss", "train/grad_norm", "checkpoint/params/attn.w_kq"})
      EXPECT_EQ(icl::h5::read<double>(a.id(), p), icl::h5::read<double>(b.id(), p)) << p;
    EXPECT_EQ(icl::h5::read_attr_string(a.id(), "config"),
              icl::h5::read_attr_string(b.id(), "config"));
  }
  const auto mtime = fs::last_write_time(runs / "a_seed4.h5");
  r = icl_in(dir.path, args);
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* seed : {"3", "4"})
    EXPECT_THAT(r.err, HasSubstr(fmt::format("icl reproduce: a seed {}: reused", seed)));
  EXPECT_THAT(r.err, Not(HasSubstr("side by side")));
  EXPECT_EQ(fs::last_write_time(runs / "a_seed4.h5"), mtime);
}

// A series `against` another predictor reads their prediction difference: the model's against
// least squares equals least squares' against the model, and a set without differences, or a
// series against itself, is one line saying what to do.
TEST(Reproduce, AgainstReadsThePredictionDifference) {
  TempDir dir;
  std::string bench = kTinyBenchmark;
  bench.replace(bench.find("bootstrap: 50}"), std::string("bootstrap: 50}").size(),
                "bootstrap: 50, prediction_difference: true}");
  const std::string config = dir.write("tiny.yaml", bench);
  std::string text = tiny_figure(config, kHoldingClaims);
  text.replace(text.find("run: a, predictor: averaging}"),
               std::string("run: a, predictor: averaging}").size(),
               "run: a, predictor: model, against: least_squares}");
  const std::string fig = dir.write("fig.yaml", text);
  const Result r = icl_in(dir.path, {"reproduce", fig, "--out", "out", "--no-figures"});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string run = (dir.path / "out" / "fig" / "runs" / "quick" / "a_seed3.h5").string();
  icl::FigureSeries s;
  s.id = "d";
  s.run = "a";
  s.predictor = "model";
  s.against = "least_squares";
  const Curve md = icl::read_curve(run, s, "");
  s.predictor = "least_squares";
  s.against = "model";
  const Curve lm = icl::read_curve(run, s, "");
  EXPECT_EQ(md.mean, lm.mean);
  EXPECT_EQ(md.y_label, "squared prediction difference");
  EXPECT_EQ(md.mean[0], 0.0);  // both predict 0 with no examples
  EXPECT_GT(md.mean[3], 0.0);
  s.against = "least_squares";
  try {
    icl::read_curve(run, s, "");
    FAIL() << "read";
  } catch (const icl::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("against names the series' own predictor least_squares"));
  }
  // Without prediction_difference in the run, the series says how to get it.
  TempDir plain;
  const std::string plain_fig = plain.write(
      "fig.yaml", tiny_figure(plain.write("tiny.yaml", kTinyBenchmark), kHoldingClaims));
  ASSERT_EQ(icl_in(plain.path, {"reproduce", plain_fig, "--out", "out", "--no-figures"}).code, 0);
  s.predictor = "model";
  try {
    icl::read_curve((plain.path / "out" / "fig" / "runs" / "quick" / "a_seed3.h5").string(), s, "");
    FAIL() << "read";
  } catch (const icl::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("needs prediction_difference: true"));
  }
}

// A reproduce stopped by SIGKILL in its second run continues there: the first run is reused, the
// second resumed from its checkpoint, and its results equal an uninterrupted run's.
TEST(Reproduce, AKilledReproduceContinuesWhereItStopped) {
  TempDir dir;
  const std::string config = dir.write("tiny.yaml", kTinyBenchmark);
  // Run b: a small transformer for 1500 steps, slow enough to be killed while training.
  std::string text = kTinyBenchmark;
  text.replace(text.find("model: {name: lsa}"), 18,
               "model: {name: transformer, n_layer: 2, n_head: 2, n_embd: 32}");
  text.replace(text.find("steps: 60"), 9, "steps: 1500");
  const std::string slow = dir.write("slow.yaml", text);
  const std::string fig =
      dir.write("fig.yaml",
                tiny_figure(config, kHoldingClaims,
                            ", {id: b, config: " + slow + ", set: {train.checkpoint_every: 50}}"));
  const fs::path b_file = dir.path / "out" / "fig" / "runs" / "quick" / "b_seed3.h5";
  const pid_t pid = icl::test::spawn_icl(
      dir.path, {"reproduce", fig, "--out", "out", "--no-figures", "--device", "cpu"});
  // Wait for run b's first checkpoints, then kill.
  int status = 0;
  bool ended = false;
  for (int i = 0; i < 60000 && !ended; ++i) {
    ended = icl::test::wait_for(pid, 0.005, &status);
    if (fs::exists(b_file)) {
      try {
        const icl::h5::Handle f = icl::h5::open_file(b_file.string());
        if (icl::h5::exists(f.id(), "checkpoint") &&
            icl::h5::read_attr_int(icl::h5::open_group(f.id(), "checkpoint").id(), "step") >= 100)
          break;
      } catch (const icl::Error&) {
      }
    }
  }
  ASSERT_FALSE(ended) << "the reproduce ended before it could be killed: "
                      << slurp(dir.path / "stderr");
  ::kill(pid, SIGKILL);
  ASSERT_TRUE(icl::test::wait_for(pid, 60, &status));
  ASSERT_FALSE(fs::exists(dir.path / "out" / "fig" / "summary.md"));

  const Result r =
      icl_in(dir.path, {"reproduce", fig, "--out", "out", "--no-figures", "--device", "cpu"});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string summary = slurp(dir.path / "out" / "fig" / "summary.md");
  EXPECT_THAT(summary, HasSubstr("| a | 3 |"));
  EXPECT_THAT(summary, HasSubstr("| reused |"));
  EXPECT_THAT(summary, HasSubstr("| resumed at step "));

  // The uninterrupted run of b, by icl run with the same overrides and seed.
  const Result whole =
      icl_in(dir.path, {"run", slow, "--set", "train.checkpoint_every=50", "--seed", "3", "--out",
                        "whole.h5", "--no-figures", "--device", "cpu"});
  ASSERT_EQ(whole.code, 0) << whole.err;
  const icl::h5::Handle f1 = icl::h5::open_file(b_file.string());
  const icl::h5::Handle f2 = icl::h5::open_file((dir.path / "whole.h5").string());
  for (const std::string p : {"eval/standard/transformer/mean", "train/loss"})
    EXPECT_EQ(icl::h5::read<double>(f1.id(), p), icl::h5::read<double>(f2.id(), p)) << p;
}

}  // namespace

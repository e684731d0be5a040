// The xgboost baseline (baselines/xgboost.cpp): the same predictions as the Python package's
// XGBRegressor in Garg et al.'s loop (tests/reference/xgboost_oracle.py), at its defaults and with
// every parameter changed; it learns depth-4 trees; bad parameters are one-line errors; it is
// deterministic. In a build without libxgboost-dev, making it is one line saying what to install.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <omp.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <fmt/format.h>

#include "baselines/baseline.h"
#include "tasks/task.h"
#include "tests/errors.h"
#include "tests/prompts.h"

namespace icl {
namespace {

namespace fs = std::filesystem;
using Raw = std::map<std::string, std::string>;
using test::error_of;
using testing::HasSubstr;

const RngKey kKey{19, stream_id("xgboost")};

VectorPrompts sample(const std::string& task, const Raw& p, int64_t B, int64_t K) {
  return test::take(make_task(task, p)->sample(kKey, 0, B, K));
}

bool built() { return find_baseline("xgboost").not_built.empty(); }

#define SKIP_UNLESS_BUILT() \
  if (!built()) GTEST_SKIP() << find_baseline("xgboost").not_built

std::vector<float> predict(const Raw& p, const VectorPrompts& pb) {
  return make_baseline("xgboost", p)->predict(PromptBatch(pb));
}

TEST(XGBoost, WithoutTheLibraryMakingItSaysWhatToInstall) {
  if (built()) GTEST_SKIP() << "this build has XGBoost";
  const std::string err = error_of([] { make_baseline("xgboost", {}); });
  EXPECT_THAT(err, HasSubstr("libxgboost-dev"));
  EXPECT_EQ(err.find('\n'), std::string::npos) << err;
}

// ---- the Python package as the oracle ----------------------------------------------------------

// XGBRegressor(**kwargs) through /usr/bin/python3 (the OS packages python3-xgboost and
// python3-sklearn, which the regressor needs), or an empty vector when they are missing.
std::vector<float> python_xgboost(const VectorPrompts& pb, const std::string& kwargs_json) {
  const fs::path dir = fs::temp_directory_path() / fmt::format("icl_xgb_oracle_{}", ::getpid());
  fs::create_directories(dir);
  std::ofstream(dir / "xs.bin", std::ios::binary)
      .write(reinterpret_cast<const char*>(pb.xs.data()), std::streamsize(pb.xs.size() * 4));
  std::ofstream(dir / "ys.bin", std::ios::binary)
      .write(reinterpret_cast<const char*>(pb.ys.data()), std::streamsize(pb.ys.size() * 4));
  // One thread, as the baseline fits (XGBoost's exact method finds the same splits on any number).
  const std::string cmd = fmt::format(
      "OMP_NUM_THREADS=1 /usr/bin/python3 {}/tests/reference/xgboost_oracle.py {} {} {} {} '{}' "
      "2>{}/err.txt",
      ICL_SOURCE_DIR, dir.string(), pb.batch, pb.n_examples, pb.dx, kwargs_json, dir.string());
  std::vector<float> pred;
  if (std::system(cmd.c_str()) == 0) {
    pred.resize(size_t(pb.batch * pb.n_examples));
    std::ifstream(dir / "pred.bin", std::ios::binary)
        .read(reinterpret_cast<char*>(pred.data()), std::streamsize(pred.size() * 4));
  } else {
    std::ifstream err(dir / "err.txt");
    std::cerr << "xgboost oracle failed: " << err.rdbuf() << "\n";
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  return pred;
}

bool python_has_xgboost() {
  return std::system("/usr/bin/python3 -c 'import xgboost, sklearn' >/dev/null 2>&1") == 0;
}

TEST(XGBoost, MatchesThePythonPackagesRegressor) {
  SKIP_UNLESS_BUILT();
  if (!python_has_xgboost())
    GTEST_SKIP() << "/usr/bin/python3 cannot import xgboost and sklearn (python3-xgboost, "
                    "python3-sklearn)";
  struct Case {
    std::string task;
    Raw task_params, params;
    std::string kwargs;  // the same settings as XGBRegressor's keyword arguments
  };
  const std::vector<Case> cases = {
      {"decision_tree", {{"d", "4"}, {"depth", "3"}}, {}, "{}"},
      {"relu_2nn_regression", {{"d", "3"}}, {}, "{}"},
      {"relu_2nn_regression",
       {{"d", "3"}},
       {{"n_estimators", "17"},
        {"max_depth", "2"},
        {"learning_rate", "0.45"},
        {"min_child_weight", "2.5"},
        {"gamma", "0.01"},
        {"reg_lambda", "0.3"},
        {"reg_alpha", "0.05"},
        {"base_score", "-0.25"}},
       R"({"n_estimators": 17, "max_depth": 2, "learning_rate": 0.45, "min_child_weight": 2.5,)"
       R"( "gamma": 0.01, "reg_lambda": 0.3, "reg_alpha": 0.05, "base_score": -0.25})"},
  };
  double max_diff = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.task + " " + c.kwargs);
    const VectorPrompts pb = sample(c.task, c.task_params, 5, 14);
    const std::vector<float> want = python_xgboost(pb, c.kwargs);
    ASSERT_EQ(want.size(), size_t(5 * 14)) << "the oracle gave no predictions";
    const std::vector<float> got = predict(c.params, pb);
    for (size_t i = 0; i < got.size(); ++i) {
      const double diff = std::abs(double(got[i]) - double(want[i]));
      max_diff = std::max(max_diff, diff);
      ASSERT_LE(diff, 1e-6 * (1 + std::abs(want[i])))
          << "prompt " << i / 14 << " k " << i % 14 << ": " << got[i] << " vs " << want[i];
    }
  }
  std::cout << "largest difference from XGBRegressor: " << max_diff << "\n";
}

// ---- learning ----------------------------------------------------------------------------------

// Boosted trees are the right inductive bias for trees: on depth-4 trees in d = 5, from 60
// examples on they are far below averaging (whose error is the labels' variance, 1, or above) and
// below least squares.
TEST(XGBoost, LearnsDepthFourTrees) {
  SKIP_UNLESS_BUILT();
  const int64_t B = 16, K = 71;
  const VectorPrompts pb = sample("decision_tree", {{"d", "5"}, {"depth", "4"}}, B, K);
  auto err_at_end = [&](const std::string& name) {
    const auto pred = make_baseline(name, {})->predict(PromptBatch(pb));
    double e = 0;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t k = 60; k < K; ++k) {
        const double r = pred[size_t(b * K + k)] - *pb.y(b, k);
        e += r * r / double(B * (K - 60));
      }
    return e;
  };
  const double xgb = err_at_end("xgboost"), avg = err_at_end("averaging"),
               ls = err_at_end("least_squares");
  std::cout << "decision_tree d=5, k=60..70: xgboost " << xgb << ", averaging " << avg
            << ", least squares " << ls << "\n";
  EXPECT_LT(xgb, 0.5 * avg);
  EXPECT_LT(xgb, ls);
}

// ---- parameters, determinism -------------------------------------------------------------------

TEST(XGBoost, BadParametersAreOneLineErrorsNamingThem) {
  const std::vector<std::pair<Raw, std::string>> cases = {
      {{{"n_estimators", "0"}}, "n_estimators"},
      {{{"max_depth", "0"}}, "max_depth"},
      {{{"learning_rate", "1.5"}}, "learning_rate"},
      {{{"learning_rate", "-0.1"}}, "learning_rate"},
      {{{"min_child_weight", "-1"}}, "min_child_weight"},
      {{{"gamma", "nan"}}, "gamma"},
      {{{"reg_lambda", "-1"}}, "reg_lambda"},
      {{{"reg_alpha", "1e40"}}, "reg_alpha"},
      {{{"base_score", "x"}}, "base_score"},
      {{{"eta", "0.1"}}, "eta"},  // XGBoost's own name: the baseline takes XGBRegressor's
  };
  for (const auto& [params, name] : cases) {
    const auto& raw = params;  // clang 14 cannot capture a structured binding
    const std::string err = error_of([&] { make_baseline("xgboost", raw); });
    EXPECT_THAT(err, HasSubstr(name));
    EXPECT_EQ(err.find('\n'), std::string::npos) << err;
  }
}

TEST(XGBoost, IsDeterministicAndIndependentOfTheThreadCount) {
  SKIP_UNLESS_BUILT();
  const VectorPrompts pb = sample("relu_2nn_regression", {{"d", "4"}}, 8, 20);
  const auto first = predict({}, pb);
  EXPECT_EQ(predict({}, pb), first);
  const int saved = omp_get_max_threads();
  omp_set_num_threads(2);
  const auto two = predict({}, pb);
  omp_set_num_threads(saved);
  EXPECT_EQ(two, first);
  for (int64_t b = 0; b < 8; ++b) EXPECT_EQ(first[size_t(b * 20)], 0.f);
}

}  // namespace
}  // namespace icl

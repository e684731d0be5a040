// Sliding-window sequential functions (Campbell et al. 2023, docs/TASKS.md §6): every label is the
// window function of the inputs inside its window and of nothing else, the randomised fraction of
// labels matches p, and the randomised labels have the clean labels' scale.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>

#include "baselines/baseline.h"
#include "core/error.h"
#include "tasks/task.h"
#include "tests/prompts.h"

namespace icl {
namespace {

const RngKey kKey{7, stream_id("sequential-test")};
using Raw = std::map<std::string, std::string>;

VectorPrompts sample(const Raw& p, int64_t first, int64_t B, int64_t K) {
  return test::take(make_task("sliding_window_regression", p)->sample(kKey, first, B, K));
}

TEST(SequentialTask, LabelsAreTheWindowFunctionOfTheTruth) {
  const int64_t d = 4, W = 3, K = 12;
  const VectorPrompts pb = sample({{"d", "4"}, {"window", "3"}}, 0, 5, K);
  ASSERT_EQ(pb.truth_dim, W * d);
  EXPECT_FALSE(pb.has_queries());
  for (int64_t b = 0; b < 5; ++b)
    for (int64_t k = 0; k < K; ++k) {
      double y = 0;
      for (int64_t j = 0; j < W && j <= k; ++j)
        for (int64_t i = 0; i < d; ++i)
          y += double(pb.truth[size_t(b * W * d + j * d + i)]) * pb.x(b, k - j)[i];
      EXPECT_NEAR(*pb.y(b, k), y, 1e-4 * (1 + std::abs(y))) << "prompt " << b << " example " << k;
    }
}

// Least squares of one long prompt's labels on its stacked lagged inputs, without using `truth`:
// lags 0..W-1 explain every label exactly, an extra lag gets a zero coefficient, and dropping the
// oldest lag leaves a large residual — a label depends on exactly the inputs inside its window.
TEST(SequentialTask, EachLabelDependsOnlyOnTheInputsInsideItsWindow) {
  const int64_t d = 3, W = 4, K = 300;
  const VectorPrompts pb = sample({{"d", "3"}, {"window", "4"}}, 11, 1, K);
  auto fit = [&](int64_t lags, Eigen::VectorXd* coef) {
    Eigen::MatrixXd a = Eigen::MatrixXd::Zero(K, lags * d);
    Eigen::VectorXd y(K);
    for (int64_t k = 0; k < K; ++k) {
      y(k) = *pb.y(0, k);
      for (int64_t j = 0; j < lags && j <= k; ++j)
        for (int64_t i = 0; i < d; ++i) a(k, j * d + i) = pb.x(0, k - j)[i];
    }
    *coef = a.colPivHouseholderQr().solve(y);
    return (a * *coef - y).norm() / y.norm();
  };
  Eigen::VectorXd c;
  EXPECT_LT(fit(W, &c), 1e-5);
  EXPECT_LT(fit(W + 1, &c), 1e-5);
  EXPECT_LT(c.tail(d).cwiseAbs().maxCoeff(), 1e-4) << "a lag outside the window has an effect";
  EXPECT_GT(fit(W - 1, &c), 0.1) << "the oldest lag of the window has no effect";
}

TEST(SequentialTask, RandomisedFractionMatchesP) {
  const double p = 0.3;
  const int64_t B = 400, K = 25, d = 5, W = 2;
  const VectorPrompts pb =
      sample({{"d", "5"}, {"window", "2"}, {"random_fraction", "0.3"}}, 0, B, K);
  ASSERT_TRUE(pb.has_queries());
  int64_t changed = 0;
  double z2 = 0;
  for (int64_t b = 0; b < B; ++b) {
    double var = 0;
    for (int64_t i = 0; i < W * d; ++i) var += std::pow(double(pb.truth[size_t(b * W * d + i)]), 2);
    for (int64_t k = 0; k < K; ++k) {
      // Queries are the context inputs with their clean labels.
      for (int64_t i = 0; i < d; ++i) ASSERT_EQ(pb.query_x(b, k)[i], pb.x(b, k)[i]);
      double y = 0;
      for (int64_t j = 0; j < W && j <= k; ++j)
        for (int64_t i = 0; i < d; ++i)
          y += double(pb.truth[size_t(b * W * d + j * d + i)]) * pb.x(b, k - j)[i];
      ASSERT_NEAR(*pb.query_y(b, k), y, 1e-4 * (1 + std::abs(y)));
      if (*pb.y(b, k) != *pb.query_y(b, k)) {
        ++changed;
        z2 += std::pow(double(*pb.y(b, k)), 2) / var;
      }
    }
  }
  const double n = double(B * K), frac = double(changed) / n;
  EXPECT_NEAR(frac, p, 5 * std::sqrt(p * (1 - p) / n));
  // A replacement label is N(0, Σ‖w_j‖²): its squared z-score averages 1 (sd sqrt(2/changed)).
  EXPECT_NEAR(z2 / double(changed), 1.0, 5 * std::sqrt(2.0 / double(changed)));

  // p = 1 replaces every label; p = 0 none. The inputs do not depend on p.
  const VectorPrompts all =
      sample({{"d", "5"}, {"window", "2"}, {"random_fraction", "1"}}, 0, 20, K);
  const VectorPrompts none = sample({{"d", "5"}, {"window", "2"}}, 0, 20, K);
  EXPECT_EQ(all.xs, none.xs);
  for (int64_t i = 0; i < 20 * K; ++i) {
    EXPECT_NE(all.ys[size_t(i)], all.yq[size_t(i)]);
    EXPECT_EQ(all.yq[size_t(i)], none.ys[size_t(i)]);
  }
}

TEST(SequentialTask, LongerPromptsExtendShorterOnes) {
  const Raw p = {{"d", "3"}, {"random_fraction", "0.5"}};
  const VectorPrompts a = sample(p, 3, 4, 5), b = sample(p, 3, 4, 9);
  for (int64_t q = 0; q < 4; ++q)
    for (int64_t k = 0; k < 5; ++k) {
      ASSERT_EQ(*a.y(q, k), *b.y(q, k));
      ASSERT_EQ(*a.query_y(q, k), *b.query_y(q, k));
      for (int64_t i = 0; i < 3; ++i) ASSERT_EQ(a.x(q, k)[i], b.x(q, k)[i]);
    }
}

TEST(SequentialTask, NormalisationIsTheFullWindowLabelVariance) {
  const VectorPrompts pb = sample({{"d", "4"}, {"window", "3"}, {"w_std", "0.5"}}, 0, 2000, 8);
  double s = 0;
  int64_t n = 0;
  for (int64_t b = 0; b < 2000; ++b)
    for (int64_t k = 2; k < 8; ++k, ++n) s += std::pow(double(*pb.y(b, k)), 2);
  const double norm =
      make_task("sliding_window_regression", {{"d", "4"}, {"window", "3"}, {"w_std", "0.5"}})
          ->normalisation();
  EXPECT_DOUBLE_EQ(norm, 0.25 * 12);
  // y² has mean 3 and variance ~ 2·9 + (kurtosis of the product terms); 12000 draws, loose bound.
  EXPECT_NEAR(s / double(n), norm, 0.1 * norm);
}

TEST(SequentialTask, BadParametersAreOneLineErrors) {
  using testing::HasSubstr;
  for (const auto& [param, value] :
       std::vector<std::pair<std::string, std::string>>{{"random_fraction", "1.5"},
                                                        {"random_fraction", "-0.1"},
                                                        {"window", "0"},
                                                        {"d", "0"},
                                                        {"w_std", "0"}}) {
    try {
      make_task("sliding_window_regression", {{param, value}});
      ADD_FAILURE() << param << "=" << value << " accepted";
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), HasSubstr(param));
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
    }
  }
}

// The exact learner: minimum-norm least squares on the stacked window inputs equals an
// independent pseudo-inverse solve on every prefix, and is exact once the W·d-dimensional
// window features are determined (noiseless, p = 0).
TEST(SequentialTask, WindowLeastSquaresIsTheExactLearner) {
  const int64_t d = 3, W = 2, K = 14, n = W * d;
  const VectorPrompts pb = sample({{"d", "3"}, {"window", "2"}}, 0, 6, K);
  const auto ls = make_baseline("window_least_squares", {{"window", "2"}});
  const std::vector<float> pred = ls->predict(PromptBatch(pb));
  for (int64_t b = 0; b < 6; ++b) {
    Eigen::MatrixXd phi = Eigen::MatrixXd::Zero(K, n);
    Eigen::VectorXd y(K);
    for (int64_t k = 0; k < K; ++k) {
      for (int64_t j = 0; j < W && j <= k; ++j)
        for (int64_t i = 0; i < d; ++i) phi(k, j * d + i) = pb.x(b, k - j)[i];
      y(k) = *pb.y(b, k);
    }
    for (int64_t k = 1; k < K; ++k) {
      const Eigen::VectorXd w = phi.topRows(k).completeOrthogonalDecomposition().solve(y.head(k));
      const double want = phi.row(k).dot(w);
      EXPECT_NEAR(pred[size_t(b * K + k)], want, 1e-4 * (1 + std::abs(want)))
          << "prompt " << b << " k " << k;
      if (k >= n) {
        EXPECT_NEAR(pred[size_t(b * K + k)], y(k), 1e-4 * (1 + std::abs(y(k))));
      }
    }
    EXPECT_EQ(pred[size_t(b * K)], 0.f);
  }
  EXPECT_THROW(make_baseline("window_least_squares", {{"window", "0"}}), Error);
}

}  // namespace
}  // namespace icl

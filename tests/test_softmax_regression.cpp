// Softmax regression (Li et al. 2024, docs/TASKS.md §5): the objective's gradient against finite
// differences, the task's labels against their definition, and the GD baseline against an
// independent step-by-step computation and its fixed point.
#include <gtest/gtest.h>

#include <cmath>

#include "baselines/baseline.h"
#include "baselines/softmax_objective.h"
#include "core/rng.h"
#include "tasks/task.h"
#include "tests/errors.h"
#include "tests/prompts.h"
#include "tests/stats.h"

namespace icl {
namespace {

using Raw = std::map<std::string, std::string>;
using Mat = Eigen::MatrixXd;
using Vec = Eigen::VectorXd;

VectorPrompts sample(const Raw& p, int64_t B, int64_t K, uint64_t seed = 5) {
  return test::take(
      make_task("softmax_regression", p)->sample({seed, stream_id("softmax-test")}, 0, B, K));
}

Mat rows(const VectorPrompts& pb, int64_t b, int64_t n) {
  Mat A(n, pb.dx);
  for (int64_t k = 0; k < n; ++k)
    for (int64_t i = 0; i < pb.dx; ++i) A(k, i) = double(pb.x(b, k)[i]);
  return A;
}

TEST(SoftmaxObjective, GradientMatchesFiniteDifferences) {
  Rng rng({11, 0}, 0);
  for (const auto& [n, d, spread] : {std::tuple{1, 3, 1.0}, std::tuple{7, 4, 1.0},
                                     std::tuple{30, 5, 3.0}, std::tuple{12, 1, 0.1}}) {
    Mat A(n, d);
    Vec b(n), x(d);
    for (auto& v : A.reshaped()) v = rng.normal();
    for (auto& v : b) v = rng.uniform(0.0, 1.0);
    b /= b.sum();
    for (auto& v : x) v = spread * rng.normal();
    const Vec g = softmax_regression_gradient(A, b, x);
    Vec fd(d);
    for (int64_t i = 0; i < d; ++i) {
      const double h = 1e-6 * std::max(1.0, std::abs(x(i)));
      Vec xp = x, xm = x;
      xp(i) += h;
      xm(i) -= h;
      fd(i) = (softmax_regression_loss(A, b, xp) - softmax_regression_loss(A, b, xm)) / (2 * h);
    }
    const double scale = std::max(1e-12, fd.cwiseAbs().maxCoeff());
    EXPECT_LT((g - fd).cwiseAbs().maxCoeff() / scale, 1e-7) << "n=" << n << " d=" << d;
    if (n == 1) {
      EXPECT_LT(g.norm(), 1e-15);  // softmax of one row is 1 whatever x: a flat objective
    }
  }
  // Zero at the solution: b = softmax(A x*) is reached at x*.
  Mat A(9, 3);
  Vec x(3);
  for (auto& v : A.reshaped()) v = rng.normal();
  for (auto& v : x) v = rng.normal();
  EXPECT_LT(softmax_regression_gradient(A, softmax_of(A, x), x).norm(), 1e-15);
}

// y_i = exp(a_i·x* − ‖x*‖²/2), and every prefix's labels renormalised are the paper's target
// softmax(A_{<k} x*) for that prefix.
TEST(SoftmaxRegressionTask, LabelsAreTheLargePromptLimitOfTheSoftmax) {
  const int64_t B = 6, K = 13, d = 4;
  const VectorPrompts pb = sample({{"d", "4"}, {"scale", "1.5"}}, B, K);
  ASSERT_EQ(pb.truth_dim, d);
  for (int64_t b = 0; b < B; ++b) {
    Vec w(d);
    for (int64_t i = 0; i < d; ++i) w(i) = double(pb.truth[size_t(b * d + i)]);
    const Mat A = rows(pb, b, K);
    Vec y(K);
    for (int64_t k = 0; k < K; ++k) {
      y(k) = double(*pb.y(b, k));
      const double want = std::exp(A.row(k).dot(w) - 0.5 * w.squaredNorm());
      EXPECT_NEAR(y(k), want, 1e-5 * std::max(1.0, want));
    }
    for (const int64_t n : {int64_t(1), int64_t(5), K}) {
      const Vec target = y.head(n) / y.head(n).sum();
      const Vec want = softmax_of(A.topRows(n), w);
      for (int64_t k = 0; k < n; ++k) EXPECT_NEAR(target(k), want(k), 1e-5);
    }
  }
}

// Issue 19, item 3: example i's label does not depend on later examples, so a prompt of K + 1
// examples extends the one with K (it did not while the softmax normalised over the whole prompt).
TEST(SoftmaxRegressionTask, LongerPromptExtendsShorterOne) {
  const int64_t B = 5, K = 7, d = 3;
  for (const char* noise : {"0", "0.1"}) {
    const VectorPrompts a = sample({{"d", "3"}, {"noise_std", noise}}, B, K);
    const VectorPrompts b = sample({{"d", "3"}, {"noise_std", noise}}, B, K + 1);
    for (int64_t p = 0; p < B; ++p) {
      for (int64_t i = 0; i < d; ++i)
        EXPECT_EQ(a.truth[size_t(p * d + i)], b.truth[size_t(p * d + i)]);
      for (int64_t k = 0; k < K; ++k) {
        for (int64_t i = 0; i < d; ++i) EXPECT_EQ(a.x(p, k)[i], b.x(p, k)[i]);
        EXPECT_EQ(*a.y(p, k), *b.y(p, k))
            << "prompt " << p << " example " << k << " noise " << noise;
      }
    }
  }
}

TEST(SoftmaxRegressionTask, LogitsHaveTheStatedSpreadAndLabelsTheStatedVariance) {
  // a·x* ~ N(0, scale²); the labels exp(a·x* − ‖x*‖²/2) are log-normal with variance
  // exp(‖x*‖²) − 1 ≈ exp(scale²) − 1, the task's normalisation.
  const double scale = 0.7;
  const int64_t B = 400, K = 200, d = 6;
  const VectorPrompts pb = sample({{"d", "6"}, {"scale", "0.7"}}, B, K);
  std::vector<double> logit2, dev2;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t k = 0; k < K; k += 10) {
      double z = 0;
      for (int64_t i = 0; i < d; ++i) z += double(pb.x(b, k)[i]) * pb.truth[size_t(b * d + i)];
      logit2.push_back(z * z);
      dev2.push_back(std::pow(double(*pb.y(b, k)) - 1.0, 2));
    }
  const auto [m, se] = test::mean_se(logit2);
  EXPECT_NEAR(m, scale * scale, 4 * se);
  const auto [v, vse] = test::mean_se(dev2);
  const double want = make_task("softmax_regression", {{"scale", "0.7"}})->normalisation();
  EXPECT_NEAR(want, std::expm1(scale * scale), 1e-12);
  EXPECT_NEAR(v, want, 4 * vse + 0.02 * want);  // + the finite-K normaliser's own spread
}

TEST(SoftmaxRegressionTask, BadParametersNameThemselves) {
  for (const auto& [key, value] : {std::pair{"d", "0"}, std::pair{"scale", "-1"},
                                   std::pair{"noise_std", "-0.1"}, std::pair{"scale", "abc"}}) {
    const std::string msg = test::error_of([key = key, value = value] {
      sample({{key, value}}, 1, 3);
    });
    EXPECT_NE(msg.find(key), std::string::npos) << msg;
  }
}

// The baseline computed independently: the same GD written with the full softmax Jacobian, in the
// unscaled objective with step η·n.
TEST(SoftmaxGd, MatchesAnIndependentStepByStepComputation) {
  const int64_t B = 3, K = 9, d = 3;
  const VectorPrompts pb = sample({{"d", "3"}, {"noise_std", "0.05"}}, B, K);
  for (const int64_t steps : {1, 4}) {
    const auto gd = make_baseline("softmax_gd", {{"steps", std::to_string(steps)}, {"lr", "0.7"}});
    const std::vector<float> got = gd->predict(PromptBatch(pb));
    for (int64_t b = 0; b < B; ++b) {
      EXPECT_EQ(got[size_t(b * K)], 1.f);
      for (int64_t k = 1; k < K; ++k) {
        const Mat A = rows(pb, b, k);
        Vec y(k);
        for (int64_t i = 0; i < k; ++i) y(i) = double(*pb.y(b, i));
        if (!(y.sum() > 0)) continue;
        const Vec target = y / y.sum();
        Vec x = Vec::Zero(d);
        for (int64_t t = 0; t < steps; ++t) {
          Vec f = A * x;
          for (double& v : f) v = std::exp(v);
          f /= f.sum();
          const Mat J = Mat(f.asDiagonal()) - f * f.transpose();
          x -= 0.7 * double(k) * A.transpose() * J * (f - target);
        }
        Vec a(d);
        for (int64_t i = 0; i < d; ++i) a(i) = double(pb.x(b, k)[i]);
        double denom = 0;
        for (const double v : Vec(A * x)) denom += std::exp(v);
        const double want = std::exp(a.dot(x)) * y.sum() / denom;
        EXPECT_NEAR(double(got[size_t(b * K + k)]), want, 1e-5 * std::max(1.0, want))
            << "steps=" << steps << " b=" << b << " k=" << k;
      }
    }
  }
}

TEST(SoftmaxGd, ConvergedGdPredictsNoiselessLabelsExactly) {
  // Noiseless and with more rows than dimensions, x* is the unique minimiser (the rows span R^d),
  // so enough GD steps recover it and the normaliser carried from the prefix makes the prediction
  // exact; one step is far from it. The step is small because the curvature grows with the largest
  // label (η = 0.5 already diverges on some prompts).
  const int64_t B = 4, K = 24;
  const VectorPrompts pb = sample({{"d", "3"}, {"scale", "1"}}, B, K);
  const std::vector<float> many =
      make_baseline("softmax_gd", {{"steps", "20000"}, {"lr", "0.05"}})->predict(PromptBatch(pb));
  const std::vector<float> one = make_baseline("softmax_gd", {})->predict(PromptBatch(pb));
  double err_many = 0, err_one = 0;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t k = 12; k < K; ++k) {
      const double y = double(*pb.y(b, k));
      err_many = std::max(err_many, std::abs(double(many[size_t(b * K + k)]) - y) / y);
      err_one = std::max(err_one, std::abs(double(one[size_t(b * K + k)]) - y) / y);
    }
  EXPECT_LT(err_many, 1e-3);
  EXPECT_GT(err_one, 1e-2);
}

}  // namespace
}  // namespace icl

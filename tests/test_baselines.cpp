// Baselines against independent from-scratch implementations (tests/reference/) on the same
// prompts, and against the closed forms of docs/TASKS.md §1–2 within Monte-Carlo error.
#include <gtest/gtest.h>

#include <cmath>

#include "baselines/baseline.h"
#include "baselines/lasso.h"
#include "core/error.h"
#include "eval/evaluate.h"
#include "tests/prompts.h"
#include "tests/reference/baselines_ref.h"

namespace icl {
namespace {

using Raw = std::map<std::string, std::string>;

VectorPrompts prompts(const Raw& task_params, int64_t B, int64_t K, uint64_t seed = 5,
                      const std::string& task = "linear_regression") {
  return test::take(make_task(task, task_params)->sample({seed, stream_id("baselines")}, 0, B, K));
}

// Max |a − b| / (1 + |b|) over all prompts and k.
template <class Ref>
double max_rel_diff(const VectorPrompts& pb, const std::vector<float>& got, Ref ref) {
  double worst = 0;
  for (int64_t b = 0; b < pb.batch; ++b) {
    const std::vector<double> want = ref(b);
    for (int64_t k = 0; k < pb.n_examples; ++k)
      worst = std::max(worst, std::abs(got[size_t(b * pb.n_examples + k)] - want[size_t(k)]) /
                                  (1 + std::abs(want[size_t(k)])));
  }
  return worst;
}

TEST(Baselines, LeastSquaresMatchesPseudoInverse) {
  for (const Raw& p :
       {Raw{{"d", "8"}}, Raw{{"d", "8"}, {"x_cov", "half_subspace"}},
        Raw{{"d", "8"}, {"active_dims", "5"}}, Raw{{"d", "8"}, {"query", "orthogonal"}}}) {
    const VectorPrompts pb = prompts(p, 12, p.count("query") ? 8 : 17);
    const auto got = make_baseline("least_squares", {})->predict(PromptBatch(pb));
    // Near k = rank the system is ill-conditioned for both methods; float32 inputs bound agreement.
    EXPECT_LT(max_rel_diff(pb, got, [&](int64_t b) { return ref::min_norm_least_squares(pb, b); }),
              2e-3)
        << p.begin()->first;
  }
}

TEST(Baselines, RidgeMatchesNormalEquations) {
  const VectorPrompts pb = prompts({{"d", "7"}, {"noise_std", "0.5"}}, 10, 15);
  for (const double lambda : {0.01, 0.5, 3.0}) {
    const auto got =
        make_baseline("ridge", {{"lambda", std::to_string(lambda)}})->predict(PromptBatch(pb));
    EXPECT_LT(max_rel_diff(pb, got, [&](int64_t b) { return ref::ridge(pb, b, lambda); }), 1e-5);
  }
}

TEST(Baselines, RidgeWithVanishingLambdaIsMinimumNormLeastSquares) {
  const VectorPrompts pb = prompts({{"d", "10"}}, 20, 25);
  const auto ls = make_baseline("least_squares", {})->predict(PromptBatch(pb));
  const auto ridge = make_baseline("ridge", {{"lambda", "1e-10"}})->predict(PromptBatch(pb));
  for (int64_t b = 0; b < pb.batch; ++b)
    for (int64_t k = 0; k < pb.n_examples; ++k) {
      if (std::abs(k - 10) <= 1) continue;  // λ‖w‖² still matters where XᵀX is nearly singular
      const size_t i = size_t(b * pb.n_examples + k);
      EXPECT_NEAR(ridge[i], ls[i], 1e-3 * (1 + std::abs(ls[i]))) << "prompt " << b << " k " << k;
    }
}

TEST(Baselines, GradientDescentMatchesTheLiteralLoop) {
  const VectorPrompts pb = prompts({{"d", "6"}}, 8, 12);
  for (const auto& [steps, lr] : {std::pair<int64_t, double>{1, 0.1}, {7, 0.05}, {300, 0.02}}) {
    const auto got = make_baseline("gradient_descent",
                                   {{"steps", std::to_string(steps)}, {"lr", std::to_string(lr)}})
                         ->predict(PromptBatch(pb));
    EXPECT_LT(max_rel_diff(pb, got,
                           [&, steps = steps, lr = lr](int64_t b) {
                             return ref::gradient_descent(pb, b, steps, lr);
                           }),
              1e-5)
        << steps << " steps";
  }
}

// Both windows, with and without the weight decay, and a clip small enough to bind on most steps.
TEST(Baselines, SgdMatchesAkyurekReferenceLoop) {
  const VectorPrompts pb = prompts({{"d", "8"}}, 6, 20);
  struct Case {
    std::string window;
    double lr, decay, clip;
  };
  for (const Case& c :
       {Case{"one", 0.02, 0.0, 20.0}, Case{"full", 0.02, 0.0, 20.0}, Case{"full", 0.03, 1e-4, 20.0},
        Case{"one", 0.05, 0.01, 0.5}, Case{"full", 0.01, 0.0, 0.5}, Case{"full", 0.01, 0.0, 0.0}}) {
    const auto got = make_baseline("sgd", {{"window", c.window},
                                           {"lr", std::to_string(c.lr)},
                                           {"weight_decay", std::to_string(c.decay)},
                                           {"clip", std::to_string(c.clip)}})
                         ->predict(PromptBatch(pb));
    EXPECT_LT(max_rel_diff(pb, got,
                           [&](int64_t b) {
                             return ref::akyurek_sgd(pb, b, c.lr, c.window == "full", c.decay,
                                                     c.clip);
                           }),
              1e-5)
        << c.window << " lr " << c.lr << " clip " << c.clip;
  }
}

// The full window's last steps see the whole prefix: with enough examples it nears least squares,
// while one online pass stays well away from it (the distinction the figure draws).
TEST(Baselines, SgdFullWindowApproachesLeastSquaresOnlineDoesNot) {
  const VectorPrompts pb = prompts({{"d", "4"}}, 64, 40);
  const auto ls = make_baseline("least_squares", {})->predict(PromptBatch(pb));
  const auto full = make_baseline("sgd", {{"window", "full"}})->predict(PromptBatch(pb));
  const auto one = make_baseline("sgd", {})->predict(PromptBatch(pb));
  double d_full = 0, d_one = 0;
  for (int64_t b = 0; b < pb.batch; ++b) {
    const size_t i = size_t(b * pb.n_examples + 39);
    d_full += (full[i] - ls[i]) * (full[i] - ls[i]);
    d_one += (one[i] - ls[i]) * (one[i] - ls[i]);
  }
  EXPECT_LT(d_full / 64, 0.05);  // measured 0.015, against E[y²] = d = 4
  EXPECT_GT(d_one / 64, 10 * d_full / 64);
}

TEST(Baselines, GradientDescentWithManySmallStepsConvergesToLeastSquares) {
  const VectorPrompts pb = prompts({{"d", "5"}}, 10, 14);
  const auto ls = make_baseline("least_squares", {})->predict(PromptBatch(pb));
  const auto gd = make_baseline("gradient_descent", {{"steps", "200000"}, {"lr", "0.01"}})
                      ->predict(PromptBatch(pb));
  for (int64_t b = 0; b < pb.batch; ++b)
    for (int64_t k = 1; k < pb.n_examples; ++k) {
      if (std::abs(k - 5) <= 1) continue;  // the smallest eigenvalue of XᵀX/k is tiny near k = d
      const size_t i = size_t(b * pb.n_examples + k);
      EXPECT_NEAR(gd[i], ls[i], 1e-3 * (1 + std::abs(ls[i])));
    }
}

TEST(Baselines, NearestNeighboursMatchesFullSort) {
  const VectorPrompts pb = prompts({{"d", "3"}, {"query", "overlapping"}}, 10, 20);
  for (const int64_t k : {1, 3, 50}) {
    const auto got = make_baseline("knn", {{"k", std::to_string(k)}})->predict(PromptBatch(pb));
    EXPECT_LT(max_rel_diff(pb, got, [&](int64_t b) { return ref::knn(pb, b, k); }), 1e-6);
  }
}

TEST(Baselines, OptimalOneStepGDMatchesExplicitPreconditioner) {
  for (const std::string cov : {"isotropic", "skewed", "half_subspace"}) {
    const VectorPrompts pb = prompts({{"d", "6"}, {"x_cov", cov}, {"x_scale", "1.5"}}, 8, 14);
    const auto got = make_baseline("optimal_one_step_gd", {})->predict(PromptBatch(pb));
    EXPECT_LT(max_rel_diff(pb, got, [&](int64_t b) { return ref::optimal_one_step_gd(pb, b); }),
              1e-5)
        << cov;
  }
}

TEST(Baselines, LassoSatisfiesKKTAndRecoversTheSupport) {
  // Sparse w with 3 of 20 coordinates, 40 noiseless examples: the Lasso support is the true one.
  const int64_t d = 20, K = 40;
  const auto task = make_task("sparse_linear_regression", {{"d", "20"}, {"sparsity", "3"}});
  const VectorPrompts sp = test::take(task->sample({9, stream_id("lasso")}, 0, 20, K));
  for (int64_t b = 0; b < sp.batch; ++b) {
    const Eigen::MatrixXd x = ref::prefix_x(sp, b, K);
    const Eigen::VectorXd y = ref::prefix_y(sp, b, K);
    const double alpha = 0.01;
    Eigen::VectorXd w = Eigen::VectorXd::Zero(d);
    lasso_coordinate_descent(x.transpose() * x, x.transpose() * y, y.squaredNorm(), double(K),
                             alpha, w, 100000, 1e-12);
    // KKT: Xᵀ(y − Xw)/n = α·sign(w_j) on the support, |·| ≤ α off it.
    const Eigen::VectorXd grad = x.transpose() * (y - x * w) / double(K);
    for (int64_t j = 0; j < d; ++j) {
      if (w(j) != 0)
        EXPECT_NEAR(grad(j), alpha * (w(j) > 0 ? 1 : -1), 1e-6);
      else
        EXPECT_LE(std::abs(grad(j)), alpha + 1e-6);
      // Support recovery: no false positives, and every true coefficient well above the
      // shrinkage level α is found (a N(0,1) draw can itself be nearly 0).
      const double truth = sp.truth[size_t(b * d + j)];
      if (truth == 0.0) {
        EXPECT_EQ(w(j), 0.0) << "prompt " << b << " coord " << j;
      } else if (std::abs(truth) > 10 * alpha) {
        EXPECT_NE(w(j), 0.0) << "prompt " << b << " coord " << j;
      }
    }
    EXPECT_LT(lasso_duality_gap(x.transpose() * x, x.transpose() * y, y.squaredNorm(), double(K),
                                alpha, w),
              1e-10 * y.squaredNorm());
  }
}

TEST(Baselines, LassoWithTinyAlphaApproachesLeastSquaresOnceDetermined) {
  const VectorPrompts pb = prompts({{"d", "5"}}, 10, 15);
  const auto ls = make_baseline("least_squares", {})->predict(PromptBatch(pb));
  const auto lasso =
      make_baseline("lasso", {{"alpha", "1e-7"}, {"tol", "1e-12"}})->predict(PromptBatch(pb));
  for (int64_t b = 0; b < pb.batch; ++b)
    for (int64_t k = 8; k < pb.n_examples; ++k) {
      const size_t i = size_t(b * pb.n_examples + k);
      EXPECT_NEAR(lasso[i], ls[i], 1e-3 * (1 + std::abs(ls[i])));
    }
}

TEST(Baselines, FirstPredictionIsZeroAndLabelsNameParameters) {
  const VectorPrompts pb = prompts({{"d", "4"}}, 3, 5);
  const VectorPrompts pb1 = prompts({{"d", "1"}}, 3, 5);  // for the learners of 1-D inputs
  for (const auto& info : baseline_registry()) {
    if (!info.not_built.empty()) continue;  // tests/test_xgboost.cpp checks its message
    const auto b = make_baseline(info.name, {});
    if (info.name == "maze_bfs") {  // the maze solver reads token prompts only
      EXPECT_THROW(b->predict(PromptBatch(pb)), Error);
      EXPECT_EQ(b->label(), info.name);
      continue;
    }
    const auto pred = b->predict(PromptBatch(info.name.starts_with("fourier_") ? pb1 : pb));
    // The elimination learner starts from the most specific conjunction (every literal and its
    // negation), which is false everywhere: its first answer is −1 by definition, as is the null
    // classifier's every answer. Softmax regression's labels average 1, which softmax_gd predicts
    // before any example.
    const float first = info.name == "elimination" || info.name == "null_classifier" ? -1.f
                        : info.name == "softmax_gd"                                  ? 1.f
                                                                                     : 0.f;
    for (int64_t p = 0; p < 3; ++p) EXPECT_EQ(pred[size_t(p * 5)], first) << info.name;
    EXPECT_EQ(b->label(), info.name);
  }
  EXPECT_EQ(make_baseline("ridge", {{"lambda", "0.5"}})->label(), "ridge(lambda=0.5)");
  EXPECT_EQ(make_baseline("ridge", {{"lambda", "0.5"}}, "mine")->label(), "mine");
  EXPECT_THROW(make_baseline("ridge", {{"lambda", "-1"}}), Error);
  EXPECT_THROW(make_baseline("ridge", {{"mu", "1"}}), Error);
  EXPECT_THROW(make_baseline("splines", {}), Error);
}

// ---- closed forms (docs/TASKS.md §1.5, §2), within Monte-Carlo error ---------------------------

struct Curve {
  std::vector<double> mean, se;  // se from the 90% bootstrap interval: (hi − lo) / (2·1.645)
};

Curve curve(const std::string& baseline, const Raw& bp, const std::string& task, const Raw& tp,
            int64_t P, int64_t K, double* normalisation = nullptr) {
  const auto t = make_task(task, tp);
  const auto b = make_baseline(baseline, bp);
  EvalOptions opt;
  opt.prompts = P;
  opt.examples = K;
  opt.bootstrap = 400;
  opt.progress = false;
  const EvalResult r = evaluate("test", *t, {b.get()}, {77, stream_id("closed_form")}, opt);
  if (normalisation) *normalisation = r.normalisation;
  Curve c{r.curves[0].stats.mean, {}};
  for (int64_t k = 0; k < K; ++k)
    c.se.push_back((r.curves[0].stats.hi[size_t(k)] - r.curves[0].stats.lo[size_t(k)]) / 3.29);
  return c;
}

// |measured − theory| within 5 standard errors (plus a rounding floor).
#define EXPECT_MC_NEAR(c, k, theory) \
  EXPECT_NEAR((c).mean[size_t(k)], (theory), 5 * (c).se[size_t(k)] + 1e-6) << "at k = " << (k)

TEST(ClosedForms, LeastSquaresErrorIsMaxDMinusKOverD) {
  const int64_t d = 10, K = 20;
  const Curve c = curve("least_squares", {}, "linear_regression", {{"d", "10"}}, 3000, K);
  for (int64_t k = 0; k < K; ++k) EXPECT_MC_NEAR(c, k, double(std::max(d - k, int64_t(0))) / d);
  for (int64_t k = d; k < K; ++k) EXPECT_LT(c.mean[size_t(k)], 1e-8);
}

TEST(ClosedForms, AveragingErrorIsDPlusOneOverK) {
  const int64_t d = 10, K = 30;
  const Curve c = curve("averaging", {}, "linear_regression", {{"d", "10"}}, 3000, K);
  EXPECT_MC_NEAR(c, 0, 1.0);
  for (int64_t k = 1; k < K; ++k) EXPECT_MC_NEAR(c, k, double(d + 1) / double(k));
}

TEST(ClosedForms, NoisyLeastSquaresFollowsSigmaSquaredTimesOnePlusDOverKMinusDMinusOne) {
  const int64_t d = 5, K = 40;
  const double sigma = 0.5;
  double norm = 0;
  const Curve c = curve("least_squares", {}, "noisy_linear_regression",
                        {{"d", "5"}, {"noise_std", "0.5"}}, 4000, K, &norm);
  EXPECT_DOUBLE_EQ(norm, double(d));
  // Heavy tails just above k = d + 1; from d + 5 on the variance is moderate.
  for (int64_t k = d + 5; k < K; ++k) {
    const double raw = sigma * sigma * (1.0 + double(d) / double(k - d - 1));
    EXPECT_MC_NEAR(c, k, raw / norm);
  }
}

TEST(ClosedForms, OptimalOneStepGDRiskIsDTimesDPlusOneOverNPlusDPlusOne) {
  const int64_t d = 8, K = 40;
  const Curve c = curve("optimal_one_step_gd", {}, "linear_regression", {{"d", "8"}}, 3000, K);
  for (int64_t n = 0; n < K; ++n) EXPECT_MC_NEAR(c, n, double(d + 1) / double(n + d + 1));
}

TEST(ClosedForms, ZeroPredictorErrorIsOne) {
  const Curve c = curve("zero", {}, "sparse_linear_regression", {{"d", "10"}}, 2000, 10);
  for (int64_t k = 0; k < 10; ++k) EXPECT_MC_NEAR(c, k, 1.0);
}

TEST(ClosedForms, BayesOptimalRidgeBeatsLeastSquaresOnNoisyData) {
  // w ~ N(0, τ²I), noise σ²: ridge with λ = σ²/τ² is the posterior mean, so no predictor does
  // better.
  const Raw tp = {{"d", "10"}, {"noise_std", "1"}, {"w_std", "1"}};
  const Curve ridge = curve("ridge", {{"lambda", "1"}}, "noisy_linear_regression", tp, 2000, 25);
  const Curve ls = curve("least_squares", {}, "noisy_linear_regression", tp, 2000, 25);
  const Curve off = curve("ridge", {{"lambda", "10"}}, "noisy_linear_regression", tp, 2000, 25);
  for (int64_t k = 1; k < 25; ++k) {
    EXPECT_LE(ridge.mean[size_t(k)], ls.mean[size_t(k)] + 1e-9) << k;
    EXPECT_LE(ridge.mean[size_t(k)], off.mean[size_t(k)] + 1e-9) << k;
  }
}

}  // namespace
}  // namespace icl

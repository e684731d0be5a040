// Panwar et al. 2024 families (docs/TASKS.md §4): the Fourier-series tasks and the Gaussian-mixture
// linear regression against their published definitions, their Bayesian baselines against closed
// forms and brute-force numerical integration, and the DFT inductive-bias measurement.
#include <gtest/gtest.h>

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <numbers>

#include <fmt/format.h>

#include "baselines/baseline.h"
#include "core/error.h"
#include "eval/spectrum.h"
#include "eval/streams.h"
#include "io/h5.h"
#include "run/run_benchmark.h"
#include "tasks/fourier.h"
#include "tests/errors.h"
#include "tests/prompts.h"
#include "tests/stats.h"

namespace icl {
namespace {

using Raw = std::map<std::string, std::string>;
using Mat = Eigen::MatrixXd;
using Vec = Eigen::VectorXd;

VectorPrompts sample(const std::string& task, const Raw& p, int64_t B, int64_t K,
                     uint64_t seed = 3) {
  return test::take(make_task(task, p)->sample({seed, stream_id("fourier-test")}, 0, B, K));
}

using test::error_of;

// Features of example k of prompt b under frequency n.
Vec phi(const VectorPrompts& pb, int64_t b, int64_t k, int64_t n, bool intercept, double L = 5.0) {
  Vec v;
  fourier_features(double(*pb.x(b, k)), n, L, intercept, v);
  return v;
}

using icl::test::mean_se;

// ------------------------------------------------------------------------------------------------
// Tasks.

TEST(FourierTask, FunctionVarianceIsNPlusOneOverN) {
  // With a, b ~ N(0, 1) and the 1/√N scaling, E f(x)² = (1 + Σ_n cos² + sin²)/N = (N+1)/N at every
  // x, and N/N = 1 without the intercept; the mixture has no intercept by default (N'/N' = 1) and
  // with one averages (N'+1)/N' over N' ~ U{1..N}.
  struct Case {
    std::string task;
    Raw p;
    double want;
  };
  const double mix = 1.0 + (1.0 + 1.0 / 2 + 1.0 / 3 + 1.0 / 4) / 4;
  for (const Case& c :
       {Case{"fourier_series", {{"N", "3"}}, 4.0 / 3}, Case{"fourier_series", {{"N", "1"}}, 2.0},
        Case{"fourier_series", {{"N", "4"}, {"intercept", "false"}}, 1.0},
        Case{"fourier_series_mixture", {{"N", "4"}}, 1.0},
        Case{"fourier_series_mixture", {{"N", "4"}, {"intercept", "true"}}, mix}}) {
    const VectorPrompts pb = sample(c.task, c.p, 20000, 4);
    std::vector<double> y2;  // one value per prompt: examples of a prompt share coefficients
    for (int64_t b = 0; b < pb.batch; ++b) y2.push_back(double(*pb.y(b, 2)) * *pb.y(b, 2));
    const auto [m, se] = mean_se(y2);
    EXPECT_NEAR(m, c.want, 4 * se) << c.task << " " << c.p.begin()->second;
  }
}

TEST(FourierTask, InputsUniformOnMinusLToL) {
  const VectorPrompts pb = sample("fourier_series", {{"N", "2"}, {"L", "3"}}, 2000, 10);
  std::vector<double> x, x2;
  for (float v : pb.xs) {
    ASSERT_GE(v, -3.f);
    ASSERT_LE(v, 3.f);
    x.push_back(v);
    x2.push_back(double(v) * v);
  }
  const auto [m, se] = mean_se(x);
  EXPECT_NEAR(m, 0.0, 4 * se);
  const auto [m2, se2] = mean_se(x2);
  EXPECT_NEAR(m2, 3.0, 4 * se2);  // L²/3
}

TEST(FourierTask, TruthIsTheScaledCoefficients) {
  for (const bool mixture : {false, true}) {
    const int64_t N = 4;
    const VectorPrompts pb = sample(mixture ? "fourier_series_mixture" : "fourier_series",
                                    {{"N", std::to_string(N)}}, 400, 6);
    ASSERT_EQ(pb.truth_dim, 2 * N + 2);
    std::vector<int64_t> count(size_t(N + 1), 0);
    for (int64_t b = 0; b < pb.batch; ++b) {
      const float* t = pb.truth.data() + b * pb.truth_dim;
      const int64_t np = int64_t(t[2 * N + 1]);
      ASSERT_TRUE(mixture ? (np >= 1 && np <= N) : np == N);
      ++count[size_t(np)];
      Vec c(2 * N + 1);
      for (int64_t i = 0; i <= 2 * N; ++i) c(i) = t[i];
      for (int64_t n = np + 1; n <= N; ++n) {
        EXPECT_EQ(c(n), 0.0);
        EXPECT_EQ(c(N + n), 0.0);
      }
      for (int64_t k = 0; k < pb.n_examples; ++k)
        EXPECT_NEAR(phi(pb, b, k, N, true).dot(c), *pb.y(b, k), 1e-5);
    }
    if (mixture) {  // N' ~ U{1..4}: 100 expected each
      for (int64_t n = 1; n <= N; ++n) EXPECT_NEAR(double(count[size_t(n)]), 100.0, 35.0);
    }
  }
}

TEST(FourierTask, CoefficientsRecoveredFromTheExamples) {
  // 2N+1 noiseless examples determine the coefficients: solving the square system gives the truth.
  const int64_t N = 3;
  const VectorPrompts pb = sample("fourier_series", {{"N", "3"}}, 20, 2 * N + 1);
  for (int64_t b = 0; b < pb.batch; ++b) {
    Mat A(2 * N + 1, 2 * N + 1);
    Vec y(2 * N + 1);
    for (int64_t k = 0; k <= 2 * N; ++k) {
      A.row(k) = phi(pb, b, k, N, true).transpose();
      y(k) = *pb.y(b, k);
    }
    const Vec c = A.fullPivLu().solve(y);
    // y is float32: its rounding (≲ 3e-7 here) is amplified by the condition number of A.
    const Eigen::JacobiSVD<Mat> svd(A);
    const double cond = svd.singularValues()(0) / svd.singularValues().tail(1)(0);
    for (int64_t i = 0; i <= 2 * N; ++i)
      EXPECT_NEAR(c(i), pb.truth[size_t(b * pb.truth_dim + i)], 1e-6 * cond + 1e-6);
  }
}

// Issue 19, item 3: the authors' mixture class (src/tasks.py FourierSeries, registered as
// fourier_series_mixture) has no constant term, their fixed-N class (FourierSeriesV2) has one; each
// task's default follows its class, and the mixture's posterior baseline follows its task.
TEST(FourierTask, MixtureHasNoConstantTermByDefault) {
  const int64_t N = 4;
  const VectorPrompts mix = sample("fourier_series_mixture", {{"N", "4"}}, 300, 5);
  const VectorPrompts fixed = sample("fourier_series", {{"N", "4"}}, 300, 5);
  int64_t fixed_nonzero = 0;
  for (int64_t b = 0; b < mix.batch; ++b) {
    EXPECT_EQ(mix.truth[size_t(b * mix.truth_dim)], 0.f) << "prompt " << b;
    fixed_nonzero += fixed.truth[size_t(b * fixed.truth_dim)] != 0.f;
    ASSERT_EQ(mix.truth_dim, 2 * N + 2);
  }
  EXPECT_EQ(fixed_nonzero, fixed.batch);
  EXPECT_FALSE(make_task("fourier_series_mixture", {})->params().b("intercept"));
  EXPECT_TRUE(make_task("fourier_series", {})->params().b("intercept"));
  EXPECT_FALSE(make_baseline("fourier_mixture_posterior", {})->params().b("intercept"));
  EXPECT_TRUE(make_baseline("fourier_posterior", {})->params().b("intercept"));
  EXPECT_TRUE(make_baseline("fourier_least_squares", {})->params().b("intercept"));
}

TEST(FourierTask, PrefixAndBatchInvariance) {
  const auto t = make_task("fourier_series_mixture", {{"N", "5"}, {"noise_std", "0.1"}});
  const VectorPrompts a = test::take(t->sample({1, 2}, 0, 8, 12)),
                      b = test::take(t->sample({1, 2}, 3, 2, 7));
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t k = 0; k < 7; ++k) {
      EXPECT_EQ(*a.x(3 + i, k), *b.x(i, k));
      EXPECT_EQ(*a.y(3 + i, k), *b.y(i, k));
    }
}

TEST(GaussianMixtureTask, MatchesThePublishedPrior) {
  const VectorPrompts pb =
      sample("gaussian_mixture_regression", {{"d", "6"}, {"mixing", "0.3"}}, 4000, 8);
  ASSERT_EQ(pb.truth_dim, 7);
  int64_t plus = 0;
  std::vector<double> w2;
  for (int64_t b = 0; b < pb.batch; ++b) {
    const float* t = pb.truth.data() + b * 7;
    const bool is_plus = t[6] == 0.f;
    plus += is_plus;
    EXPECT_EQ(t[0], is_plus ? 3.f : -3.f);  // centre_std = 0: exactly ±centre
    w2.push_back(double(t[3]) * t[3]);
    for (int64_t k = 0; k < 8; ++k) {
      double y = 0;
      for (int64_t i = 0; i < 6; ++i) y += double(t[i]) * *(pb.x(b, k) + i);
      EXPECT_NEAR(y, *pb.y(b, k), 1e-4 * (1 + std::abs(y)));
    }
  }
  // Binomial(4000, 0.3): sd 29.
  EXPECT_NEAR(double(plus), 1200.0, 4 * 29.0);
  const auto [m, se] = mean_se(w2);
  EXPECT_NEAR(m, 1.0, 4 * se);
}

// Issue 19, item 3: the error is divided by d, as the authors' figures divide it
// (mdrpanwar/icl-bayesian-prism, EvalNotebooks/GMM_PME_Final_Plots.ipynb cell 9 calls
// src/common_code.py sns_lineplot_paper, which plots each error curve / n_dims), not by E y².
TEST(GaussianMixtureTask, ErrorIsNormalisedByTheDimension) {
  EXPECT_DOUBLE_EQ(make_task("gaussian_mixture_regression", {})->normalisation(), 10.0);
  EXPECT_DOUBLE_EQ(make_task("gaussian_mixture_regression", {{"d", "6"}})->normalisation(), 6.0);
  EXPECT_DOUBLE_EQ(
      make_task("gaussian_mixture_regression", {{"d", "6"}, {"centre", "1"}, {"w_std", "2"}})
          ->normalisation(),
      6.0);
}

// The generator's own sin/cos (a Taylor polynomial, so its loops vectorise) against libm: a few
// 1e-15 on [−π, π], where every task input lands, and libm itself beyond; the features built from
// it by rotation stay within ~1e-14 of libm's cos(nθ), sin(nθ) up to n = 50.
TEST(FourierTask, SinCosAndHarmonicsMatchLibm) {
  double worst = 0;
  for (int i = -20000; i <= 20000; ++i) {
    const double t = std::numbers::pi * i / 20000.0;
    double s, c;
    sincos_pi(t, s, c);
    worst = std::max({worst, std::abs(s - std::sin(t)), std::abs(c - std::cos(t))});
  }
  EXPECT_LT(worst, 5e-15);
  double s, c;
  sincos_pi(10.0, s, c);
  EXPECT_EQ(s, std::sin(10.0));
  EXPECT_EQ(c, std::cos(10.0));
  Vec v;
  worst = 0;
  for (const double x : {-5.0, -3.7, -0.001, 0.0, 1.3, 4.99, 5.0}) {
    fourier_features(x, 50, 5.0, true, v);
    for (int n = 1; n <= 50; ++n) {
      const double t = n * std::numbers::pi * x / 5.0;
      worst = std::max({worst, std::abs(v(n) - std::cos(t)), std::abs(v(50 + n) - std::sin(t))});
    }
  }
  EXPECT_LT(worst, 1e-13);
}

TEST(FourierTask, BadParameters) {
  EXPECT_NE(error_of([] {
              make_task("fourier_series", {{"N", "0"}});
            }).find("N"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              make_task("fourier_series_mixture", {{"N", "-2"}});
            }).find("N"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              make_task("fourier_series", {{"L", "0"}});
            }).find("L"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              make_task("fourier_series", {{"noise_std", "-1"}});
            }).find("noise_std"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              make_task("fourier_series", {{"d", "3"}});
            }).find("d"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              make_task("gaussian_mixture_regression", {{"mixing", "1.5"}});
            }).find("mixing"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              make_task("gaussian_mixture_regression", {{"d", "4"}, {"active_dims", "5"}});
            }).find("active_dims"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              make_task("gaussian_mixture_regression", {{"d", "1"}, {"centre", "0"}});
            }).find("all 0"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              make_baseline("fourier_mixture_posterior", {{"jitter", "0"}});
            }).find("jitter"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              make_baseline("fourier_posterior", {{"N", "0"}});
            }).find("N"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              make_baseline("gmm_posterior", {{"jitter", "0"}})
                  ->predict(PromptBatch(sample("gaussian_mixture_regression", {}, 1, 2)));
            }).find("jitter"),
            std::string::npos);
  // A Fourier baseline on multi-dimensional inputs.
  EXPECT_NE(error_of([] {
              make_baseline("fourier_least_squares", {})
                  ->predict(PromptBatch(sample("linear_regression", {{"d", "3"}}, 1, 4)));
            }).find("dx = 1"),
            std::string::npos);
}

// ------------------------------------------------------------------------------------------------
// Baselines.

TEST(FourierBaselines, LeastSquaresMatchesPseudoInverse) {
  const int64_t N = 3;
  const VectorPrompts pb = sample("fourier_series", {{"N", "3"}, {"noise_std", "0.3"}}, 10, 14);
  const auto got = make_baseline("fourier_least_squares", {{"N", "3"}})->predict(PromptBatch(pb));
  for (int64_t b = 0; b < pb.batch; ++b)
    for (int64_t k = 1; k < pb.n_examples; ++k) {
      Mat A(k, 2 * N + 1);
      Vec y(k);
      for (int64_t i = 0; i < k; ++i) {
        A.row(i) = phi(pb, b, i, N, true).transpose();
        y(i) = *pb.y(b, i);
      }
      Eigen::JacobiSVD<Mat> svd(A, Eigen::ComputeThinU | Eigen::ComputeThinV);
      svd.setThreshold(1e-10);
      const double want = phi(pb, b, k, N, true).dot(svd.solve(y));
      EXPECT_NEAR(got[size_t(b * pb.n_examples + k)], want, 2e-4 * (1 + std::abs(want)))
          << "b=" << b << " k=" << k;
    }
}

TEST(FourierBaselines, NoiselessPosteriorInterpolatesOnceKIsTwoNPlusOne) {
  for (const std::string n : {"1", "3", "5"}) {
    const int64_t N = std::stoi(n), K = 2 * N + 6;
    const VectorPrompts pb = sample("fourier_series", {{"N", n}}, 30, K);
    const auto post = make_baseline("fourier_posterior", {{"N", n}})->predict(PromptBatch(pb));
    double before = 0;
    for (int64_t b = 0; b < pb.batch; ++b)
      for (int64_t k = 0; k < K; ++k) {
        const double err = std::abs(post[size_t(b * K + k)] - *pb.y(b, k));
        if (k >= 2 * N + 1) {
          // Exact up to float32 rounding of the labels times the conditioning of the features.
          Mat A(k, 2 * N + 1);
          for (int64_t i = 0; i < k; ++i) A.row(i) = phi(pb, b, i, N, true).transpose();
          const Eigen::JacobiSVD<Mat> svd(A);
          const double cond = svd.singularValues()(0) / svd.singularValues().tail(1)(0);
          EXPECT_LT(err, 1e-6 * cond + 1e-5) << "N=" << N << " k=" << k << " cond=" << cond;
        } else {
          before = std::max(before, err);
        }
      }
    EXPECT_GT(before, 1e-2) << "fewer than 2N+1 examples cannot determine f";
  }
}

TEST(FourierBaselines, NoisyPosteriorIsRidgeInClosedForm) {
  // Posterior mean of f(q) with c ~ N(0, I/N), noise σ²: the kernel form
  // φ_qᵀ Φᵀ (ΦΦᵀ + Nσ² I)⁻¹ y, a different algorithm than the baseline's Givens ridge.
  const int64_t N = 4;
  const double sigma = 0.4;
  const VectorPrompts pb = sample("fourier_series", {{"N", "4"}, {"noise_std", "0.4"}}, 10, 16);
  const auto got = make_baseline("fourier_posterior", {{"N", "4"}, {"noise_std", "0.4"}})
                       ->predict(PromptBatch(pb));
  for (int64_t b = 0; b < pb.batch; ++b)
    for (int64_t k = 0; k < pb.n_examples; ++k) {
      double want = 0;
      if (k > 0) {
        Mat A(k, 2 * N + 1);
        Vec y(k);
        for (int64_t i = 0; i < k; ++i) {
          A.row(i) = phi(pb, b, i, N, true).transpose();
          y(i) = *pb.y(b, i);
        }
        const Mat G = A * A.transpose() + double(N) * sigma * sigma * Mat::Identity(k, k);
        want = phi(pb, b, k, N, true).dot(A.transpose() * G.llt().solve(y));
      }
      EXPECT_NEAR(got[size_t(b * pb.n_examples + k)], want, 1e-5 * (1 + std::abs(want)));
    }
}

// Gauss–Hermite rule for ∫ g(z) N(z; 0, 1) dz (Golub–Welsch on the probabilists' recurrence).
std::pair<Vec, Vec> gauss_hermite(int n) {
  Mat J = Mat::Zero(n, n);
  for (int i = 1; i < n; ++i) J(i, i - 1) = J(i - 1, i) = std::sqrt(double(i));
  Eigen::SelfAdjointEigenSolver<Mat> es(J);
  Vec w = es.eigenvectors().row(0).transpose().array().square();
  return {es.eigenvalues(), w};
}

// ∫ g(z) N(z; 0, I_dim) dz on the tensor-product rule (g returns two integrands at once).
Eigen::Vector2d integrate(int dim, int nodes, const std::function<Eigen::Vector2d(const Vec&)>& g) {
  const auto [x, w] = gauss_hermite(nodes);
  std::vector<int> idx(size_t(dim), 0);
  Vec z(dim);
  Eigen::Vector2d total = Eigen::Vector2d::Zero();
  while (true) {
    double wt = 1;
    for (int i = 0; i < dim; ++i) {
      z(i) = x(idx[size_t(i)]);
      wt *= w(idx[size_t(i)]);
    }
    total += wt * g(z);
    int i = 0;
    while (i < dim && ++idx[size_t(i)] == nodes) idx[size_t(i++)] = 0;
    if (i == dim) break;
  }
  return total;
}

TEST(FourierBaselines, MixturePosteriorMatchesNumericalIntegration) {
  // P(N'|data) ∝ Z_N' = ∫ p(y | c) N(c; 0, I/N') dc, E[f(q) | data] = Σ Z_N' E_N'[φ_q·c] / Σ Z_N',
  // both integrals by Gauss–Hermite quadrature over the coefficients (dimension 2N' <= 4). Noise
  // and few examples keep the likelihood wider than the rule's node spacing.
  const double sigma = 1.0;
  const Raw p = {{"N", "2"}, {"intercept", "false"}, {"noise_std", "1"}};
  const VectorPrompts pb = sample("fourier_series_mixture", p, 3, 4);
  const auto got = make_baseline("fourier_mixture_posterior", p)->predict(PromptBatch(pb));
  for (int64_t b = 0; b < pb.batch; ++b)
    for (int64_t k = 0; k < pb.n_examples; ++k) {
      double num = 0, den = 0;
      for (int np = 1; np <= 2; ++np) {
        Mat A(k, 2 * np);
        for (int64_t i = 0; i < k; ++i) A.row(i) = phi(pb, b, i, np, false).transpose();
        const Vec q = phi(pb, b, k, np, false);
        const Eigen::Vector2d r = integrate(2 * np, 24, [&](const Vec& z) {
          const Vec c = z / std::sqrt(double(np));
          double ll = 0;
          for (int64_t i = 0; i < k; ++i) {
            const double e = *pb.y(b, i) - A.row(i).dot(c);
            ll +=
                -0.5 * e * e / (sigma * sigma) - std::log(sigma * std::sqrt(2 * std::numbers::pi));
          }
          const double like = std::exp(ll);
          return Eigen::Vector2d(like, like * q.dot(c));
        });
        den += r(0);
        num += r(1);
      }
      const double want = num / den;
      EXPECT_NEAR(got[size_t(b * pb.n_examples + k)], want, 1e-4 * (1 + std::abs(want)))
          << "b=" << b << " k=" << k;
    }
}

TEST(FourierBaselines, NoiselessMixturePosteriorExactOnceEveryModelIsDetermined) {
  // Once k > 2N+1, every N' that fits the examples predicts f exactly and the others have vanishing
  // evidence. (At k = 2N+1 the largest model's square system can be ill-conditioned enough for the
  // jitter's shrinkage to show, so exactness is checked from 2N+3.)
  const VectorPrompts pb = sample("fourier_series_mixture", {{"N", "4"}}, 40, 14);
  const auto got =
      make_baseline("fourier_mixture_posterior", {{"N", "4"}})->predict(PromptBatch(pb));
  const auto ls = make_baseline("fourier_posterior", {{"N", "4"}})->predict(PromptBatch(pb));
  double mix_err = 0, ls_err = 0;
  for (int64_t b = 0; b < pb.batch; ++b)
    for (int64_t k = 0; k < 14; ++k) {
      const double e = std::abs(got[size_t(b * 14 + k)] - *pb.y(b, k));
      if (k >= 11) {
        EXPECT_LT(e, 1e-3) << "b=" << b << " k=" << k;
      }
      if (k >= 3 && k < 9) {
        mix_err += e * e;
        ls_err += std::pow(ls[size_t(b * 14 + k)] - *pb.y(b, k), 2);
      }
    }
  // Knowing that N' is random helps before the largest model is determined.
  EXPECT_LT(mix_err, ls_err);
}

TEST(MixturePosterior, MatchesNumericalIntegration) {
  // d = 2: w = (±centre + centre_std·z_0, w_std·z_1); posterior mean of q·w by quadrature over z
  // for each component, weighted by its prior probability times its evidence.
  const Raw task = {{"d", "2"},       {"centre", "1"},   {"centre_std", "0.5"},
                    {"w_std", "0.8"}, {"mixing", "0.3"}, {"noise_std", "0.5"}};
  Raw base = task;
  base.erase("d");
  const VectorPrompts pb = sample("gaussian_mixture_regression", task, 5, 6);
  const auto got = make_baseline("gmm_posterior", base)->predict(PromptBatch(pb));
  for (int64_t b = 0; b < pb.batch; ++b)
    for (int64_t k = 0; k < pb.n_examples; ++k) {
      double num = 0, den = 0;
      for (const double s : {1.0, -1.0}) {
        const auto w_of = [&](const Vec& z) {
          return Vec((Vec(2) << s + 0.5 * z(0), 0.8 * z(1)).finished());
        };
        const auto like = [&](const Vec& z) {
          const Vec w = w_of(z);
          double ll = 0;
          for (int64_t i = 0; i < k; ++i) {
            const double r = *pb.y(b, i) - w(0) * pb.x(b, i)[0] - w(1) * pb.x(b, i)[1];
            ll += -0.5 * r * r / 0.25;
          }
          return std::exp(ll);
        };
        const double prior = s > 0 ? 0.3 : 0.7;
        const Vec q = (Vec(2) << pb.x(b, k)[0], pb.x(b, k)[1]).finished();
        const Eigen::Vector2d r = integrate(2, 60, [&](const Vec& z) {
          return Eigen::Vector2d(like(z), like(z) * q.dot(w_of(z)));
        });
        den += prior * r(0);
        num += prior * r(1);
      }
      const double want = num / den;
      EXPECT_NEAR(got[size_t(b * pb.n_examples + k)], want, 1e-4 * (1 + std::abs(want)))
          << "b=" << b << " k=" << k;
    }
}

TEST(MixturePosterior, NoiselessExactOnceTheComponentIsIdentified) {
  // Published setting (centre 3, w_1 exactly ±3): d examples rule out the wrong component, and the
  // right one then has d−1 unknowns; before that the posterior beats least squares.
  const int64_t d = 6, K = 10;
  const VectorPrompts pb = sample("gaussian_mixture_regression", {{"d", "6"}}, 50, K);
  const auto got = make_baseline("gmm_posterior", {})->predict(PromptBatch(pb));
  const auto ls = make_baseline("least_squares", {})->predict(PromptBatch(pb));
  double post_err = 0, ls_err = 0;
  for (int64_t b = 0; b < pb.batch; ++b)
    for (int64_t k = 0; k < K; ++k) {
      const double e = std::abs(got[size_t(b * K + k)] - *pb.y(b, k));
      if (k >= d) {
        EXPECT_LT(e, 1e-3 * (1 + std::abs(*pb.y(b, k)))) << "b=" << b << " k=" << k;
      }
      if (k >= 1 && k < d) {
        post_err += e * e;
        ls_err += std::pow(ls[size_t(b * K + k)] - *pb.y(b, k), 2);
      }
    }
  EXPECT_LT(post_err, 0.8 * ls_err);
}

// ------------------------------------------------------------------------------------------------
// Spectrum.

TEST(Spectrum, PureCosineSamplesPeakAtTheirFrequency) {
  const int64_t M = 64;
  std::vector<double> g(static_cast<size_t>(M));
  for (int64_t j = 0; j < M; ++j)
    g[size_t(j)] = 0.5 + 1.7 * std::cos(2 * std::numbers::pi * 5.0 * double(j) / M + 0.3);
  const auto s = amplitude_spectrum(g);
  ASSERT_EQ(s.size(), size_t(M / 2 + 1));
  EXPECT_NEAR(s[0], 0.5, 1e-12);
  EXPECT_NEAR(s[5], 1.7, 1e-12);
  for (size_t m = 1; m < s.size(); ++m)
    if (m != 5) {
      EXPECT_NEAR(s[m], 0.0, 1e-12) << m;
    }
}

// Predicts A cos(nπx/L) at every query, whatever the context.
class CosinePredictor final : public Predictor {
 public:
  CosinePredictor(int n, double a) : n_(n), a_(a) {}
  std::string label() const override { return "cos"; }
  std::string name() const override { return "cos"; }
  const char* kind() const override { return "baseline"; }
  const ParamSet& params() const override { return params_; }
  std::vector<float> predict(const PromptBatch& batch) const override {
    const VectorPrompts& pb = batch.as<VectorPrompts>("test predictor");
    std::vector<float> out(size_t(pb.batch * pb.n_examples));
    for (int64_t b = 0; b < pb.batch; ++b)
      for (int64_t k = 0; k < pb.n_examples; ++k)
        out[size_t(b * pb.n_examples + k)] =
            float(a_ * std::cos(n_ * std::numbers::pi * *pb.query_x(b, k) / 5.0));
    return out;
  }

 private:
  int n_;
  double a_;
  ParamSet params_;
};

TEST(Spectrum, PredictorSpectraPeakWhereTheyShould) {
  const auto task = make_task("fourier_series", {{"N", "3"}});
  const CosinePredictor cosine(7, 2.0);
  const auto post = make_baseline("fourier_posterior", {{"N", "3"}});
  SpectrumConfig cfg{100, 10, 12, -5.0, 5.0};
  const auto s = prediction_spectra(*task, {&cosine, post.get()}, {4, 4}, cfg, 256);
  ASSERT_EQ(s.size(), 2u);
  ASSERT_EQ(s[0].size(), 51u);
  for (size_t m = 0; m < 51; ++m) EXPECT_NEAR(s[0][m], m == 7 ? 2.0 : 0.0, 1e-5) << m;
  // With 10 >= 2N+1 noiseless examples the posterior is the task's function: frequencies <= 3 only.
  double low = 0;
  for (size_t m = 0; m <= 3; ++m) low += s[1][m];
  EXPECT_GT(low, 0.5);
  for (size_t m = 4; m < 51; ++m) EXPECT_LT(s[1][m], 1e-4) << m;
}

YAML::Node spectrum_config(const std::string& set,
                           const std::string& task = "{name: fourier_series, N: 2}") {
  return YAML::Load(
      "seed: 1\n"
      "task: " +
      task +
      "\n"
      "eval: {prompts: 16, examples: 8, bootstrap: 20, sets: {" +
      set +
      "}}\n"
      "baselines: [{name: fourier_posterior, N: 2}, {name: fourier_least_squares, N: 5}]\n");
}

TEST(Spectrum, ConfigKeyAndResultsFile) {
  const ResolvedRun cfg =
      resolve_run(spectrum_config("s: {spectrum: {points: 40, context: 5}}"), "t", "test");
  const SpectrumConfig& sp = cfg.evals.at(0).spectrum;
  EXPECT_EQ(sp.points, 40);
  EXPECT_EQ(sp.context, 5);
  EXPECT_EQ(sp.prompts, 16);  // min(100, set prompts)
  EXPECT_EQ(sp.lo, -5.0);     // ±L by default
  EXPECT_EQ(sp.hi, 5.0);

  const auto dir = std::filesystem::temp_directory_path() / "icl_fourier_spectrum_test";
  std::filesystem::create_directories(dir);
  const std::string out = (dir / "r.h5").string();
  AtomicH5Output file(out);
  RunOptions quiet;
  quiet.progress = false;
  const BenchmarkResult res = run_benchmark(cfg, file, quiet);
  const h5::Handle f = h5::open_file(out);
  const h5::Handle g = h5::open_group(f.id(), "eval/s");
  std::vector<int64_t> dims;
  EXPECT_EQ(h5::read<int64_t>(g.id(), "spectrum_frequency", &dims).back(), 20);
  EXPECT_EQ(dims, std::vector<int64_t>{21});
  EXPECT_EQ(h5::read_attr_int(g.id(), "spectrum_context"), 5);
  for (const auto& c : res.evals.at(0).curves) {
    const auto s = h5::read<double>(g.id(), c.label + "/spectrum", &dims);
    EXPECT_EQ(dims, std::vector<int64_t>{21});
    EXPECT_EQ(s, c.spectrum);
  }
  EXPECT_NE(h5::read_attr_string(f.id(), "config").find("spectrum"), std::string::npos);
  std::filesystem::remove_all(dir);

  // Without the key: no spectrum datasets.
  const ResolvedRun plain = resolve_run(spectrum_config("s: {}"), "t", "test");
  EXPECT_EQ(plain.evals.at(0).spectrum.points, 0);
}

TEST(Spectrum, BadConfigs) {
  const auto err = [](const std::string& set) {
    return error_of([&] { resolve_run(spectrum_config(set), "t", "test"); });
  };
  EXPECT_NE(err("s: {spectrum: {context: 8}}").find("context"), std::string::npos);
  EXPECT_NE(err("s: {spectrum: {points: 1}}").find("points"), std::string::npos);
  EXPECT_NE(err("s: {spectrum: {lo: 2, hi: 1}}").find("lo must be below hi"), std::string::npos);
  EXPECT_NE(err("s: {spectrum: {bins: 3}}").find("unknown key 'bins'"), std::string::npos);
  EXPECT_NE(err("s: {spectrum: {prompts: 17}}").find("prompts"), std::string::npos);
  // Multi-dimensional inputs, and a one-dimensional task without L to default the grid to.
  const auto linear = [](int d) {
    return error_of([&] {
      resolve_run(spectrum_config("s: {spectrum: {}}",
                                  fmt::format("{{name: linear_regression, d: {}}}", d)),
                  "t", "test");
    });
  };
  EXPECT_NE(linear(3).find("dx = 3"), std::string::npos) << linear(3);
  EXPECT_NE(linear(1).find("lo: required"), std::string::npos) << linear(1);
}

}  // namespace
}  // namespace icl

// Boolean function classes (Bhattamishra et al. 2024) and their learners: every label against an
// independent evaluation of the prompt's truth, the published literal and threshold distributions,
// label balance against closed forms or an independent simulation of the forcing scheme, label
// noise, teaching sequences (checked to identify the function by brute force over the class), and
// the learners against brute-force oracles on small n (elimination: most specific consistent
// conjunction; GF(2) elimination: the label every consistent parity agrees on), the perceptron's
// mistake bound, the null classifier, and 1-NN on the nearest-neighbour task.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "baselines/baseline.h"
#include "core/error.h"
#include "tasks/task.h"
#include "tests/prompts.h"

namespace icl {
namespace {

const RngKey kKey{2024, stream_id("boolean")};
using Raw = std::map<std::string, std::string>;
using Bits = std::vector<int>;

const std::vector<std::string> kTasks = {
    "conjunction", "disjunction",   "sparse_disjunction", "dnf3",
    "cnf3",        "majority",      "sparse_threshold",   "integer_halfspace",
    "parity",      "sparse_parity", "nearest_neighbour"};

VectorPrompts sample(const std::string& name, const Raw& p, int64_t B, int64_t K,
                     int64_t first = 0) {
  return test::take(make_task(name, p)->sample(kKey, first, B, K));
}
std::vector<float> predict(const std::string& baseline, const Raw& p, const VectorPrompts& pb) {
  return make_baseline(baseline, p)->predict(PromptBatch(pb));
}
Bits x_of(const VectorPrompts& pb, int64_t b, int64_t k) {
  Bits x(static_cast<size_t>(pb.dx));
  for (int64_t i = 0; i < pb.dx; ++i) x[size_t(i)] = pb.x(b, k)[i] > 0 ? 1 : -1;
  return x;
}
int y_of(const VectorPrompts& pb, int64_t b, int64_t k) { return *pb.y(b, k) >= 0 ? 1 : -1; }
Bits row_of(const VectorPrompts& pb, int64_t b, int64_t r, int64_t n) {
  Bits w(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    w[size_t(i)] = int(pb.truth[size_t(b * pb.truth_dim + r * n + i)]);
  return w;
}
// The accuracy metric's rule (eval/evaluate.h): sign(ŷ) == y, a prediction of 0 is wrong.
bool correct(float pred, int y) { return (pred > 0 && y > 0) || (pred < 0 && y < 0); }

bool conj(const Bits& w, const Bits& x) {
  for (size_t i = 0; i < w.size(); ++i)
    if (w[i] != 0 && x[i] != w[i]) return false;
  return true;
}
bool disj(const Bits& w, const Bits& x) {
  for (size_t i = 0; i < w.size(); ++i)
    if (w[i] != 0 && x[i] == w[i]) return true;
  return false;
}
int wdot(const Bits& w, const Bits& x) {
  int s = 0;
  for (size_t i = 0; i < w.size(); ++i) s += w[i] * x[i];
  return s;
}

// The label a class gives x, from the prompt's truth, written from the paper's definitions.
bool reference_label(const std::string& task, const VectorPrompts& pb, int64_t b, const Bits& x) {
  const int64_t n = pb.dx;
  const Bits w = row_of(pb, b, 0, n);
  if (task == "conjunction") return conj(w, x);
  if (task == "disjunction" || task == "sparse_disjunction") return disj(w, x);
  if (task == "dnf3" || task == "cnf3") {
    int holds = 0;
    for (int t = 0; t < 3; ++t) {
      const Bits r = row_of(pb, b, t, n);
      holds += task == "dnf3" ? conj(r, x) : disj(r, x);
    }
    return task == "dnf3" ? holds > 0 : holds == 3;
  }
  if (task == "majority" || task == "integer_halfspace") return wdot(w, x) > 0.5;
  if (task == "sparse_threshold") return wdot(w, x) > pb.truth[size_t(b * pb.truth_dim + n)];
  // parity: +1 iff an odd number of the coordinates in S are +1
  int ones = 0;
  for (int64_t i = 0; i < n; ++i) ones += w[size_t(i)] == 1 && x[size_t(i)] == 1;
  return ones % 2 == 1;
}

double positive_rate(const VectorPrompts& pb) {
  double pos = 0;
  for (float y : pb.ys) pos += y > 0;
  return pos / double(pb.ys.size());
}

TEST(BooleanTasks, ShapesLossMetricAndTruth) {
  for (const auto& name : kTasks) {
    const auto task = make_task(name, {{"n", "7"}});
    EXPECT_EQ(task->metric(), Metric::Accuracy) << name;
    const VectorPrompts pb = test::take(task->sample(kKey, 0, 5, 13));
    EXPECT_EQ(pb.loss, LossKind::Logistic) << name;
    EXPECT_EQ(pb.dx, 7);
    EXPECT_EQ(pb.dy, 1);
    EXPECT_FALSE(pb.has_queries());
    const int64_t want_truth = name == "dnf3" || name == "cnf3" ? 21
                               : name == "sparse_threshold"     ? 8
                               : name == "nearest_neighbour"    ? 0
                                                                : 7;
    EXPECT_EQ(pb.truth_dim, want_truth) << name;
    EXPECT_EQ(pb.truth.size(), size_t(5 * want_truth));
    for (float v : pb.xs) ASSERT_TRUE(v == 1.f || v == -1.f) << name;
    for (float v : pb.ys) ASSERT_TRUE(v == 1.f || v == -1.f) << name;
  }
}

TEST(BooleanTasks, LabelsAreTheFunctionOfTheTruth) {
  for (const auto& name : kTasks) {
    if (name == "nearest_neighbour") continue;
    for (const char* n : {"3", "12"}) {
      Raw p = {{"n", n}};
      if (name == "sparse_disjunction") p["literals"] = "3";
      const VectorPrompts pb = sample(name, p, 64, 40);
      for (int64_t b = 0; b < pb.batch; ++b)
        for (int64_t k = 0; k < pb.n_examples; ++k)
          ASSERT_EQ(y_of(pb, b, k) > 0, reference_label(name, pb, b, x_of(pb, b, k)))
              << name << " n=" << n << " prompt " << b << " example " << k;
    }
  }
}

TEST(BooleanTasks, PromptDependsOnlyOnItsIndexAndLongerPromptsExtend) {
  std::vector<std::pair<std::string, Raw>> cases;
  for (const auto& name : kTasks) cases.push_back({name, {{"n", "9"}, {"label_noise", "0.1"}}});
  cases.push_back({"conjunction", {{"n", "9"}, {"teaching", "true"}}});
  cases.push_back({"dnf3", {{"n", "9"}, {"teaching", "true"}, {"monotone", "true"}}});
  for (const auto& [name, p] : cases) {
    const VectorPrompts all = sample(name, p, 24, 15);
    for (int64_t i = 0; i < 24; i += 5) {
      const VectorPrompts one = sample(name, p, 1, 15, i);
      const VectorPrompts shorter = sample(name, p, 1, 6, i);
      for (int64_t k = 0; k < 15; ++k) {
        ASSERT_EQ(x_of(one, 0, k), x_of(all, i, k)) << name;
        ASSERT_EQ(*one.y(0, k), *all.y(i, k)) << name;
        if (k < 6) {
          ASSERT_EQ(x_of(shorter, 0, k), x_of(all, i, k)) << name;
          ASSERT_EQ(*shorter.y(0, k), *all.y(i, k)) << name;
        }
      }
    }
  }
}

// Frequencies of the truth entries over many prompts.
std::map<int, double> weight_frequencies(const std::string& name, const Raw& p, int64_t rows) {
  const VectorPrompts pb = sample(name, p, 4000, 1);
  const int64_t n = pb.dx;
  std::map<int, double> f;
  for (int64_t b = 0; b < pb.batch; ++b)
    for (int64_t i = 0; i < rows * n; ++i) f[int(pb.truth[size_t(b * pb.truth_dim + i)])] += 1;
  for (auto& [v, c] : f) c /= double(pb.batch * rows * n);
  return f;
}

TEST(BooleanTasks, PublishedLiteralAndWeightDistributions) {
  // 4000 prompts × 28 coordinates: standard errors below 0.003.
  auto f = weight_frequencies("conjunction", {}, 1);
  EXPECT_NEAR(f[0], 0.70, 0.01);
  EXPECT_NEAR(f[1], 0.15, 0.01);
  EXPECT_NEAR(f[-1], 0.15, 0.01);
  f = weight_frequencies("disjunction", {}, 1);
  EXPECT_NEAR(f[1], 0.15, 0.01);
  EXPECT_NEAR(f[-1], 0.15, 0.01);
  f = weight_frequencies("conjunction", {{"monotone", "true"}}, 1);
  EXPECT_NEAR(f[1], 0.30, 0.01);
  EXPECT_EQ(f.count(-1), 0u);
  f = weight_frequencies("dnf3", {}, 3);
  EXPECT_NEAR(f[0], 0.80, 0.01);
  EXPECT_NEAR(f[1], 0.10, 0.01);
  EXPECT_NEAR(f[-1], 0.10, 0.01);
  f = weight_frequencies("dnf3", {{"monotone", "true"}}, 3);
  EXPECT_NEAR(f[1], 0.20, 0.01);
  EXPECT_EQ(f.count(-1), 0u);
  f = weight_frequencies("cnf3", {}, 3);
  EXPECT_NEAR(f[1], 0.10, 0.01);
  EXPECT_NEAR(f[-1], 0.10, 0.01);
  f = weight_frequencies("majority", {}, 1);
  EXPECT_NEAR(f[1], 0.30, 0.01);
  EXPECT_EQ(f.size(), 2u);
  f = weight_frequencies("sparse_threshold", {}, 1);
  EXPECT_NEAR(f[1], 0.15, 0.01);
  EXPECT_NEAR(f[-1], 0.15, 0.01);
  f = weight_frequencies("integer_halfspace", {}, 1);
  EXPECT_EQ(f.size(), 7u);
  for (int v = -3; v <= 3; ++v) EXPECT_NEAR(f[v], 1.0 / 7.0, 0.01) << v;
  f = weight_frequencies("parity", {{"n", "28"}}, 1);
  EXPECT_NEAR(f[1], 0.5, 0.01);

  // Thresholds b of sparse_threshold: uniform on {−3, …, 2} + .5.
  const VectorPrompts st = sample("sparse_threshold", {{"n", "5"}}, 6000, 1);
  std::map<double, double> thr;
  for (int64_t b = 0; b < st.batch; ++b) thr[st.truth[size_t(b * 6 + 5)]] += 1.0 / 6000.0;
  EXPECT_EQ(thr.size(), 6u);
  for (double v = -2.5; v < 3; v += 1) EXPECT_NEAR(thr[v], 1.0 / 6.0, 0.02) << v;

  // Sparse classes use exactly k coordinates, each equally often.
  for (const auto& [name, key, k] :
       {std::tuple{"sparse_parity", "k", 3}, std::tuple{"sparse_parity", "k", 2},
        std::tuple{"sparse_disjunction", "literals", 4}}) {
    const VectorPrompts pb = sample(name, {{"n", "12"}, {key, std::to_string(k)}}, 6000, 1);
    std::vector<double> used(12, 0.0);
    for (int64_t b = 0; b < pb.batch; ++b) {
      int count = 0;
      for (int64_t i = 0; i < 12; ++i) {
        const float v = pb.truth[size_t(b * 12 + i)];
        ASSERT_TRUE(v == 0.f || v == 1.f);
        count += v == 1.f;
        used[size_t(i)] += v / 6000.0;
      }
      ASSERT_EQ(count, k) << name;
    }
    for (double u : used) EXPECT_NEAR(u, k / 12.0, 0.025) << name;
  }
}

// P(label = +1) over 20000 prompts × 10 examples; per-prompt means lie in [0, 1], so the standard
// error is below 0.5/√20000 = 0.0035.
double rate(const std::string& name, const Raw& p) {
  return positive_rate(sample(name, p, 20000, 10));
}

TEST(BooleanTasks, LabelBalanceFollowsTheForcingScheme) {
  // Conjunction: a random x satisfies a literal w.p. 1/2, so P(all hold) = E[2^−L] = 0.85^n with
  // L ~ Bin(n, .3) literals; forcing adds the rest: P(+1) = f + (1 − f)·0.85^n.
  for (double f : {0.3, 0.0, 0.4})
    EXPECT_NEAR(rate("conjunction", {{"force_prob", std::to_string(f)}}),
                f + (1 - f) * std::pow(0.85, 28), 0.015)
        << f;
  EXPECT_NEAR(rate("conjunction", {{"n", "6"}, {"monotone", "true"}}),
              0.3 + 0.7 * std::pow(0.85, 6), 0.015);
  // Disjunction: the complement; sparse disjunction: exactly 4 literals, all false w.p. 1/16.
  EXPECT_NEAR(1 - rate("disjunction", {}), 0.3 + 0.7 * std::pow(0.85, 28), 0.015);
  EXPECT_NEAR(1 - rate("sparse_disjunction", {}), 0.3 + 0.7 / 16, 0.015);
  // Majority: y = +1 iff more of the L ~ Bin(n, .3) chosen bits are +1 than −1.
  for (int n : {5, 28}) {
    double want = 0;
    for (int L = 0; L <= n; ++L) {
      const double pl =
          std::exp(std::lgamma(n + 1.0) - std::lgamma(L + 1.0) - std::lgamma(n - L + 1.0) +
                   L * std::log(0.3) + (n - L) * std::log(0.7));
      double up = 0;
      for (int j = L / 2 + 1; j <= L; ++j)
        up += std::exp(std::lgamma(L + 1.0) - std::lgamma(j + 1.0) - std::lgamma(L - j + 1.0) -
                       L * std::log(2.0));
      want += pl * up;
    }
    EXPECT_NEAR(rate("majority", {{"n", std::to_string(n)}}), want, 0.015) << n;
  }
  // Parity: balanced unless S = ∅ (probability 2^−n, label −1); i.i.d. given S, so tighter.
  EXPECT_NEAR(rate("parity", {}), 0.5 * (1 - std::pow(0.5, 10)), 0.006);
  EXPECT_NEAR(rate("sparse_parity", {{"n", "28"}}), 0.5, 0.006);
  // Integer halfspaces with threshold .5: w·x and −w·x are equally likely, and the label is +1
  // iff w·x >= 1, so P(+1) = (1 − P(w·x = 0))/2 < 1/2.
  EXPECT_LT(rate("integer_halfspace", {}), 0.5);
  EXPECT_GT(rate("integer_halfspace", {}), 0.45);
}

// dnf3 / cnf3 balance against an independent simulation of the published sampler (its own RNG):
// literals w.p. .8/.1/.1, one term per prompt forced (true for DNF, false for CNF).
double simulate_normal_form(bool dnf, int n, double force, int prompts) {
  std::mt19937_64 gen(12345);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  double pos = 0;
  for (int p = 0; p < prompts; ++p) {
    std::vector<Bits> w(3, Bits(size_t(n)));
    for (auto& r : w)
      for (auto& v : r) {
        const double a = u(gen);
        v = a < 0.8 ? 0 : a < 0.9 ? 1 : -1;
      }
    const int chosen = int(u(gen) * 3);
    for (int k = 0; k < 10; ++k) {
      Bits x(static_cast<size_t>(n));
      for (auto& v : x) v = u(gen) < 0.5 ? 1 : -1;
      if (u(gen) < force)
        for (int i = 0; i < n; ++i)
          if (w[size_t(chosen)][size_t(i)])
            x[size_t(i)] = (dnf ? 1 : -1) * w[size_t(chosen)][size_t(i)];
      int holds = 0;
      for (const auto& r : w) holds += dnf ? conj(r, x) : disj(r, x);
      pos += dnf ? holds > 0 : holds == 3;
    }
  }
  return pos / (10.0 * prompts);
}

TEST(BooleanTasks, NormalFormBalanceMatchesAnIndependentSimulation) {
  EXPECT_NEAR(rate("dnf3", {}), simulate_normal_form(true, 28, 0.35, 40000), 0.02);
  EXPECT_NEAR(rate("cnf3", {}), simulate_normal_form(false, 28, 0.3, 40000), 0.02);
  EXPECT_NEAR(rate("dnf3", {{"n", "8"}, {"force_prob", "0"}}),
              simulate_normal_form(true, 8, 0.0, 40000), 0.02);
  // The forcing is what balances them: without it 3-DNF over 28 bits is almost always false.
  EXPECT_LT(rate("dnf3", {{"force_prob", "0"}}), 0.2);
  EXPECT_GT(rate("dnf3", {}), 0.3);
}

TEST(BooleanTasks, LabelNoiseFlipsTheStatedFraction) {
  const VectorPrompts clean = sample("conjunction", {{"n", "10"}}, 2000, 40);
  for (double p : {0.0, 0.2, 1.0}) {
    const VectorPrompts noisy =
        sample("conjunction", {{"n", "10"}, {"label_noise", std::to_string(p)}}, 2000, 40);
    EXPECT_EQ(noisy.xs, clean.xs);
    EXPECT_EQ(noisy.truth, clean.truth);
    double flipped = 0;
    for (size_t i = 0; i < clean.ys.size(); ++i) flipped += noisy.ys[i] != clean.ys[i];
    // 80000 independent coins: standard error <= 0.0018.
    EXPECT_NEAR(flipped / double(clean.ys.size()), p, 0.008) << p;
  }
}

TEST(BooleanTasks, NearestNeighbourLabelsCopyTheNearestEarlierInput) {
  for (const char* n : {"4", "28"}) {
    const VectorPrompts pb =
        sample("nearest_neighbour", {{"n", n}, {"random_prefix", "10"}}, 300, 40);
    double prefix_pos = 0;
    for (int64_t b = 0; b < pb.batch; ++b)
      for (int64_t k = 0; k < pb.n_examples; ++k) {
        const Bits x = x_of(pb, b, k);
        int64_t best = -1, best_d = 1 << 30;
        for (int64_t j = 0; j < k; ++j) {
          const Bits e = x_of(pb, b, j);
          int64_t d = 0;
          for (size_t i = 0; i < x.size(); ++i) d += e[i] != x[i];
          if (d < best_d) best = j, best_d = d;
        }
        if (k >= 10) {
          ASSERT_EQ(y_of(pb, b, k), y_of(pb, b, best)) << b << " " << k;
        } else if (best >= 0 && best_d == 0) {
          ASSERT_EQ(y_of(pb, b, k), y_of(pb, b, best)) << "repeat in the random prefix";
        } else {
          prefix_pos += y_of(pb, b, k) > 0;
        }
      }
    if (std::string(n) == "28") {
      EXPECT_NEAR(prefix_pos / 3000.0, 0.5, 0.035);
    }
  }
  // 1-NN (earliest on ties) is exact after the random prefix.
  const VectorPrompts pb = sample("nearest_neighbour", {{"n", "6"}}, 200, 40);
  const auto pred = predict("knn", {{"k", "1"}}, pb);
  for (int64_t b = 0; b < pb.batch; ++b)
    for (int64_t k = 20; k < 40; ++k)
      ASSERT_TRUE(correct(pred[size_t(b * 40 + k)], y_of(pb, b, k)));
}

TEST(BooleanTasks, OnlyTheNearestNeighbourRandomPrefixIsUnscored) {
  for (const int64_t K : {40, 7}) {
    const VectorPrompts pb =
        sample("nearest_neighbour", {{"n", "6"}, {"random_prefix", "10"}}, 3, K);
    ASSERT_EQ(pb.loss_mask.size(), size_t(3 * K));
    for (int64_t b = 0; b < 3; ++b)
      for (int64_t k = 0; k < K; ++k) EXPECT_EQ(pb.loss_mask[size_t(b * K + k)], k >= 10) << k;
  }
  EXPECT_TRUE(sample("conjunction", {{"n", "6"}}, 3, 9).loss_mask.empty());
}

// --- teaching sequences -------------------------------------------------------------------

// All w ∈ {0, ±1}^n (monotone: {0, 1}^n).
std::vector<Bits> all_literal_sets(int n, bool monotone) {
  std::vector<Bits> out{Bits(size_t(n), 0)};
  for (int i = 0; i < n; ++i) {
    std::vector<Bits> next;
    for (const auto& w : out)
      for (int v : monotone ? std::vector<int>{0, 1} : std::vector<int>{0, 1, -1}) {
        Bits c = w;
        c[size_t(i)] = v;
        next.push_back(c);
      }
    out = next;
  }
  return out;
}
std::vector<Bits> all_points(int n) {
  std::vector<Bits> out;
  for (int m = 0; m < (1 << n); ++m) {
    Bits x(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) x[size_t(i)] = (m >> i) & 1 ? 1 : -1;
    out.push_back(x);
  }
  return out;
}

TEST(BooleanTeaching, ConjunctionSequenceIsThePapersAndIdentifiesTheFunction) {
  for (bool monotone : {false, true}) {
    const Raw p = {{"n", "4"}, {"teaching", "true"}, {"monotone", monotone ? "true" : "false"}};
    const VectorPrompts pb = sample("conjunction", p, 200, 12);
    const auto cands = all_literal_sets(4, monotone);
    for (int64_t b = 0; b < pb.batch; ++b) {
      const Bits w = row_of(pb, b, 0, 4);
      int L = 0;
      for (int v : w) L += v != 0;
      const int64_t len = L + (monotone ? 1 : 2);
      // First point: the literals hold, every other coordinate −1 (the second: +1).
      for (int i = 0; i < 4; ++i) {
        ASSERT_EQ(x_of(pb, b, 0)[size_t(i)], w[size_t(i)] ? w[size_t(i)] : -1);
        if (!monotone) {
          ASSERT_EQ(x_of(pb, b, 1)[size_t(i)], w[size_t(i)] ? w[size_t(i)] : 1);
        }
      }
      // Exactly one conjunction of the class agrees with the prefix, and it is the target.
      int consistent = 0;
      for (const auto& c : cands) {
        bool ok = true;
        for (int64_t k = 0; k < len && ok; ++k)
          ok = conj(c, x_of(pb, b, k)) == (y_of(pb, b, k) > 0);
        if (ok) {
          ++consistent;
          EXPECT_EQ(c, w);
        }
      }
      ASSERT_EQ(consistent, 1) << "prompt " << b;
    }
  }
}

TEST(BooleanTeaching, EliminationIsExactAfterTheTeachingPrefix) {
  for (bool monotone : {false, true}) {
    const std::string m = monotone ? "true" : "false";
    const VectorPrompts pb =
        sample("conjunction", {{"teaching", "true"}, {"monotone", m}}, 300, 40);
    const auto pred = predict("elimination", {{"monotone", m}}, pb);
    // Its positive points pin the hypothesis to the target: one for monotone, two otherwise.
    for (int64_t b = 0; b < pb.batch; ++b)
      for (int64_t k = monotone ? 1 : 2; k < 40; ++k)
        ASSERT_TRUE(correct(pred[size_t(b * 40 + k)], y_of(pb, b, k))) << b << " " << k;
  }
}

// The paper's DNF teaching sequence identifies a 3-term monotone DNF among all 3-term monotone
// DNFs when its terms are distinct and none contains another (then each term's positive point
// with one literal removed is negative); brute force over all of them for n = 4.
TEST(BooleanTeaching, DnfSequenceIdentifiesAntichainDnfs) {
  const int n = 4;
  const VectorPrompts pb =
      sample("dnf3", {{"n", "4"}, {"teaching", "true"}, {"monotone", "true"}}, 1500, 20);
  const auto terms = all_literal_sets(n, true);
  const auto points = all_points(n);
  auto subset = [](const Bits& a, const Bits& b) {  // a ⊆ b
    for (size_t i = 0; i < a.size(); ++i)
      if (a[i] && !b[i]) return false;
    return true;
  };
  int checked = 0;
  for (int64_t b = 0; b < pb.batch && checked < 25; ++b) {
    std::vector<Bits> t = {row_of(pb, b, 0, n), row_of(pb, b, 1, n), row_of(pb, b, 2, n)};
    bool antichain = true;
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j)
        if (i != j && subset(t[size_t(i)], t[size_t(j)])) antichain = false;
    if (!antichain) continue;
    ++checked;
    int64_t len = 0;
    for (const auto& r : t) {
      len += 1;
      for (int v : r) len += v;
    }
    auto dnf = [](const Bits& a, const Bits& b2, const Bits& c, const Bits& x) {
      return conj(a, x) || conj(b2, x) || conj(c, x);
    };
    for (const auto& a : terms)
      for (const auto& b2 : terms)
        for (const auto& c : terms) {
          bool ok = true;
          for (int64_t k = 0; k < len && ok; ++k)
            ok = dnf(a, b2, c, x_of(pb, b, k)) == (y_of(pb, b, k) > 0);
          if (!ok) continue;
          for (const auto& x : points)
            ASSERT_EQ(dnf(a, b2, c, x), dnf(t[0], t[1], t[2], x)) << "prompt " << b;
        }
  }
  EXPECT_EQ(checked, 25);
}

// --- learners -----------------------------------------------------------------------------

// Elimination against brute force over every conjunction (disjunction) on n = 4: the most specific
// consistent conjunction says +1 exactly where every conjunction true on all positives so far is
// true; the dual learner says −1 exactly where every disjunction false on all negatives is false.
TEST(BooleanLearners, EliminationMatchesBruteForceOverTheClass) {
  for (const std::string target : {"conjunction", "disjunction"})
    for (bool monotone : {false, true}) {
      const std::string m = monotone ? "true" : "false";
      const VectorPrompts pb = sample(target, {{"n", "4"}, {"monotone", m}}, 150, 16);
      const auto pred = predict("elimination", {{"target", target}, {"monotone", m}}, pb);
      const auto cands = all_literal_sets(4, monotone);
      const bool is_conj = target == "conjunction";
      for (int64_t b = 0; b < pb.batch; ++b)
        for (int64_t k = 0; k < 16; ++k) {
          const Bits q = x_of(pb, b, k);
          bool all = true;
          for (const auto& c : cands) {
            bool fits = true;
            for (int64_t j = 0; j < k && fits; ++j) {
              const int y = y_of(pb, b, j);
              if (is_conj && y > 0) fits = conj(c, x_of(pb, b, j));
              if (!is_conj && y < 0) fits = !disj(c, x_of(pb, b, j));
            }
            if (fits && (is_conj ? !conj(c, q) : disj(c, q))) all = false;
          }
          const float want = is_conj ? (all ? 1.f : -1.f) : (all ? -1.f : 1.f);
          ASSERT_EQ(pred[size_t(b * 16 + k)], want) << target << " " << m << " " << b << " " << k;
        }
    }
}

// After seeing a prompt once, the learner must reproduce every label of it: the prompt is followed
// by a copy of itself and the predictions on the copy are checked.
VectorPrompts doubled(const VectorPrompts& pb, int64_t m) {
  VectorPrompts d;
  d.allocate(pb.batch, 2 * m, pb.dx, 1, false);
  for (int64_t b = 0; b < pb.batch; ++b)
    for (int64_t k = 0; k < 2 * m; ++k) {
      std::copy_n(pb.x(b, k % m), pb.dx, d.xs.data() + (b * 2 * m + k) * pb.dx);
      d.ys[size_t(b * 2 * m + k)] = *pb.y(b, k % m);
    }
  return d;
}

TEST(BooleanLearners, EliminationIsConsistentWithEveryExampleSeen) {
  for (const std::string target : {"conjunction", "disjunction"}) {
    const VectorPrompts pb = sample(target, {}, 200, 40);
    for (int64_t m : {1, 3, 10, 40}) {
      const VectorPrompts d = doubled(pb, m);
      const auto pred = predict("elimination", {{"target", target}}, d);
      for (int64_t b = 0; b < d.batch; ++b)
        for (int64_t k = m; k < 2 * m; ++k)
          ASSERT_TRUE(correct(pred[size_t(b * 2 * m + k)], y_of(d, b, k))) << target << " " << m;
    }
  }
}

// GF(2) elimination against brute force over all 2^6 subsets: the prediction is the label every
// parity consistent with the examples so far gives the query, or 0 when they disagree.
TEST(BooleanLearners, Gf2EliminationMatchesBruteForceOverAllParities) {
  for (const std::string task : {"parity", "sparse_parity"}) {
    const VectorPrompts pb = sample(task, {{"n", "6"}}, 300, 16);
    const auto pred = predict("gf2_elimination", {}, pb);
    int undetermined = 0;
    for (int64_t b = 0; b < pb.batch; ++b)
      for (int64_t k = 0; k < 16; ++k) {
        int votes_pos = 0, votes_neg = 0;
        for (int s = 0; s < 64; ++s) {
          auto par = [&](const Bits& x) {
            int ones = 0;
            for (int i = 0; i < 6; ++i) ones += ((s >> i) & 1) && x[size_t(i)] > 0;
            return ones % 2 == 1;
          };
          bool fits = true;
          for (int64_t j = 0; j < k && fits; ++j)
            fits = par(x_of(pb, b, j)) == (y_of(pb, b, j) > 0);
          if (fits) (par(x_of(pb, b, k)) ? votes_pos : votes_neg) += 1;
        }
        ASSERT_GT(votes_pos + votes_neg, 0);
        const float want = votes_neg == 0 ? 1.f : votes_pos == 0 ? -1.f : 0.f;
        undetermined += want == 0.f;
        ASSERT_EQ(pred[size_t(b * 16 + k)], want) << task << " " << b << " " << k;
      }
    EXPECT_GT(undetermined, 300);  // both branches are exercised
  }
  // n = 10: 39 random examples span GF(2)^10 except with probability < 2^−28, so the last query
  // is always answered exactly.
  const VectorPrompts pb = sample("parity", {}, 500, 40);
  const auto pred = predict("gf2_elimination", {}, pb);
  for (int64_t b = 0; b < pb.batch; ++b)
    ASSERT_TRUE(correct(pred[size_t(b * 40 + 39)], y_of(pb, b, 39)));
}

// Novikoff: from w = 0 the perceptron makes at most (R/γ)² mistakes on data separable with margin
// γ. Each prompt cycles through all of {±1}^6 labelled by a majority or integer halfspace; once a
// pass is mistake-free the weights stop changing, so after (bound + 2) passes the last is clean.
TEST(BooleanLearners, PerceptronRespectsTheMistakeBound) {
  const int n = 6;
  const auto points = all_points(n);
  for (const std::string task : {"majority", "integer_halfspace"}) {
    const VectorPrompts src = sample(task, {{"n", "6"}}, 12, 1);
    for (int64_t b = 0; b < src.batch; ++b) {
      const Bits w = row_of(src, b, 0, n);
      double wn = 0.25;  // ‖(w, −.5)‖²
      for (int v : w) wn += v * v;
      double margin = 1e9;
      for (const auto& x : points) margin = std::min(margin, std::abs(wdot(w, x) - 0.5));
      const double bound = (n + 1) * wn / (margin * margin);  // R² = n + 1 with the bias input
      const int64_t passes = std::min<int64_t>(int64_t(bound) + 2, 600);
      const int64_t K = passes * int64_t(points.size());
      VectorPrompts pb;
      pb.allocate(1, K, n, 1, false);
      for (int64_t k = 0; k < K; ++k) {
        const Bits& x = points[size_t(k % int64_t(points.size()))];
        for (int i = 0; i < n; ++i) pb.xs[size_t(k * n + i)] = float(x[size_t(i)]);
        pb.ys[size_t(k)] = wdot(w, x) > 0.5 ? 1.f : -1.f;
      }
      const auto pred = predict("perceptron", {}, pb);
      int64_t mistakes = 0, last_pass = 0;
      for (int64_t k = 0; k < K; ++k) {
        const bool wrong = pred[size_t(k)] * pb.ys[size_t(k)] <= 0;
        mistakes += wrong;
        if (k >= K - int64_t(points.size())) last_pass += wrong;
      }
      EXPECT_LE(double(mistakes), bound) << task << " " << b;
      if (passes == int64_t(bound) + 2) {
        EXPECT_EQ(last_pass, 0) << task << " " << b;
      }
    }
  }
}

TEST(BooleanLearners, PerceptronMatchesTheTextbookLoop) {
  const VectorPrompts pb = sample("integer_halfspace", {{"n", "12"}}, 50, 40);
  for (bool bias : {true, false}) {
    const auto pred = predict("perceptron", {{"bias", bias ? "true" : "false"}}, pb);
    for (int64_t b = 0; b < pb.batch; ++b) {
      std::vector<double> w(13, 0.0);  // w[12]: threshold weight on a constant input
      for (int64_t k = 0; k < 40; ++k) {
        const Bits x = x_of(pb, b, k);
        double score = bias ? w[12] : 0.0;
        for (int i = 0; i < 12; ++i) score += w[size_t(i)] * x[size_t(i)];
        ASSERT_NEAR(pred[size_t(b * 40 + k)], score, 1e-4);
        const int y = y_of(pb, b, k);
        if (y * score <= 0) {
          for (int i = 0; i < 12; ++i) w[size_t(i)] += y * x[size_t(i)];
          w[12] += y;
        }
      }
    }
  }
}

TEST(BooleanLearners, NullClassifierAlwaysSaysMinusOne) {
  const VectorPrompts pb = sample("conjunction", {{"n", "5"}}, 40, 30);
  for (float p : predict("null_classifier", {}, pb)) ASSERT_EQ(p, -1.f);
}

TEST(BooleanLearners, RunningMajorityPredictsTheMajorityLabelSoFar) {
  const VectorPrompts pb = sample("conjunction", {{"n", "5"}}, 40, 30);
  const auto pred = predict("running_majority", {}, pb);
  for (int64_t b = 0; b < pb.batch; ++b) {
    int pos = 0, neg = 0;
    for (int64_t k = 0; k < 30; ++k) {
      ASSERT_EQ(pred[size_t(b * 30 + k)], pos > neg ? 1.f : pos < neg ? -1.f : 0.f);
      (y_of(pb, b, k) > 0 ? pos : neg) += 1;
    }
  }
}

// knn and averaging read Boolean prompts like any vector prompts; on majority (a halfspace through
// nearly the origin) averaging's ŵ = mean(y x) points towards w and beats the null classifier.
TEST(BooleanLearners, GenericBaselinesRunOnBooleanPrompts) {
  const VectorPrompts pb = sample("majority", {}, 1000, 40);
  auto accuracy_at = [&](const std::vector<float>& pred, int64_t k) {
    double c = 0;
    for (int64_t b = 0; b < pb.batch; ++b) c += correct(pred[size_t(b * 40 + k)], y_of(pb, b, k));
    return c / double(pb.batch);
  };
  const double null_acc = accuracy_at(predict("null_classifier", {}, pb), 39);
  const double avg_acc = accuracy_at(predict("averaging", {}, pb), 39);
  const double knn1 = accuracy_at(predict("knn", {{"k", "1"}}, pb), 39);
  const double knn3 = accuracy_at(predict("knn", {{"k", "3"}}, pb), 39);
  EXPECT_GT(avg_acc, null_acc + 0.1);
  for (double a : {knn1, knn3}) {
    EXPECT_GT(a, 0.5);
    EXPECT_LT(a, avg_acc);
  }
}

TEST(BooleanTasks, BadParametersAreOneLineErrors) {
  auto message = [](const std::string& name, const Raw& p) -> std::string {
    try {
      make_task(name, p);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(message("sparse_parity", {{"n", "5"}, {"k", "6"}}).find("sparse_parity.k"),
            std::string::npos);
  EXPECT_NE(message("sparse_disjunction", {{"n", "3"}}).find("literals"), std::string::npos);
  EXPECT_NE(message("conjunction", {{"label_noise", "1.5"}}).find("label_noise"),
            std::string::npos);
  EXPECT_NE(message("conjunction", {{"label_noise", "-0.1"}}).find("label_noise"),
            std::string::npos);
  EXPECT_NE(message("dnf3", {{"force_prob", "2"}}).find("force_prob"), std::string::npos);
  EXPECT_NE(message("dnf3", {{"teaching", "true"}}).find("monotone"), std::string::npos);
  EXPECT_NE(message("parity", {{"n", "0"}}).find("n"), std::string::npos);
  EXPECT_NE(message("nearest_neighbour", {{"random_prefix", "0"}}).find("random_prefix"),
            std::string::npos);
  EXPECT_NE(message("cnf3", {{"teaching", "true"}}).find("teaching"), std::string::npos);
  for (const auto& name : kTasks) {
    const std::string m = message(name, {{"label_noise", "2"}});
    EXPECT_EQ(m.find('\n'), std::string::npos);
    EXPECT_FALSE(m.empty()) << name;
  }
  try {
    make_baseline("elimination", {{"target", "parity"}});
    ADD_FAILURE() << "elimination.target: parity accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("target"), std::string::npos);
  }
}

}  // namespace
}  // namespace icl

// Linear bandits (docs/TASKS.md §7): environments against their published definitions, the regret
// bookkeeping against a brute-force recomputation, rollouts independent of batch size and
// reproducible, LinUCB/Thompson sampling sublinear (and random linear, so the check can fail),
// LinUCB's estimate converging to θ, greedy ridge exact after d independent noiseless pulls.
#include <gtest/gtest.h>

#include <cmath>

#include "baselines/bandit_policy.h"
#include "baselines/linucb.h"
#include "core/error.h"
#include "eval/bandit_rollout.h"
#include "tests/errors.h"

namespace icl {
namespace {

using Raw = std::map<std::string, std::string>;
const RngKey kKey{7, stream_id("bandit-test")};

TEST(BanditEnv, PublishedSetups) {
  const BanditSetup lin = make_bandit_setup({});
  EXPECT_EQ(lin.arms, 10);
  EXPECT_EQ(lin.dim, 5);
  EXPECT_EQ(lin.horizon, 200);
  EXPECT_EQ(lin.noise, 1.5);
  const BanditSetup dpt = make_bandit_setup({{"setup", "dpt"}});
  EXPECT_EQ(dpt.dim, 2);
  EXPECT_EQ(dpt.noise, 0.3);
  EXPECT_EQ(make_bandit_setup({{"setup", "dpt"}, {"dim", "3"}}).dim, 3);  // explicit value wins

  double theta2 = 0;
  const BanditEnv d0 = make_bandit_env(dpt, kKey, 0);
  for (int i = 0; i < 400; ++i) {
    const BanditEnv e = make_bandit_env(dpt, kKey, i);
    EXPECT_EQ(e.arms, d0.arms) << "DPT's arm features are fixed across environments";
    theta2 += e.theta.squaredNorm();
  }
  EXPECT_NEAR(theta2 / 400 / 2, 0.5, 0.06);  // θ ~ N(0, I/2)
  EXPECT_NE(make_bandit_env(dpt, kKey, 1).theta, d0.theta);
  // Training and evaluation streams of one seed share the arms (a pretrained model acts on them);
  // another seed draws others.
  EXPECT_EQ(make_bandit_env(dpt, kKey.sub("train"), 3).arms, d0.arms);
  EXPECT_NE(make_bandit_env(dpt, RngKey{kKey.seed + 1, kKey.stream}, 0).arms, d0.arms);

  for (int i = 0; i < 50; ++i) {
    const BanditEnv e = make_bandit_env(lin, kKey, i);
    EXPECT_LE(e.arms.cwiseAbs().maxCoeff(), 1.0);
    EXPECT_GE(e.theta.minCoeff(), 0.0);
    EXPECT_LE(e.theta.maxCoeff(), 1.0);
    int best = 0;
    for (int a = 0; a < 10; ++a) {
      EXPECT_NEAR(e.means(a), e.arms.row(a).dot(e.theta), 1e-12);
      if (e.arms.row(a).dot(e.theta) > e.arms.row(best).dot(e.theta)) best = a;
    }
    EXPECT_EQ(e.best, best);
  }
  EXPECT_NE(make_bandit_env(lin, kKey, 0).arms, make_bandit_env(lin, kKey, 1).arms);
  EXPECT_EQ(make_bandit_env(lin, kKey, 3).arms, make_bandit_env(lin, kKey, 3).arms);
}

// Through the batched interface (as a model acts) when batch > 0, else per environment.
RegretCurve run(const std::string& policy, const Raw& setup_raw, int64_t envs, int64_t batch,
                Trajectories* rec = nullptr, const Raw& policy_raw = {}) {
  const BanditSetup s = make_bandit_setup(setup_raw);
  const BanditPolicySpec spec = make_bandit_policy(policy, policy_raw);
  if (batch == 0) return rollout(s, kKey, spec, {envs, 1}, rec);
  const auto p = algorithm_policy(spec, kKey);
  return rollout(s, kKey, *p, {envs, batch}, rec);
}

TEST(BanditRollout, RegretBookkeepingMatchesBruteForce) {
  Trajectories rec;
  const RegretCurve c = run("thompson", {{"horizon", "30"}}, 9, 4, &rec);
  const BanditSetup s = make_bandit_setup({{"horizon", "30"}});
  std::vector<double> mean(30, 0.0);
  for (int64_t i = 0; i < 9; ++i) {
    const BanditEnv e = make_bandit_env(s, kKey, i);
    RewardNoise noise(kKey, i);
    double cum = 0;
    for (int64_t t = 0; t < 30; ++t) {
      const int a = rec.actions[size_t(i * 30 + t)];
      double best = -1e300;
      for (int b = 0; b < 10; ++b) best = std::max(best, e.arms.row(b).dot(e.theta));
      cum += best - e.arms.row(a).dot(e.theta);
      mean[size_t(t)] += cum / 9;
      EXPECT_NEAR(rec.rewards[size_t(i * 30 + t)], e.means(a) + 1.5 * noise.next(), 1e-5);
    }
  }
  for (int t = 0; t < 30; ++t) EXPECT_NEAR(c.mean[size_t(t)], mean[size_t(t)], 1e-9);
}

TEST(BanditRollout, ReproducibleAndIndependentOfBatchSize) {
  for (const char* policy : {"linucb", "thompson", "thompson_arms", "random", "greedy"}) {
    Trajectories a, b, c, d;
    const RegretCurve ca = run(policy, {{"horizon", "40"}}, 13, 13, &a);
    const RegretCurve cb = run(policy, {{"horizon", "40"}}, 13, 3, &b);
    run(policy, {{"horizon", "40"}}, 13, 13, &c);
    const RegretCurve cd = run(policy, {{"horizon", "40"}}, 13, 0, &d);  // per environment
    EXPECT_EQ(a.actions, b.actions) << policy;
    EXPECT_EQ(a.actions, c.actions) << policy;
    EXPECT_EQ(a.actions, d.actions) << policy;
    EXPECT_EQ(a.rewards, b.rewards) << policy;
    EXPECT_EQ(a.rewards, d.rewards) << policy;
    EXPECT_EQ(ca.mean, cb.mean) << policy;
    EXPECT_EQ(ca.mean, cd.mean) << policy;
    EXPECT_EQ(ca.sem, cd.sem) << policy;
  }
}

TEST(BanditRollout, LinUcbAndThompsonAreSublinearRandomIsLinear) {
  // Regret at 4T against T: ~2x for √T-type growth, ~4x for a policy that never learns.
  const int64_t T = 150;
  auto ratio = [&](const std::string& p, const Raw& pr = {}) {
    const double r1 = run(p, {{"horizon", std::to_string(T)}}, 200, 0, nullptr, pr).mean.back();
    const double r4 = run(p, {{"horizon", std::to_string(4 * T)}}, 200, 0, nullptr, pr).mean.back();
    return r4 / r1;
  };
  EXPECT_LT(ratio("linucb"), 2.6);
  EXPECT_LT(ratio("thompson"), 2.6);
  EXPECT_GT(ratio("random"), 3.6);
  // And both beat random by far at the horizon of the published setup.
  const double lin = run("linucb", {}, 200, 0).mean.back();
  const double rnd = run("random", {}, 200, 0).mean.back();
  EXPECT_LT(lin, 0.3 * rnd);
}

TEST(RidgeStats, ShermanMorrisonMatchesTheDirectSolve) {
  Rng rng(kKey, 1);
  RidgeStats st;
  st.reset(4, 0.7);
  Eigen::MatrixXd V = 0.7 * Eigen::MatrixXd::Identity(4, 4);
  Eigen::VectorXd b = Eigen::VectorXd::Zero(4);
  for (int t = 0; t < 300; ++t) {
    Eigen::VectorXd a(4);
    for (auto& v : a) v = rng.uniform(-1, 1);
    const double r = rng.normal();
    st.add(a, r);
    V += a * a.transpose();
    b += r * a;
  }
  const Eigen::VectorXd theta = V.ldlt().solve(b);
  EXPECT_LT((st.theta - theta).norm(), 1e-10 * theta.norm());
  EXPECT_LT((st.v_inv - V.inverse()).norm(), 1e-10 * V.inverse().norm());
}

TEST(LinUcb, EstimateConvergesToTheta) {
  // LinUCB soon pulls the best arm almost always, so θ̂ converges where it samples: the error along
  // the best arm's features goes to 0, and in the norm of V it stays inside the self-normalised
  // confidence radius β_t = σ√(2 log(1/δ) + d log(1 + t L²/(λd))) + √λ‖θ‖ (Abbasi-Yadkori et al.
  // 2011, here with δ = 0.01) at every step, while the plain norm need not shrink in directions
  // no longer pulled.
  const BanditSetup s = make_bandit_setup({{"noise_std", "0.5"}});
  int checked = 0;
  double mean_along = 0;
  for (int i = 0; i < 10; ++i) {
    const BanditEnv e = make_bandit_env(s, kKey, i);
    LinUcb ucb(1.0, 2.0);
    ucb.reset(e.arms);
    Rng rng(kKey, 0);
    RewardNoise noise(kKey, i);
    const Eigen::VectorXd best = e.arms.row(e.best).transpose();
    const double L2 = e.arms.rowwise().squaredNorm().maxCoeff(), d = 5;
    std::vector<double> along;  // |(θ̂ − θ)·a_best| at the end
    for (int t = 1; t <= 4000; ++t) {
      const int a = ucb.act(rng);
      ucb.observe(a, e.means(a) + e.noise * noise.next());
      const Eigen::VectorXd err = ucb.stats().theta - e.theta;
      if (t % 250 == 0) {
        const Eigen::MatrixXd V = ucb.stats().v_inv.inverse();
        const double beta =
            0.5 * std::sqrt(2 * std::log(100.0) + d * std::log(1 + t * L2 / d)) + e.theta.norm();
        EXPECT_LE(std::sqrt(err.dot(V * err)), beta) << "env " << i << " t " << t;
        ++checked;
      }
      if (t == 4000) along.push_back(std::abs(err.dot(best)));
    }
    // ~σ|a|/√pulls ≈ 0.02 at 4000 pulls.
    EXPECT_LT(along[0], 0.07) << "env " << i;
    mean_along += along[0] / 10;
  }
  EXPECT_LT(mean_along, 0.025);
  EXPECT_EQ(checked, 160);
}

TEST(BanditEnv, DptThetaIsNormalWithVarianceOneOverD) {
  // The reference's sample_linear: θ ~ N(0, I_d/d) for any d (d = 2 gives the paper's N(0, I/2)).
  const BanditSetup dpt = make_bandit_setup({{"setup", "dpt"}, {"dim", "8"}});
  double sum2 = 0;
  for (int i = 0; i < 500; ++i) sum2 += make_bandit_env(dpt, kKey, i).theta.squaredNorm();
  EXPECT_NEAR(sum2 / 500 / 8, 1.0 / 8, 0.015);
}

TEST(LinUcb, FirstPullIsAUniformlyRandomArm) {
  // Both references pull a uniformly random arm before any reward; the formula alone would pull
  // the arm of largest norm in every environment. Greedy ridge is the same class.
  const BanditSetup s = make_bandit_setup({});
  const BanditEnv e = make_bandit_env(s, kKey, 0);
  for (const bool greedy : {false, true}) {
    std::vector<int> count(size_t(s.arms), 0);
    for (int i = 0; i < 3000; ++i) {
      LinUcb ucb(1.0, greedy ? 0.0 : 2.0);
      ucb.reset(e.arms);
      Rng rng(kKey.sub("first"), uint64_t(i));
      ++count[size_t(ucb.act(rng))];
    }
    for (const int c : count) EXPECT_NEAR(c, 300, 60) << (greedy ? "greedy" : "linucb");
  }
}

TEST(ThompsonArms, DrawsFromTheReferencePosterior) {
  // DPT's ThompsonSamplingPolicy (prior mean 0, prior variance τ², noise σ): after n pulls with
  // mean x̄, mean (1 − w) x̄ with w = τ²/(τ² + nσ²), variance 1/(1/τ² + n/σ²); no pull: N(0, τ²).
  const double tau2 = 1.0, sigma2 = 0.09;
  const ArmPosterior none = dpt_arm_posterior(0, 0, tau2, sigma2);
  EXPECT_EQ(none.mean, 0.0);
  EXPECT_EQ(none.var, tau2);
  const ArmPosterior five = dpt_arm_posterior(5, 5 * 0.8, tau2, sigma2);
  const double w = tau2 / (tau2 + 5 * sigma2);
  EXPECT_DOUBLE_EQ(five.mean, (1 - w) * 0.8);
  EXPECT_DOUBLE_EQ(five.var, 1 / (1 / tau2 + 5 / sigma2));
  // The policy draws from it: with arm 0 pulled five times at reward 0.8 and arm 1 never, it
  // picks arm 0 with probability Φ(m / √(v + τ²)) = 0.60 (the textbook posterior: 0.78).
  const auto spec = make_bandit_policy("thompson_arms", {{"noise_std", "0.3"}});
  Eigen::MatrixXd arms = Eigen::MatrixXd::Identity(2, 2);
  int zero = 0;
  const int n = 6000;
  for (int i = 0; i < n; ++i) {
    auto p = spec.make();
    p->reset(arms);
    for (int k = 0; k < 5; ++k) p->observe(0, 0.8);
    Rng rng(kKey.sub("ts_arms"), uint64_t(i));
    zero += p->act(rng) == 0;
  }
  const double want = 0.5 * std::erfc(-five.mean / std::sqrt(five.var + tau2) / std::sqrt(2.0));
  EXPECT_NEAR(want, 0.60, 0.01);
  EXPECT_NEAR(double(zero) / n, want, 0.02);
}

TEST(Greedy, NoiselessRidgeFindsTheBestArmAfterDIndependentPulls) {
  const BanditSetup s = make_bandit_setup({{"noise_std", "0"}});
  for (int i = 0; i < 20; ++i) {
    const BanditEnv e = make_bandit_env(s, kKey, i);
    auto greedy = make_bandit_policy("greedy", {{"lambda", "1e-9"}}).make();
    greedy->reset(e.arms);
    for (int a = 0; a < 5; ++a) greedy->observe(a, e.means(a));  // the first 5 arms span R^5
    Rng rng(kKey, 0);
    EXPECT_EQ(greedy->act(rng), e.best) << i;
  }
}

TEST(BanditErrors, BadParametersNameThemselves) {
  for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"arms", "0"}, {"horizon", "0"}, {"noise_std", "-1"}, {"dim", "0"}, {"setup", "x"}}) {
    const std::string msg = test::error_of([&key = key, &value = value] {
      make_bandit_setup({{key, value}});
    });
    EXPECT_NE(msg.find(key), std::string::npos) << msg;
  }
  EXPECT_NE(test::error_of([] { make_bandit_policy("ucb", {}); }).find("linucb"),
            std::string::npos);
  EXPECT_NE(test::error_of([] {
              make_bandit_policy("linucb", {{"alpha", "-1"}});
            }).find("alpha"),
            std::string::npos);
}

}  // namespace
}  // namespace icl

#include "eval/bandit_rollout.h"

#include <cmath>

#include "core/error.h"
#include "core/parallel.h"

namespace icl {
namespace {

class AlgorithmPolicy final : public BatchPolicy {
 public:
  AlgorithmPolicy(const BanditPolicySpec& spec, const RngKey& key)
      : spec_(spec), key_(key.sub("policy/" + spec.label)) {}
  std::string label() const override { return spec_.label; }
  void reset(const std::vector<BanditEnv>& envs, int64_t first) override {
    policies_.resize(envs.size());
    rngs_.clear();
    for (size_t i = 0; i < envs.size(); ++i) {
      policies_[i] = spec_.make();
      policies_[i]->reset(envs[i].arms);
      rngs_.emplace_back(key_, uint64_t(first + int64_t(i)));
    }
  }
  // Serial: a step of an algorithm is microseconds, less than waking threads for it would cost.
  void act(int64_t, std::vector<int>& arms) override {
    arms.resize(policies_.size());
    for (size_t i = 0; i < policies_.size(); ++i) arms[i] = policies_[i]->act(rngs_[i]);
  }
  void observe(const std::vector<int>& arms, const std::vector<double>& rewards) override {
    for (size_t i = 0; i < policies_.size(); ++i) policies_[i]->observe(arms[i], rewards[i]);
  }

 private:
  BanditPolicySpec spec_;
  RngKey key_;
  std::vector<std::unique_ptr<BanditPolicy>> policies_;
  std::vector<Rng> rngs_;
};

}  // namespace

std::unique_ptr<BatchPolicy> algorithm_policy(const BanditPolicySpec& spec, const RngKey& key) {
  return std::make_unique<AlgorithmPolicy>(spec, key);
}

namespace {

// Per-environment bookkeeping shared by both rollouts: environment i's step t.
struct Ledger {
  int64_t E, T;
  std::vector<double> cumulative;  // [E, T]
  Trajectories* record;
  Ledger(int64_t e, int64_t t, Trajectories* r) : E(e), T(t), cumulative(size_t(e * t)), record(r) {
    if (!record) return;
    record->environments = E;
    record->horizon = T;
    record->actions.assign(size_t(E * T), 0);
    record->rewards.assign(size_t(E * T), 0.f);
    record->regret.assign(size_t(E * T), 0.0);
  }
  // Checks the arm, returns the reward and books the regret.
  double pull(const std::string& who, const BanditEnv& e, RewardNoise& noise, int64_t i, int64_t t,
              int a, double& total) {
    if (a < 0 || a >= int(e.means.size()))
      fail("policy {}: arm {} out of range [0, {})", who, a, e.means.size());
    const double reward = e.means(a) + e.noise * noise.next();
    const double regret = e.means(e.best) - e.means(a);
    total += regret;
    const size_t o = size_t(i * T + t);
    cumulative[o] = total;
    if (record) {
      record->actions[o] = a;
      record->rewards[o] = float(reward);
      record->regret[o] = regret;
    }
    return reward;
  }
  RegretCurve curve(const std::string& label) const {
    RegretCurve c;
    c.label = label;
    c.mean.assign(size_t(T), 0.0);
    c.sem.assign(size_t(T), 0.0);
    for (int64_t t = 0; t < T; ++t) {
      double m = 0, v = 0;
      for (int64_t i = 0; i < E; ++i) m += cumulative[size_t(i * T + t)];
      m /= double(E);
      for (int64_t i = 0; i < E; ++i) v += std::pow(cumulative[size_t(i * T + t)] - m, 2);
      c.mean[size_t(t)] = m;
      c.sem[size_t(t)] = std::sqrt(v / double(E - 1) / double(E));
    }
    return c;
  }
};

void check(const RolloutOptions& opt) {
  if (opt.environments < 2) fail("rollout.environments: must be >= 2, got {}", opt.environments);
  if (opt.batch < 1) fail("rollout.batch: must be >= 1, got {}", opt.batch);
}

}  // namespace

RegretCurve rollout(const BanditSetup& setup, const RngKey& key, BatchPolicy& policy,
                    const RolloutOptions& opt, Trajectories* record) {
  check(opt);
  Ledger book(opt.environments, setup.horizon, record);
  for (int64_t first = 0; first < book.E; first += opt.batch) {
    const int64_t n = std::min(opt.batch, book.E - first);
    std::vector<BanditEnv> envs(static_cast<size_t>(n));
    std::vector<RewardNoise> noise;
    for (int64_t i = 0; i < n; ++i) noise.emplace_back(key, first + i);
    parallel_for(n, [&](int64_t i) { envs[size_t(i)] = make_bandit_env(setup, key, first + i); });
    policy.reset(envs, first);
    std::vector<int> arms;
    std::vector<double> rewards(static_cast<size_t>(n)), total(static_cast<size_t>(n), 0.0);
    for (int64_t t = 0; t < book.T; ++t) {
      policy.act(t, arms);
      if (int64_t(arms.size()) != n)
        fail("policy {}: acted for {} environments, not {}", policy.label(), arms.size(), n);
      for (int64_t i = 0; i < n; ++i)
        rewards[size_t(i)] = book.pull(policy.label(), envs[size_t(i)], noise[size_t(i)], first + i,
                                       t, arms[size_t(i)], total[size_t(i)]);
      policy.observe(arms, rewards);
    }
  }
  return book.curve(policy.label());
}

RegretCurve rollout(const BanditSetup& setup, const RngKey& key, const BanditPolicySpec& spec,
                    const RolloutOptions& opt, Trajectories* record) {
  check(opt);
  Ledger book(opt.environments, setup.horizon, record);
  const RngKey policy_key = key.sub("policy/" + spec.label);
  parallel_for(book.E, [&](int64_t i) {
    const BanditEnv e = make_bandit_env(setup, key, i);
    RewardNoise noise(key, i);
    Rng rng(policy_key, uint64_t(i));
    const auto policy = spec.make();
    policy->reset(e.arms);
    double total = 0;
    for (int64_t t = 0; t < book.T; ++t) {
      const int a = policy->act(rng);
      policy->observe(a, book.pull(spec.label, e, noise, i, t, a, total));
    }
  });
  return book.curve(spec.label);
}

}  // namespace icl

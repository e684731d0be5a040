#pragma once
// Online evaluation in linear bandits (docs/TASKS.md §7): a policy acts for the whole horizon in a
// batch of environments; the cumulative regret Σ_t (μ* − μ_{a_t}) per step is averaged over
// environments (mean ± SEM). Environments, reward noise and each policy's own randomness come from
// per-environment streams, so the curves do not depend on the batch size or the thread count, and
// two policies see the same environments and the same noise.
#include <memory>
#include <string>
#include <vector>

#include "baselines/bandit_policy.h"
#include "tasks/linear_bandit.h"

namespace icl {

// Acts for a batch of environments at once: a trained model decides for all of them in one
// forward pass; algorithm_policy() adapts a BanditPolicy by running one instance per environment.
class BatchPolicy {
 public:
  virtual ~BatchPolicy() = default;
  virtual std::string label() const = 0;
  // envs are environments first .. first + envs.size() − 1 of the rollout's stream.
  virtual void reset(const std::vector<BanditEnv>& envs, int64_t first) = 0;
  // The arm of every environment at step t.
  virtual void act(int64_t t, std::vector<int>& arms) = 0;
  virtual void observe(const std::vector<int>& arms, const std::vector<double>& rewards) = 0;
};

// Policy randomness for environment i: stream key.sub("policy/<label>") at index i.
std::unique_ptr<BatchPolicy> algorithm_policy(const BanditPolicySpec& spec, const RngKey& key);

struct RolloutOptions {
  int64_t environments = 200;
  int64_t batch = 256;  // environments acting together
};

// What happened, for pretraining data and tests: [E, T] actions and rewards, and the regret.
struct Trajectories {
  int64_t environments = 0, horizon = 0;
  std::vector<int> actions;
  std::vector<float> rewards;
  std::vector<double> regret;  // instantaneous μ* − μ_a
};

struct RegretCurve {
  std::string label;
  std::vector<double> mean, sem;  // cumulative regret after steps 1..T
};

RegretCurve rollout(const BanditSetup& setup, const RngKey& key, BatchPolicy& policy,
                    const RolloutOptions& opt, Trajectories* record = nullptr);

// The same for an algorithm, each environment played start to end by its own instance in
// parallel (no per-step synchronisation); equal to rollout(algorithm_policy(spec, key)).
RegretCurve rollout(const BanditSetup& setup, const RngKey& key, const BanditPolicySpec& spec,
                    const RolloutOptions& opt, Trajectories* record = nullptr);

}  // namespace icl

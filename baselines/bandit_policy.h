#pragma once
// Bandit policies (docs/DESIGN.md, "Policy"): algorithms that act in a linear bandit one step at a
// time. A policy instance plays one environment: reset() gives it the arm features, then act() and
// observe() alternate for the horizon. Randomised policies draw only from the Rng they are handed
// (one stream per environment and policy), so a rollout is the same whatever the batch size or
// thread count. eval/bandit_rollout.h rolls policies out; a trained model acts through the same
// batched interface there.
#include <Eigen/Dense>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/params.h"
#include "core/rng.h"

namespace icl {

class BanditPolicy {
 public:
  virtual ~BanditPolicy() = default;
  virtual void reset(const Eigen::MatrixXd& arms) = 0;  // [A, d]
  virtual int act(Rng& rng) = 0;
  virtual void observe(int arm, double reward) = 0;
};

struct BanditPolicyInfo {
  std::string name;
  std::string summary;
  ParamSpecs params;
  std::function<std::unique_ptr<BanditPolicy>(const ParamSet&)> make;
};

const std::vector<BanditPolicyInfo>& bandit_policy_registry();
const BanditPolicyInfo& find_bandit_policy(const std::string& name);

// A configured policy: makes one fresh instance per environment.
struct BanditPolicySpec {
  std::string name, label;
  ParamSet params;
  std::unique_ptr<BanditPolicy> make() const { return find_bandit_policy(name).make(params); }
};
BanditPolicySpec make_bandit_policy(const std::string& name,
                                    const std::map<std::string, std::string>& raw,
                                    const std::string& label = "",
                                    const std::string& where = "policy");

// Ridge statistics shared by LinUCB, greedy and linear Thompson sampling: V = λI + Σ a aᵀ kept as
// its inverse (Sherman–Morrison, O(d²) per step), b = Σ r a, θ̂ = V⁻¹ b.
struct RidgeStats {
  Eigen::MatrixXd v_inv;
  Eigen::VectorXd b, theta;
  void reset(int64_t d, double lambda);
  void add(const Eigen::VectorXd& a, double r);
};

// The per-arm posterior thompson_arms draws from after n pulls of an arm with rewards summing to
// `sum` (baselines/thompson.cpp: DPT's reference formula, prior mean 0).
struct ArmPosterior {
  double mean, var;
};
ArmPosterior dpt_arm_posterior(double n, double sum, double prior_var, double noise_var);

}  // namespace icl

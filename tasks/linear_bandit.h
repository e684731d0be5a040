#pragma once
// Stochastic linear bandits (docs/TASKS.md §7): A arms with features a_1..a_A ∈ R^d, an unknown θ,
// and rewards r = θ·a + σ·ε for the arm pulled. Two published setups:
//   dpt  Lee et al. 2023 (DPT): 10 arms whose features are fixed across environments (drawn once,
//        a ~ N(0, I_d/d)), θ ~ N(0, I_d/d) per environment, d = 2, σ = 0.3, horizon 200;
//   lin  Lin, Bai & Mei 2024: d = 5, 10 arms per environment ~ U[−1, 1]^5, θ ~ U[0, 1]^5,
//        σ = 1.5, horizon 200.
// Environment i of a stream is a pure function of (key, i); arms shared by every environment come
// from the seed alone (stream "bandit/fixed_arms"), the same for every stream of that seed. Reward
// noise is common to all policies: the ε of step t in environment i is draw t of stream
// key.sub("reward") at index i, whatever arm is pulled, so two policies rolled out on the same
// environments differ only by their choices.
#include <Eigen/Dense>
#include <string>
#include <vector>

#include "core/params.h"
#include "core/rng.h"

namespace icl {

struct BanditSetup {
  std::string kind = "lin";  // dpt | lin
  int64_t arms = 10, dim = 5, horizon = 200;
  double noise = 1.5;
};

// The parameters of the `bandit:` sections; defaults are the lin setup, `setup: dpt` switches the
// defaults of the others to DPT's.
ParamSpecs bandit_setup_params();
BanditSetup make_bandit_setup(const std::map<std::string, std::string>& raw,
                              const std::string& where = "bandit");

struct BanditEnv {
  Eigen::MatrixXd arms;   // [A, d]
  Eigen::VectorXd theta;  // [d]
  Eigen::VectorXd means;  // [A] θ·a
  int best = 0;           // argmax of means (lowest index on ties)
  double noise = 0.0;
};

BanditEnv make_bandit_env(const BanditSetup& s, const RngKey& key, int64_t index);

// Reward noise of environment `index`: ε_t for t = 0, 1, ... (standard normal), shared by policies.
class RewardNoise {
 public:
  RewardNoise(const RngKey& key, int64_t index) : rng_(key.sub("reward"), uint64_t(index)) {}
  double next() { return rng_.normal(); }

 private:
  Rng rng_;
};

}  // namespace icl

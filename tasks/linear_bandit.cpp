#include "tasks/linear_bandit.h"

#include <cmath>

#include "core/error.h"
#include "tasks/param_limits.h"

namespace icl {

ParamSpecs bandit_setup_params() {
  return {
      ParamSpec::choice("setup", "lin", {"lin", "dpt"},
                        "published setup the other defaults come from (Lin et al. 2024 or DPT)"),
      ParamSpec::integer("arms", 10, "number of arms", 1, 1e6),
      ParamSpec::integer("dim", 5, "feature dimension d (dpt default 2)", 1, 1e4),
      ParamSpec::integer("horizon", 200, "steps per environment", 1, 1e7),
      ParamSpec::real("noise_std", 1.5, "reward noise σ (dpt default 0.3)", 0.0, kMaxScale),
  };
}

BanditSetup make_bandit_setup(const std::map<std::string, std::string>& raw,
                              const std::string& where) {
  std::map<std::string, std::string> p = raw;
  const auto setup = p.find("setup");
  if (setup != p.end() && setup->second == "dpt") {
    p.try_emplace("dim", "2");
    p.try_emplace("noise_std", "0.3");
  }
  const ParamSet ps = resolve_params(bandit_setup_params(), p, where);
  BanditSetup s;
  s.kind = ps.s("setup");
  s.arms = ps.i("arms");
  s.dim = ps.i("dim");
  s.horizon = ps.i("horizon");
  s.noise = ps.r("noise_std");
  return s;
}

BanditEnv make_bandit_env(const BanditSetup& s, const RngKey& key, int64_t index) {
  BanditEnv e;
  e.noise = s.noise;
  e.arms.resize(s.arms, s.dim);
  e.theta.resize(s.dim);
  Rng rng(key, uint64_t(index));
  if (s.kind == "dpt") {
    // From the seed alone: the training stream and the evaluation streams must share the arms,
    // or a model pretrained on one fixed set is scored on another.
    Rng fixed(RngKey{key.seed, stream_id("bandit/fixed_arms")}, 0);
    const double sd = 1.0 / std::sqrt(double(s.dim));
    for (int64_t a = 0; a < s.arms; ++a)
      for (int64_t j = 0; j < s.dim; ++j) e.arms(a, j) = sd * fixed.normal();
    // θ ~ N(0, I_d/d), as the reference's sample_linear draws it (envs/bandit_env.py); the
    // paper's d = 2 makes that N(0, I/2).
    for (int64_t j = 0; j < s.dim; ++j) e.theta(j) = sd * rng.normal();
  } else {
    for (int64_t a = 0; a < s.arms; ++a)
      for (int64_t j = 0; j < s.dim; ++j) e.arms(a, j) = rng.uniform(-1.0, 1.0);
    for (int64_t j = 0; j < s.dim; ++j) e.theta(j) = rng.uniform();
  }
  e.means = e.arms * e.theta;
  e.means.maxCoeff(&e.best);
  return e;
}

}  // namespace icl

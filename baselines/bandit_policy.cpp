#include "baselines/bandit_policy.h"

#include <fmt/format.h>

#include "core/error.h"
#include "core/registry.h"

namespace icl {

// One line per policy family file.
void register_linucb(std::vector<BanditPolicyInfo>& r);
void register_thompson(std::vector<BanditPolicyInfo>& r);
void register_random_policy(std::vector<BanditPolicyInfo>& r);

const std::vector<BanditPolicyInfo>& bandit_policy_registry() {
  static const std::vector<BanditPolicyInfo> registry = [] {
    std::vector<BanditPolicyInfo> r;
    register_linucb(r);
    register_thompson(r);
    register_random_policy(r);
    return r;
  }();
  return registry;
}

const BanditPolicyInfo& find_bandit_policy(const std::string& name) {
  return find_named(bandit_policy_registry(), name, "policy");
}

BanditPolicySpec make_bandit_policy(const std::string& name,
                                    const std::map<std::string, std::string>& raw,
                                    const std::string& label, const std::string& where) {
  const BanditPolicyInfo& info = find_bandit_policy(name);
  BanditPolicySpec s{name, label, resolve_params(info.params, raw, where)};
  if (s.label.empty()) s.label = derived_label(name, info.params, raw, s.params);
  if (s.label.find('/') != std::string::npos)
    fail("{}.label: must not contain '/', got '{}'", where, s.label);
  return s;
}

void RidgeStats::reset(int64_t d, double lambda) {
  v_inv = Eigen::MatrixXd::Identity(d, d) / lambda;
  b = Eigen::VectorXd::Zero(d);
  theta = Eigen::VectorXd::Zero(d);
}

void RidgeStats::add(const Eigen::VectorXd& a, double r) {
  const Eigen::VectorXd va = v_inv * a;
  v_inv -= va * va.transpose() / (1.0 + a.dot(va));
  b += r * a;
  theta = v_inv * b;
}

}  // namespace icl

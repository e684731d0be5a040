#include <fmt/format.h>

#include "baselines/baseline.h"
#include "core/error.h"
#include "core/registry.h"

namespace icl {

// One line per baseline family file.
void register_least_squares(std::vector<BaselineInfo>& r);
void register_fourier_posterior(std::vector<BaselineInfo>& r);
void register_mixture_posterior(std::vector<BaselineInfo>& r);
void register_averaging(std::vector<BaselineInfo>& r);
void register_nearest_neighbours(std::vector<BaselineInfo>& r);
void register_gradient_descent(std::vector<BaselineInfo>& r);
void register_sgd(std::vector<BaselineInfo>& r);
void register_lasso(std::vector<BaselineInfo>& r);
void register_cart(std::vector<BaselineInfo>& r);
void register_xgboost(std::vector<BaselineInfo>& r);
void register_mlp_gd(std::vector<BaselineInfo>& r);
void register_boolean_learners(std::vector<BaselineInfo>& r);
void register_softmax_gd(std::vector<BaselineInfo>& r);
void register_maze_bfs(std::vector<BaselineInfo>& r);

const std::vector<BaselineInfo>& baseline_registry() {
  static const std::vector<BaselineInfo> registry = [] {
    std::vector<BaselineInfo> r;
    register_least_squares(r);
    register_fourier_posterior(r);
    register_mixture_posterior(r);
    register_averaging(r);
    register_nearest_neighbours(r);
    register_gradient_descent(r);
    register_sgd(r);
    register_lasso(r);
    register_cart(r);
    register_xgboost(r);
    register_mlp_gd(r);
    register_boolean_learners(r);
    register_softmax_gd(r);
    register_maze_bfs(r);
    return r;
  }();
  return registry;
}

const BaselineInfo& find_baseline(const std::string& name) {
  return find_named(baseline_registry(), name, "baseline");
}

std::unique_ptr<Baseline> make_baseline(const std::string& name,
                                        const std::map<std::string, std::string>& raw,
                                        const std::string& label, const std::string& where) {
  const BaselineInfo& info = find_baseline(name);
  const ParamSet params = resolve_params(info.params, raw, where);
  if (label.find('/') != std::string::npos)
    fail("{}.label: must not contain '/', got '{}'", where, label);
  if (!info.not_built.empty()) fail("{}: {}: {}", where, name, info.not_built);
  return info.make(params, label.empty() ? derived_label(name, info.params, raw, params) : label);
}

}  // namespace icl

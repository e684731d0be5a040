// ResolvedRun::yaml(): the config with every default filled in, as results.h5 records it (the root
// attribute `config`). The sections are written from their declarations (core/section.h), so a new
// key appears here without an edit.
#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "run/resolved_run.h"

namespace icl {

namespace {

void set(YAML::Node n, const std::string& key, const ParamValue& v) {
  if (const auto* i = std::get_if<int64_t>(&v))
    n[key] = *i;
  else if (const auto* r = std::get_if<double>(&v))
    n[key] = *r;
  else if (const auto* b = std::get_if<bool>(&v))
    n[key] = *b;
  else
    n[key] = std::get<std::string>(v);
}

YAML::Node params_node(const std::string& name, const ParamSet& p) {
  YAML::Node n;
  n["name"] = name;
  for (const auto& [k, v] : p.values()) set(n, k, v);
  return n;
}

// The keys of `section` in declaration order; a custom key is written by `custom(node, key)`,
// keys in `skip` not at all.
template <class T, class F>
YAML::Node section_node(const Section<T>& section, const T& t, F custom,
                        const std::vector<std::string>& skip = {}) {
  YAML::Node n(YAML::NodeType::Map);
  for (const auto& [key, value] : section.resolved(t)) {
    if (std::find(skip.begin(), skip.end(), key) != skip.end()) continue;
    if (value)
      set(n, key, *value);
    else
      custom(n, key);
  }
  return n;
}

void ramp_node(YAML::Node n, const std::string& key, const Ramp& r) {
  n["curriculum"][key]["start"] = r.start;
  n["curriculum"][key]["end"] = r.end;
  n["curriculum"][key]["inc"] = r.inc;
  n["curriculum"][key]["every"] = r.every;
}

// The model and train sections. The curriculum lists dims (for a task with active_dims), points
// and every ramped task parameter.
void model_nodes(const ResolvedRun& run, YAML::Node& root) {
  root["model"] = params_node(run.model->name, run.model->params);
  const TrainConfig& t = run.train;
  // The replica keys are not written: a config with replicas resolves into one single run per
  // replica (run/replicas.h), and that run's file records that run.
  root["train"] = section_node(train_section(), t,
                               [&](YAML::Node n, const std::string& key) {
                                 ICL_ASSERT(key == "curriculum");
                                 if (run.task->params().has("active_dims"))
                                   ramp_node(n, "dims", t.dims);
                                 ramp_node(n, "points", t.points);
                                 for (const auto& [name, r] : t.task_ramps) ramp_node(n, name, r);
                               },
                               {"replicas", "replica_seeds", "replica_lrs"});
}

std::string emit(const YAML::Node& root) {
  YAML::Emitter e;
  e << root;
  return e.c_str();
}

}  // namespace

std::string ResolvedRun::yaml() const {
  YAML::Node root;
  root["benchmark"] = name;
  root["description"] = description;
  root["seed"] = seed;
  if (bandit) {
    const BanditSetup& b = bandit->setup;
    root["bandit"]["setup"] = b.kind;
    root["bandit"]["arms"] = b.arms;
    root["bandit"]["dim"] = b.dim;
    root["bandit"]["horizon"] = b.horizon;
    root["bandit"]["noise_std"] = b.noise;
    // How the model acts means nothing without one.
    root["rollout"] = section_node(
        rollout_section(), bandit->rollout, [](YAML::Node, const std::string&) {},
        has_model() ? std::vector<std::string>{} : std::vector<std::string>{"model_actions"});
    for (const auto& p : bandit->policies) {
      YAML::Node pn = params_node(p.name, p.params);
      pn["label"] = p.label;
      root["policies"].push_back(pn);
    }
    if (has_model()) {
      root["task"] = params_node(task->name(), task->params());
      model_nodes(*this, root);
    }
    return emit(root);
  }
  root["task"] = params_node(task->name(), task->params());
  // Each set records its own prompts, examples or lengths; the sets are written below.
  YAML::Node ev = section_node(
      eval_section(), eval, [](YAML::Node, const std::string&) {},
      {"prompts", "examples", "lengths", "sets", "prediction_difference", "per_prompt"});
  // Only when on, so that the resolved config of every run without it stays as it was.
  if (eval.per_prompt) ev["per_prompt"] = true;
  for (const auto& s : evals) {
    YAML::Node sn;
    sn["prompts"] = s.prompts;
    if (s.lengths.empty())
      sn["examples"] = s.examples;
    else
      for (int64_t L : s.lengths) sn["lengths"].push_back(L);
    sn["task"] = params_node(s.task->name(), s.task->params());
    // Only when on, so that the resolved config of every run without it stays as it was.
    if (s.prediction_difference) sn["prediction_difference"] = true;
    if (s.spectrum.points > 0) {
      const SpectrumKeys k{s.spectrum.points, s.spectrum.context, s.spectrum.prompts, s.spectrum.lo,
                           s.spectrum.hi};
      sn["spectrum"] = section_node(spectrum_section(), k, [](YAML::Node, const std::string&) {});
    }
    ev["sets"][s.name] = sn;
  }
  root["eval"] = ev;
  YAML::Node bl(YAML::NodeType::Sequence);
  for (const auto& b : baselines) {
    YAML::Node n = params_node(b->name(), b->params());
    n["label"] = b->label();
    bl.push_back(n);
  }
  root["baselines"] = bl;
  if (has_model()) model_nodes(*this, root);
  return emit(root);
}

}  // namespace icl

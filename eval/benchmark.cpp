#include "eval/benchmark.h"

#include <yaml-cpp/yaml.h>

#include <chrono>

#include "baselines/baseline.h"
#include "eval/results.h"

namespace icl {

RngKey eval_stream(uint64_t seed, const std::string& set) {
  return {seed, stream_id("eval/" + set)};
}

static YAML::Node params_node(const std::string& name, const ParamSet& p) {
  YAML::Node n;
  n["name"] = name;
  for (const auto& [k, v] : p.values()) {
    if (const auto* i = std::get_if<int64_t>(&v))
      n[k] = *i;
    else if (const auto* r = std::get_if<double>(&v))
      n[k] = *r;
    else if (const auto* b = std::get_if<bool>(&v))
      n[k] = *b;
    else
      n[k] = std::get<std::string>(v);
  }
  return n;
}

std::string resolved_config_yaml(const BenchmarkConfig& cfg) {
  YAML::Node root;
  root["benchmark"] = cfg.name;
  root["description"] = cfg.description;
  root["seed"] = cfg.seed;
  root["task"] = params_node(cfg.task.name, make_task(cfg.task.name, cfg.task.params)->params());
  YAML::Node ev;
  ev["bootstrap"] = cfg.bootstrap;
  ev["batch_size"] = cfg.batch_size;
  for (const auto& s : cfg.evals) {
    YAML::Node sn;
    sn["prompts"] = s.prompts;
    sn["examples"] = s.examples;
    sn["task"] = params_node(s.task.name, make_task(s.task.name, s.task.params)->params());
    ev["sets"][s.name] = sn;
  }
  root["eval"] = ev;
  YAML::Node bl(YAML::NodeType::Sequence);
  for (const auto& b : cfg.baselines) {
    auto p = make_baseline(b.name, b.params, b.label);
    YAML::Node n = params_node(b.name, p->params());
    n["label"] = p->label();
    bl.push_back(n);
  }
  root["baselines"] = bl;
  YAML::Emitter e;
  e << root;
  return e.c_str();
}

BenchmarkResult run_benchmark(const BenchmarkConfig& cfg, AtomicH5Output& out, bool progress) {
  const auto t0 = std::chrono::steady_clock::now();

  std::vector<std::unique_ptr<Baseline>> baselines;
  std::vector<const Predictor*> predictors;
  for (const auto& b : cfg.baselines) {
    baselines.push_back(make_baseline(b.name, b.params, b.label));
    predictors.push_back(baselines.back().get());
  }

  BenchmarkResult res;
  for (const auto& s : cfg.evals) {
    const auto task = make_task(s.task.name, s.task.params, "eval.sets." + s.name + ".task");
    EvalOptions opt;
    opt.prompts = s.prompts;
    opt.examples = s.examples;
    opt.batch_size = cfg.batch_size;
    opt.bootstrap = cfg.bootstrap;
    opt.progress = progress;
    res.evals.push_back(evaluate(s.name, *task, predictors, eval_stream(cfg.seed, s.name), opt));
  }
  RunInfo info;
  info.benchmark = cfg.name;
  info.seed = cfg.seed;
  info.config = resolved_config_yaml(cfg);
  write_results(out, info, res.evals);
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

}  // namespace icl

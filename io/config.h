#pragma once
// Benchmark configs (configs/<paper>/<name>.yaml) and their validation.
//
//   description: one line for `icl list`
//   seed: 0
//   task: {name: linear_regression, d: 20, ...}      task parameters (tasks/*.cpp declare them)
//   eval:
//     prompts: 1280          prompts per evaluation set
//     examples: 40           K, examples per prompt
//     bootstrap: 1000        resamples for the 90% interval
//     batch_size: 256        prompts generated at a time (memory only; results do not depend on it)
//     sets:                  named evaluations; each may override task parameters, prompts,
//     examples
//       standard: {}
//       skewed: {task: {x_cov: skewed}}
//       long: {lengths: [40, 64, 128, 256]}   token tasks (parity, ...): the prompt lengths the
//                            curve is drawn at, a list or {start, end, step}; required for them
//                            (at eval: or per set), refused for vector tasks
//       fourier: {spectrum: {points: 100, context: 20}}   optional, one-dimensional inputs only:
//                            each predictor's outputs on `points` grid points of [lo, hi) given a
//                            prompt's first `context` examples, DFT amplitude averaged over the
//                            set's first `prompts` prompts (eval/spectrum.h). Keys: points (100),
//                            context (min(20, examples−1)), prompts (min(100, set prompts)),
//                            lo, hi (default ±L for tasks with an L parameter, else required).
//   baselines: [least_squares, {name: ridge, lambda: 0.1, label: "ridge(0.1)"}]
//   model: {name: transformer, n_layer: 3, ...}   optional: a model trained on the task, then
//   train: {...}                                   evaluated next to the baselines (train_config.h)
//
// Overrides (`--set eval.prompts=64`, `--set baselines.1.lambda=1`) edit this tree before
// validation, so they are checked exactly like the file.
#include <yaml-cpp/yaml.h>

#include "eval/evaluate.h"  // SpectrumConfig
#include "models/model.h"
#include "train/train_config.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace icl {

using RawParams = std::map<std::string, std::string>;

struct ComponentConfig {  // a task or a baseline: registry name + raw parameters
  std::string name;
  std::string label;  // baselines only; "" = derived
  RawParams params;
};

struct EvalSetConfig {
  std::string name;
  ComponentConfig task;  // the benchmark's task with this set's overrides applied
  int64_t prompts = 0;
  int64_t examples = 0;
  std::vector<int64_t> lengths;  // token tasks: the curve's x-axis (examples then unused)
  SpectrumConfig spectrum;
};

struct BenchmarkConfig {
  std::string name;    // "garg2022/linear_regression_baselines"
  std::string source;  // file it came from
  std::string description;
  uint64_t seed = 0;
  ComponentConfig task;
  int64_t bootstrap = 1000;
  int64_t batch_size = 256;
  std::vector<EvalSetConfig> evals;
  std::vector<ComponentConfig> baselines;
  bool has_model = false;
  ComponentConfig model;
  TrainConfig train;

  // Bandit benchmarks (docs/TASKS.md §7) instead of task/eval/baselines:
  //   bandit: {setup: lin, horizon: 200, ...}   environments (tasks/linear_bandit.h)
  //   rollout: {environments: 200, model_actions: greedy}   (or sample: from the model's softmax)
  //   policies: [linucb, {name: thompson, noise_std: 1.5}, random]
  //   model: {...}, train: {...}                optional: pretrained on bandit histories and rolled
  //   task: {name: bandit_imitation, expert: linucb}   out next to the policies; the task (this
  //                                             default) takes arms, dim, noise_std from bandit:
  bool bandit = false;
  RawParams bandit_params;
  int64_t environments = 200;
  std::string model_actions = "greedy";  // rollout.model_actions: greedy | sample (its softmax)
  std::vector<ComponentConfig> policies;
};

// Where named benchmarks live: $ICL_CONFIGS, else the source tree's configs/.
std::string config_dir();
// Every benchmark name under config_dir(), sorted.
std::vector<std::string> list_benchmarks();
// A benchmark name ("quickstart") or a path to a .yaml file.
std::string resolve_benchmark_path(const std::string& name_or_path, std::string* name);

// Applies "a.b.c=value" to the tree (value parsed as YAML). icl::Error on a malformed override.
void apply_override(YAML::Node& root, const std::string& assignment);

// A key given twice anywhere in the tree (yaml-cpp keeps both) is an icl::Error naming the field
// and both lines; `source` names the file. load_benchmark applies it before the overrides.
void refuse_duplicate_keys(const YAML::Node& root, const std::string& source);

// Loads, applies overrides, validates the structure and every task/baseline parameter.
BenchmarkConfig load_benchmark(const std::string& name_or_path,
                               const std::vector<std::string>& overrides = {});
BenchmarkConfig parse_benchmark(const YAML::Node& root, const std::string& name,
                                const std::string& source);

// The inputs a model for `task` sees (dx, dy from one sampled prompt) with prompts up to
// max_examples; for a token task, its vocabulary and the tokens of its longest prompt (max_examples
// read as a length, or the task's max_length if longer).
ModelIO model_io(const ComponentConfig& task, int64_t max_examples);
// The longest prompt a config's model meets: examples (or lengths) of every evaluation set and of
// training, including the ends of a curriculum on max_length.
int64_t longest_prompt(const BenchmarkConfig& cfg);

// Reads a map of scalars as raw parameters ("task.d: expected a scalar, got a map").
RawParams scalar_map(const YAML::Node& node, const std::string& where,
                     const std::vector<std::string>& skip = {});

}  // namespace icl

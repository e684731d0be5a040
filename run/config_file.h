#pragma once
// Benchmark config files as YAML trees: where named benchmarks live, overrides (`--set a.b=v`),
// duplicate keys, and the small readers the run layer builds its sections with. This is text
// handling only; run/resolved_run.h turns a tree into a ResolvedRun, and nothing outside run/
// reads config text.
//
// The layout of a config file (every key with its default: `icl list -v`, sections):
//   description: one line for `icl list`
//   seed: 0
//   task: {name: linear_regression, d: 20, ...}      task parameters (tasks/*.cpp declare them)
//   eval:                    (run/sections.h)
//     prompts: 1280          prompts per evaluation set
//     examples: 40           K, examples per prompt
//     bootstrap: 1000        resamples for the 90% interval
//     batch_size: 256        prompts generated at a time (memory only; results do not depend on it)
//     sets:                  named evaluations; each may override task parameters, prompts,
//                            examples
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
//       akyurek: {prediction_difference: true}   every pair of predictors' squared prediction
//                            difference per k (accuracy tasks: sign disagreement), written to
//                            /eval/<set>/<p>/difference/<q>; eval.prediction_difference sets the
//                            default of every set
//   baselines: [least_squares, {name: ridge, lambda: 0.1, label: "ridge(0.1)"}]
//   model: {name: transformer, n_layer: 3, ...}   optional: a model trained on the task, then
//   train: {...}                                   evaluated next to the baselines (train_config.h)
//
// Bandit benchmarks (docs/TASKS.md §7) instead of task/eval/baselines:
//   bandit: {setup: lin, horizon: 200, ...}   environments (tasks/linear_bandit.h)
//   rollout: {environments: 200, model_actions: greedy}   (or sample: from the model's softmax)
//   policies: [linucb, {name: thompson, noise_std: 1.5}, random]
//   model: {...}, train: {...}                optional: pretrained on bandit histories and rolled
//   task: {...}                               out next to the policies; the task (by default the
//                                             bandit-history task) takes arms, dim, noise_std from
//                                             bandit:
//
// Overrides (`--set eval.prompts=64`, `--set baselines.1.lambda=1`) edit the tree before it is
// resolved, so they are checked exactly like the file.
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/params.h"

namespace icl {

// Where named benchmarks live: $ICL_CONFIGS, else the source tree's configs/.
std::string config_dir();
// Every benchmark name under config_dir(), sorted.
std::vector<std::string> list_benchmarks();
// A benchmark's `description:` line ("" without one, "(not valid YAML)" for a broken file).
std::string benchmark_description(const std::string& name);
// A benchmark name ("quickstart") or a path to a .yaml file.
std::string resolve_benchmark_path(const std::string& name_or_path, std::string* name);

// Applies "a.b.c=value" to the tree (value parsed as YAML). icl::Error on a malformed override.
void apply_override(YAML::Node& root, const std::string& assignment);

// A key given twice anywhere in the tree (yaml-cpp keeps both) is an icl::Error naming the field
// and both lines; `source` names the file. load_config_tree applies it before the overrides.
void refuse_duplicate_keys(const YAML::Node& root, const std::string& source);

// The tree of a benchmark name or file with the overrides applied; *name and *path receive the
// benchmark's name and file.
YAML::Node load_config_tree(const std::string& name_or_path,
                            const std::vector<std::string>& overrides, std::string* name,
                            std::string* path);

// "a map", "a list", "a scalar", "nothing": for messages.
const char* kind_of(const YAML::Node& n);
// A map key as a name (a list or map as a key is an icl::Error naming `where` and the line).
std::string key_name(const YAML::Node& key, const std::string& where);
// Every key of `node` (a map) is one of `allowed`, else an icl::Error listing them.
void check_keys(const YAML::Node& node, const std::string& where,
                const std::vector<std::string>& allowed);
// Reads a map of scalars as raw parameters ("task.d: expected a single value, got a map"); keys in
// `skip` are left out.
RawParams scalar_map(const YAML::Node& node, const std::string& where,
                     const std::vector<std::string>& skip = {});
// One scalar of `parent` parsed and range-checked as an integer, number or string (`def` when
// absent).
double get_real(const YAML::Node& parent, const std::string& key, const std::string& where,
                double def, double lo, double hi);
int64_t get_int(const YAML::Node& parent, const std::string& key, const std::string& where,
                int64_t def, int64_t lo, int64_t hi);
std::string get_string(const YAML::Node& parent, const std::string& key, const std::string& where,
                       const std::string& def);
bool get_bool(const YAML::Node& parent, const std::string& key, const std::string& where, bool def);

}  // namespace icl

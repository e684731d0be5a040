#pragma once
// A benchmark config resolved once: every section parsed from its declaration (train/
// train_config.h, run/sections.h), every task, baseline and bandit policy built and checked, the
// model's inputs and sizes worked out. Everything downstream takes a ResolvedRun, or the narrow
// part it needs (a Task, a TrainConfig, EvalOptions); nothing re-reads config text, and
// build_model() is the one place a model is made.
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "baselines/bandit_policy.h"
#include "baselines/baseline.h"
#include "eval/evaluate.h"
#include "models/model.h"
#include "run/sections.h"
#include "tasks/linear_bandit.h"
#include "tasks/task.h"
#include "train/train_config.h"

namespace icl {

// One named evaluation: its task (the benchmark's, with the set's overrides), its sizes and its
// optional spectrum measurement.
struct EvalSet {
  std::string name;
  std::shared_ptr<const Task> task;
  int64_t prompts = 0, examples = 0;
  std::vector<int64_t> lengths;        // token tasks: the curve's x-axis (examples then unused)
  SpectrumConfig spectrum;             // points = 0: none
  bool prediction_difference = false;  // vector tasks: every pair's SPD (eval/evaluate.h)
};

// The model a run trains: registry name, resolved parameters and the inputs it is built for.
struct ModelSpec {
  std::string name;
  ParamSet params;
  ModelIO io;
};

// A bandit benchmark's environments, rollout, policies, and the sets its model is scored on
// offline (logged trajectories of the clean expert, and of the optimal arm).
struct BanditRun {
  BanditSetup setup;
  RolloutConfig rollout;
  std::vector<BanditPolicySpec> policies;
  std::vector<std::pair<std::string, std::shared_ptr<const Task>>> offline;
};

// One model of a config with train.replicas (run/replicas.h): the single run at this seed and
// learning rate.
struct Replica {
  uint64_t seed = 0;
  double lr = 0.0;
  std::string lr_text;  // the entry of train.replica_lrs as given ("" when the list is not given)
};

// train.replicas, replica_seeds and replica_lrs resolved: one entry per replica, or none for a
// config that is one run (no replica key, or replicas: 1 without lists).
struct Replicas {
  std::vector<Replica> runs;
  // The replica keys the config gives (set to something other than null), e.g. {"replicas",
  // "replica_lrs"}: what a command line turns off to run one replica alone.
  std::vector<std::string> keys;
  bool by_lr() const { return !runs.empty() && !runs.front().lr_text.empty(); }
};

struct ResolvedRun {
  std::string name;    // "garg2022/linear_regression_baselines"
  std::string source;  // the file it came from
  std::string description;
  uint64_t seed = 0;
  std::shared_ptr<const Task> task;  // the benchmark's task: what the model trains on
  EvalDefaults eval;                 // bootstrap and batch_size; the sets took prompts/examples
  std::vector<EvalSet> evals;        // empty for bandit benchmarks
  std::vector<std::shared_ptr<const Baseline>> baselines;
  std::optional<ModelSpec> model;  // a model trained on the task, then evaluated
  TrainConfig train;               // meaningful with a model
  std::optional<BanditRun> bandit;
  Replicas replicas;  // train.replicas: empty for one run; else replica_runs() gives the runs

  bool has_model() const { return model.has_value(); }
  // The model, untrained and uninitialised: the one place a model is made.
  std::unique_ptr<Model> build_model() const;
  // The config with every default filled in, as YAML text (the root attribute `config`).
  std::string yaml() const;
  // How evaluation set `s` is evaluated.
  EvalOptions eval_options(const EvalSet& s) const;
  // A bandit run's model scored offline: environments trajectories of the horizon.
  EvalOptions offline_eval_options() const;
};

// A benchmark name or .yaml path, with `--set` overrides applied before anything is checked.
ResolvedRun load_run(const std::string& name_or_path,
                     const std::vector<std::string>& overrides = {});
// A config tree (a file's, or the `config` attribute of a results file); `name` and `source` name
// it in the result and in errors.
ResolvedRun resolve_run(const YAML::Node& root, const std::string& name, const std::string& source);

// The single runs of a config with train.replicas, in order: replica i resolved from the same tree
// with `seed` and `train.lr` set to its own and the replica keys removed, so it is exactly the run
// `icl run CONFIG --seed S --set train.lr=LR` makes (its file records that run's config). Empty
// for a config without replicas.
std::vector<ResolvedRun> replica_runs(const std::string& name_or_path,
                                      const std::vector<std::string>& overrides = {});
std::vector<ResolvedRun> replica_runs(const YAML::Node& root, const std::string& name,
                                      const std::string& source);

// A task from a registry name and raw parameters (`icl generate --task`, `icl eval --task`):
// `where` prefixes errors. The run layer's one door to make_task for the command line.
std::shared_ptr<const Task> resolve_task(const std::string& name,
                                         const std::map<std::string, std::string>& raw,
                                         const std::string& where);

// Resolved parameters as the raw values that resolve to them again (`icl eval` starts from the
// run's task and applies --set on top).
std::map<std::string, std::string> raw_params(const ParamSet& params);

// The raw parameters of an evaluation of task `task_name`: `inherited` (those of the run's task,
// which it trains on) without the ones the task declares training-only (ParamSpec::training_only:
// Boolean label noise, so evaluation is on clean labels as in the reference's eval script) and
// without those task `task_name` does not declare (a ReLU-net run's linear-regression set keeps d,
// not hidden), then `given`, the evaluation's own settings, which may set them explicitly.
RawParams evaluation_params(const std::string& task_name, RawParams inherited,
                            const RawParams& given);

// The run's task as evaluated: its training-only parameters back at their defaults (the task
// itself when none is set). What train_eval scores (run/training.h).
std::shared_ptr<const Task> evaluation_task(const std::shared_ptr<const Task>& task);

// The same task with some integer parameters replaced (a curriculum's values at a step).
std::unique_ptr<Task> with_params(const Task& task, const std::map<std::string, int64_t>& values);

}  // namespace icl

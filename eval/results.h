#pragma once
// results.h5 writer (layout in docs/DESIGN.md, "results.h5") and the terminal summary table.
#include <string>
#include <vector>

#include "eval/bandit_rollout.h"
#include "eval/evaluate.h"
#include "io/atomic_output.h"

namespace icl {

struct RunInfo {
  std::string benchmark;  // name, or "" for ad-hoc runs
  uint64_t seed = 0;
  std::string config;  // resolved YAML text
  std::string device = "cpu";
  // One line per --resume: the step, the source and what changed (allowed or --force); "" when the
  // run was never resumed.
  std::string resume_log;
};

// Root attributes: iclbench_version, git_commit, created, seed, config, benchmark, device,
// build_isa, and resume_log when the run was resumed.
void write_run_attrs(hid_t root, const RunInfo& info);
void write_params(hid_t obj, const ParamSet& params);
// /eval/<name>/{n_examples, <predictor>/{mean,lo,hi}} with attrs (metric, normalisation, task,
// ...); token evaluations write /eval/<name>/length instead of n_examples, and attrs answers (|Y|)
// and chance (0: the scaled accuracy of guessing). Further metrics of a curve (the maze task's
// exact_path, valid_path) go to /eval/<name>/<predictor>/<metric>/{mean,lo,hi}, listed in the
// attr extra_metrics of /eval/<name>. With prediction differences (attr prediction_difference of
// /eval/<name>: squared_difference or sign_disagreement), /eval/<name>/<p>/difference/<q>/
// {mean,lo,hi} for every other predictor q.
void write_eval(hid_t root, const EvalResult& r);
// /bandit/step [T] (1..T) and /bandit/<policy>/{mean,sem} [T], the cumulative regret after each
// step over the environments; attrs of /bandit: metric "cumulative_regret", the setup's
// parameters and the number of environments.
void write_regret(hid_t root, const BanditSetup& setup, int64_t environments,
                  const std::vector<RegretCurve>& curves);
// The summary printed after a bandit run: cumulative regret (mean ± SEM) at a few steps.
std::string regret_table(const BanditSetup& setup, int64_t environments,
                         const std::vector<RegretCurve>& curves);

// Writes a complete results file atomically.
void write_results(AtomicH5Output& out, const RunInfo& info, const std::vector<EvalResult>& evals);

// "metric at n examples" table: one row per predictor, a few columns of context length (token
// evaluations: of sequence length; `columns` then index r.lengths).
std::string summary_table(const EvalResult& r, const std::vector<int64_t>& columns = {});

}  // namespace icl

#pragma once
// Runs a resolved benchmark: trains its model (if any), then every evaluation set on its own prompt
// stream (eval/streams.h) with every baseline on the same prompts, into one results.h5.
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "eval/bandit_rollout.h"
#include "eval/evaluate.h"
#include "io/atomic_output.h"
#include "run/resolved_run.h"

namespace icl {

struct BenchmarkResult {
  std::vector<EvalResult> evals;    // empty when training stopped early (--until)
  std::vector<RegretCurve> regret;  // bandit benchmarks: one curve per policy
  int64_t trained_steps = 0;        // 0 without a model
  std::string checkpoint_path;      // where the checkpoints went ("" without a model)
  bool stopped_early = false;       // --until: the checkpoint is the result, nothing evaluated
  double final_loss = 0.0;
  // The last periodic evaluation during training (/train/eval_error; token tasks: the scaled
  // accuracy), NaN without one.
  double final_eval = std::numeric_limits<double>::quiet_NaN();
  double seconds = 0.0;
};

struct RunOptions {
  bool progress = true;
  std::string resume;  // results file whose checkpoint to continue from ("" = start fresh)
  int64_t until = 0;   // stop training after this many steps (0 = train.steps), skip evaluation
  std::string device = "cpu";  // auto|cpu|cuda: where the model trains and is evaluated (CLI: auto)
  // Where checkpoints are written while training ("" = out.path()); the CLI points them beside
  // the run file while that holds another run (README, "Output files, resume and interruption").
  std::string checkpoint_to;
  std::string resume_log;  // the run's resume history, recorded as the root attribute resume_log
  // Called once everything is set up (model built, checkpoint loaded) and work begins: the place
  // for a header line, so that a setup error remains the only message.
  std::function<void()> on_start;
  // Called after every training step with the steps done (train.replicas: one progress line for
  // all its models, each run's own line off).
  std::function<void(int64_t)> on_step;
};

// Trains the run's model (if any), checkpointing into opt.checkpoint_to as it goes, then
// evaluates the model and the baselines on every evaluation set and writes everything into `out`,
// which it commits. Open `out` before calling, so that a bad path fails before any work.
BenchmarkResult run_benchmark(const ResolvedRun& run, AtomicH5Output& out,
                              const RunOptions& opt = {});

}  // namespace icl

#include "run/run_benchmark.h"

#include <chrono>

#include "core/device.h"
#include "core/interrupt.h"
#include "core/progress.h"
#include "eval/bandit_model_policy.h"
#include "eval/bandit_rollout.h"
#include "eval/results.h"
#include "eval/spectrum.h"
#include "eval/streams.h"
#include "models/model_predictor.h"
#include "run/training.h"
#include "train/checkpoint.h"
#include "train/checkpoint_file.h"
#include "train/layer_stats.h"
#include "train/trainer.h"

namespace icl {

// Trains `model` from `state` (fresh or resumed) to the config's last step or --until, with
// checkpoints written as it goes into opt.checkpoint_to (the run file, or the ".partial.h5" beside
// it while the run file holds another run: README, "Output files, resume and interruption").
// Returns true when it stopped early (--until): the checkpoint is then the run's result. SIGINT or
// SIGTERM during training stop it at the next step boundary with a checkpoint, and end the run
// with Interrupted.
static bool train_model(const ResolvedRun& run, Model& model, TrainState& state,
                        AtomicH5Output& out, const RunInfo& info, const RunOptions& opt,
                        BenchmarkResult& res) {
  const int64_t until = opt.until > 0 ? std::min(opt.until, run.train.steps) : run.train.steps;
  if (state.step > until)
    fail("cannot resume: the checkpoint is at step {}, past the requested {}", state.step, until);
  const std::string dest = opt.checkpoint_to.empty() ? out.path() : opt.checkpoint_to;
  res.checkpoint_path = dest;
  int64_t saved = -1;
  // One CheckpointFile for the whole of training (train/checkpoint_file.h): the first save writes
  // the file whole, later ones append to it. Shared, since Trainer::run takes a copy of the lambda.
  const auto save = [&, file = std::make_shared<CheckpointFile>(dest, [&](hid_t root) {
                          write_run_attrs(root, info);
                        })](const TrainState& s) {
    model.parameters().to_host();
    file->save(model, s, run.seed);
    saved = s.step;
  };
  {
    // From the header line on, a signal stops training at a step boundary with a checkpoint.
    const interrupt::Deferral defer;
    layer_stats_blocks(run.train.layer_stats_every, model);  // refused before the header line
    if (opt.on_start) opt.on_start();
    CurriculumPrompts prompts(*run.task, run.train, training_stream(run));
    Trainer(run.train, model, prompts, train_eval(run, model))
        .run(state, until, save, opt.progress, opt.on_step);
  }
  res.trained_steps = state.step;
  res.final_loss = state.log.loss.empty() ? 0.0 : state.log.loss.back();
  if (!state.log.eval_error.empty()) res.final_eval = state.log.eval_error.back();
  if (const int sig = interrupt::requested()) {
    if (saved != state.step) save(state);
    throw Interrupted(sig,
                      fmt::format("interrupted by {} at step {}; checkpoint saved in {} "
                                  "(continue with --resume {})",
                                  sig == SIGINT ? "SIGINT" : "SIGTERM", state.step, dest, dest));
  }
  if (until == run.train.steps) return false;
  if (saved != state.step) save(state);  // --until at the step the resumed checkpoint holds
  res.stopped_early = true;
  return true;
}

// The run's attributes, its model's training log and final checkpoint (when it has a model) and its
// evaluations, then the file committed: the end of every run.
static void commit_results(AtomicH5Output& out, const RunInfo& info, const Model* model,
                           const TrainState& state, uint64_t seed,
                           const std::vector<EvalResult>& evals) {
  write_run_attrs(out.root(), info);
  if (model) {
    write_train_log(out.root(), state.log);
    write_checkpoint(out.root(), *model, state, seed);
  }
  for (const auto& e : evals) write_eval(out.root(), e);
  out.commit();
}

// Every policy rolled out on the same environments and reward noise (eval/bandit_rollout.h); a
// model, when the config has one, is first pretrained on bandit histories (checkpointed as any
// model), then rolled out after the policies and scored offline on logged trajectories: its
// action's agreement with the task's labels (set "offline") and with the optimal arm
// ("offline_optimal"), each on `environments` fresh trajectories of the horizon.
static BenchmarkResult run_bandit(const ResolvedRun& run, AtomicH5Output& out,
                                  const RunOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  RunInfo info;
  info.benchmark = run.name;
  info.seed = run.seed;
  info.config = run.yaml();
  info.resume_log = opt.resume_log;
  const BanditRun& bandit = *run.bandit;
  BenchmarkResult res;
  std::unique_ptr<Model> model;
  TrainState state;
  if (run.has_model()) {
    // The model's rollout reads the history on the host step by step; no GPU path is built yet.
    if (opt.device == "cuda")
      fail("device cuda: bandit models train and act on the CPU only for now; use --device cpu");
    model = run.build_model();
    model->init(run.seed);
    if (!opt.resume.empty()) read_checkpoint(opt.resume, *model, state);
    if (train_model(run, *model, state, out, info, opt, res)) {
      res.seconds = seconds();
      return res;
    }
  } else if (opt.on_start) {
    opt.on_start();
  }
  const int64_t environments = bandit.rollout.environments;
  const RolloutOptions ro{environments, environments};
  Progress bar("rollout", int64_t(bandit.policies.size()) + (model ? 1 : 0), "policies");
  for (const auto& spec : bandit.policies) {
    res.regret.push_back(rollout(bandit.setup, bandit_stream(run.seed), spec, ro));
    if (opt.progress) bar.update(int64_t(res.regret.size()), spec.label);
  }
  if (model) {
    ModelPolicy policy(*model, model->name(), bandit.rollout.model_actions == "sample",
                       bandit_stream(run.seed));
    res.regret.push_back(rollout(bandit.setup, bandit_stream(run.seed), policy, ro));
    if (opt.progress) bar.update(int64_t(res.regret.size()), policy.label());
  }
  if (opt.progress) bar.finish();
  if (model) {
    const ModelPredictor predictor(*model, model->name());
    EvalOptions eo = run.offline_eval_options();
    eo.progress = opt.progress;
    for (const auto& [set, task] : bandit.offline)
      res.evals.push_back(evaluate(set, *task, {&predictor}, eval_stream(run.seed, set), eo));
  }
  write_regret(out.root(), bandit.setup, environments, res.regret);
  commit_results(out, info, model.get(), state, run.seed, res.evals);
  res.seconds = seconds();
  return res;
}

BenchmarkResult run_benchmark(const ResolvedRun& run, AtomicH5Output& out, const RunOptions& opt) {
  if (run.bandit) return run_bandit(run, out, opt);
  const auto t0 = std::chrono::steady_clock::now();
  RunInfo info;
  info.benchmark = run.name;
  info.seed = run.seed;
  info.config = run.yaml();
  info.resume_log = opt.resume_log;

  std::vector<const Predictor*> predictors;
  // Declared before the model, so the GPU outlives the parameters that live on it.
  std::unique_ptr<CudaContext> gpu;
  std::unique_ptr<Model> model;
  std::unique_ptr<ModelPredictor> model_predictor;
  TrainState state;
  BenchmarkResult res;
  const auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };

  if (run.has_model()) {
    gpu = open_device(opt.device, run.train.precision == "tf32");
    if (gpu) info.device = fmt::format("{} ({})", gpu->name(), run.train.precision);
    model = run.build_model();
    model->init(run.seed);
    if (!opt.resume.empty()) read_checkpoint(opt.resume, *model, state);
    if (gpu) model->parameters().to_device(*gpu);
    if (train_model(run, *model, state, out, info, opt, res)) {
      res.seconds = seconds();
      return res;
    }
    model_predictor = std::make_unique<ModelPredictor>(*model, model->name());
    predictors.push_back(model_predictor.get());
  }
  if (!model && opt.on_start) opt.on_start();
  for (const auto& b : run.baselines) predictors.push_back(b.get());
  for (const auto& s : run.evals) {
    EvalOptions eo = run.eval_options(s);
    eo.progress = opt.progress;
    res.evals.push_back(evaluate(s.name, *s.task, predictors, eval_stream(run.seed, s.name), eo));
    if (s.spectrum.points > 0) {
      EvalResult& r = res.evals.back();
      r.spectrum = s.spectrum;
      const auto spectra = prediction_spectra(*s.task, predictors, eval_stream(run.seed, s.name),
                                              s.spectrum, run.eval.batch_size);
      for (size_t i = 0; i < spectra.size(); ++i) r.curves[i].spectrum = spectra[i];
    }
  }
  commit_results(out, info, model.get(), state, run.seed, res.evals);
  res.seconds = seconds();
  return res;
}

}  // namespace icl

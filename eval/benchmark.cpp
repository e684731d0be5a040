#include "eval/benchmark.h"

#include <yaml-cpp/yaml.h>

#include <chrono>

#include "baselines/baseline.h"
#include "core/device.h"
#include "core/interrupt.h"
#include "core/progress.h"
#include "eval/bandit_model_policy.h"
#include "eval/bandit_rollout.h"
#include "eval/results.h"
#include "eval/spectrum.h"
#include "models/model_predictor.h"
#include "train/checkpoint.h"
#include "train/checkpoint_file.h"
#include "train/trainer.h"

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

// The model and train sections, every default filled in.
static void model_nodes(const BenchmarkConfig& cfg, YAML::Node& root) {
  const ModelInfo& info = find_model(cfg.model.name);
  root["model"] =
      params_node(cfg.model.name, resolve_params(info.params, cfg.model.params, "model"));
  const TrainConfig& t = cfg.train;
  YAML::Node tn;
  tn["steps"] = t.steps;
  tn["batch_size"] = t.batch_size;
  tn["lr"] = t.schedule.lr;
  tn["schedule"] = t.schedule.kind;
  tn["warmup"] = t.schedule.warmup;
  tn["min_lr_ratio"] = t.schedule.min_ratio;
  tn["weight_decay"] = t.weight_decay;
  tn["beta1"] = t.beta1;
  tn["beta2"] = t.beta2;
  tn["eps"] = t.eps;
  tn["grad_clip"] = t.grad_clip;
  const bool dims = make_task(cfg.task.name, cfg.task.params)->params().has("active_dims");
  std::vector<std::pair<std::string, Ramp>> ramps{{"dims", t.dims}, {"points", t.points}};
  ramps.insert(ramps.end(), t.task_ramps.begin(), t.task_ramps.end());
  for (const auto& [key, r] : ramps) {
    if (key == "dims" && !dims) continue;
    tn["curriculum"][key]["start"] = r.start;
    tn["curriculum"][key]["end"] = r.end;
    tn["curriculum"][key]["inc"] = r.inc;
    tn["curriculum"][key]["every"] = r.every;
  }
  tn["eval_every"] = t.eval_every;
  tn["eval_prompts"] = t.eval_prompts;
  tn["checkpoint_every"] = t.checkpoint_every;
  tn["precision"] = t.precision;
  root["train"] = tn;
}

std::string resolved_config_yaml(const BenchmarkConfig& cfg) {
  YAML::Node root;
  root["benchmark"] = cfg.name;
  root["description"] = cfg.description;
  root["seed"] = cfg.seed;
  if (cfg.bandit) {
    const BanditSetup b = make_bandit_setup(cfg.bandit_params);
    root["bandit"]["setup"] = b.kind;
    root["bandit"]["arms"] = b.arms;
    root["bandit"]["dim"] = b.dim;
    root["bandit"]["horizon"] = b.horizon;
    root["bandit"]["noise_std"] = b.noise;
    root["rollout"]["environments"] = cfg.environments;
    for (const auto& p : cfg.policies) {
      YAML::Node pn = params_node(p.name, make_bandit_policy(p.name, p.params).params);
      pn["label"] = p.label;
      root["policies"].push_back(pn);
    }
    if (cfg.has_model) {
      root["rollout"]["model_actions"] = cfg.model_actions;
      root["task"] =
          params_node(cfg.task.name, make_task(cfg.task.name, cfg.task.params)->params());
      model_nodes(cfg, root);
    }
    YAML::Emitter e;
    e << root;
    return e.c_str();
  }
  root["task"] = params_node(cfg.task.name, make_task(cfg.task.name, cfg.task.params)->params());
  YAML::Node ev;
  ev["bootstrap"] = cfg.bootstrap;
  ev["batch_size"] = cfg.batch_size;
  for (const auto& s : cfg.evals) {
    YAML::Node sn;
    sn["prompts"] = s.prompts;
    if (s.lengths.empty())
      sn["examples"] = s.examples;
    else
      for (int64_t L : s.lengths) sn["lengths"].push_back(L);
    sn["task"] = params_node(s.task.name, make_task(s.task.name, s.task.params)->params());
    if (s.spectrum.points > 0) {
      sn["spectrum"]["points"] = s.spectrum.points;
      sn["spectrum"]["context"] = s.spectrum.context;
      sn["spectrum"]["prompts"] = s.spectrum.prompts;
      sn["spectrum"]["lo"] = s.spectrum.lo;
      sn["spectrum"]["hi"] = s.spectrum.hi;
    }
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
  if (cfg.has_model) model_nodes(cfg, root);
  YAML::Emitter e;
  e << root;
  return e.c_str();
}

RngKey bandit_stream(uint64_t seed) { return {seed, stream_id("bandit")}; }

EvalOptions eval_options(const BenchmarkConfig& cfg, const EvalSetConfig& s) {
  EvalOptions eo;
  eo.prompts = s.prompts;
  eo.examples = s.examples;
  eo.lengths = s.lengths;
  eo.batch_size = cfg.batch_size;
  eo.bootstrap = cfg.bootstrap;
  return eo;
}

EvalOptions offline_eval_options(const BenchmarkConfig& cfg, const BanditSetup& setup) {
  EvalOptions eo;
  eo.prompts = cfg.environments;
  eo.examples = setup.horizon;
  eo.batch_size = cfg.batch_size;
  eo.bootstrap = cfg.bootstrap;
  return eo;
}

// Trains `model` from `state` (fresh or resumed) to the config's last step or --until, with
// checkpoints written as it goes into opt.checkpoint_to (the run file, or the ".partial.h5" beside
// it while the run file holds another run: README, "Output files, resume and interruption").
// Returns true when it stopped early (--until): the checkpoint is then the run's result. SIGINT or
// SIGTERM during training stop it at the next step boundary with a checkpoint, and end the run
// with Interrupted.
static bool train_model(const BenchmarkConfig& cfg, Model& model, TrainState& state,
                        AtomicH5Output& out, const RunInfo& info, const RunOptions& opt,
                        BenchmarkResult& res) {
  const int64_t until = opt.until > 0 ? std::min(opt.until, cfg.train.steps) : cfg.train.steps;
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
    file->save(model, s, cfg.seed);
    saved = s.step;
  };
  {
    // From the header line on, a signal stops training at a step boundary with a checkpoint.
    const interrupt::Deferral defer;
    if (opt.on_start) opt.on_start();
    Trainer(cfg, model).run(state, until, save, opt.progress);
  }
  res.trained_steps = state.step;
  res.final_loss = state.log.loss.empty() ? 0.0 : state.log.loss.back();
  if (const int sig = interrupt::requested()) {
    if (saved != state.step) save(state);
    throw Interrupted(sig,
                      fmt::format("interrupted by {} at step {}; checkpoint saved in {} "
                                  "(continue with --resume {})",
                                  sig == SIGINT ? "SIGINT" : "SIGTERM", state.step, dest, dest));
  }
  if (until == cfg.train.steps) return false;
  if (saved != state.step) save(state);  // --until at the step the resumed checkpoint holds
  res.stopped_early = true;
  return true;
}

// Every policy rolled out on the same environments and reward noise (eval/bandit_rollout.h); a
// model, when the config has one, is first pretrained on bandit histories (checkpointed as any
// model), then rolled out after the policies and scored offline on logged trajectories: its
// action's agreement with the task's labels (set "offline") and with the optimal arm
// ("offline_optimal"), each on `environments` fresh trajectories of the horizon.
static BenchmarkResult run_bandit(const BenchmarkConfig& cfg, AtomicH5Output& out,
                                  const RunOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  RunInfo info;
  info.benchmark = cfg.name;
  info.seed = cfg.seed;
  info.config = resolved_config_yaml(cfg);
  info.resume_log = opt.resume_log;
  const BanditSetup setup = make_bandit_setup(cfg.bandit_params);
  BenchmarkResult res;
  std::unique_ptr<Model> model;
  TrainState state;
  if (cfg.has_model) {
    // The model's rollout reads the history on the host step by step; no GPU path is built yet.
    if (opt.device == "cuda")
      fail("device cuda: bandit models train and act on the CPU only for now; use --device cpu");
    model = make_model(cfg.model.name, cfg.model.params, model_io(cfg.task, longest_prompt(cfg)));
    model->init(cfg.seed);
    if (!opt.resume.empty()) read_checkpoint(opt.resume, *model, state);
    if (train_model(cfg, *model, state, out, info, opt, res)) {
      res.seconds = seconds();
      return res;
    }
  } else if (opt.on_start) {
    opt.on_start();
  }
  const RolloutOptions ro{cfg.environments, cfg.environments};
  Progress bar("rollout", int64_t(cfg.policies.size()) + (model ? 1 : 0), "policies");
  for (const auto& p : cfg.policies) {
    const BanditPolicySpec spec = make_bandit_policy(p.name, p.params, p.label);
    res.regret.push_back(rollout(setup, bandit_stream(cfg.seed), spec, ro));
    if (opt.progress) bar.update(int64_t(res.regret.size()), spec.label);
  }
  if (model) {
    ModelPolicy policy(*model, model->name(), cfg.model_actions == "sample",
                       bandit_stream(cfg.seed));
    res.regret.push_back(rollout(setup, bandit_stream(cfg.seed), policy, ro));
    if (opt.progress) bar.update(int64_t(res.regret.size()), policy.label());
  }
  if (opt.progress) bar.finish();
  if (model) {
    const ModelPredictor predictor(*model, model->name());
    EvalOptions eo = offline_eval_options(cfg, setup);
    eo.progress = opt.progress;
    // Logged trajectories of the clean expert, whatever perturbation the training data had.
    RawParams logged = cfg.task.params;
    if (logged.count("expert_noise")) logged["expert_noise"] = "0";
    RawParams optimal = logged;
    optimal["label"] = "optimal";
    for (const auto& [set, params] : std::vector<std::pair<std::string, RawParams>>{
             {"offline", logged}, {"offline_optimal", optimal}}) {
      const auto task = make_task(cfg.task.name, params, "task");
      res.evals.push_back(evaluate(set, *task, {&predictor}, eval_stream(cfg.seed, set), eo));
    }
  }
  write_run_attrs(out.root(), info);
  write_regret(out.root(), setup, cfg.environments, res.regret);
  if (model) {
    write_train_log(out.root(), state.log);
    write_checkpoint(out.root(), *model, state, cfg.seed);
    for (const auto& e : res.evals) write_eval(out.root(), e);
  }
  out.commit();
  res.seconds = seconds();
  return res;
}

BenchmarkResult run_benchmark(const BenchmarkConfig& cfg, AtomicH5Output& out,
                              const RunOptions& opt) {
  if (cfg.bandit) return run_bandit(cfg, out, opt);
  const auto t0 = std::chrono::steady_clock::now();
  RunInfo info;
  info.benchmark = cfg.name;
  info.seed = cfg.seed;
  info.config = resolved_config_yaml(cfg);
  info.resume_log = opt.resume_log;

  std::vector<std::unique_ptr<Baseline>> baselines;
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

  if (cfg.has_model) {
    gpu = open_device(opt.device, cfg.train.precision == "tf32");
    if (gpu) info.device = fmt::format("{} ({})", gpu->name(), cfg.train.precision);
    model = make_model(cfg.model.name, cfg.model.params, model_io(cfg.task, longest_prompt(cfg)));
    model->init(cfg.seed);
    if (!opt.resume.empty()) read_checkpoint(opt.resume, *model, state);
    if (gpu) model->parameters().to_device(*gpu);
    if (train_model(cfg, *model, state, out, info, opt, res)) {
      res.seconds = seconds();
      return res;
    }
    model_predictor = std::make_unique<ModelPredictor>(*model, model->name());
    predictors.push_back(model_predictor.get());
  }
  if (!model && opt.on_start) opt.on_start();
  for (const auto& b : cfg.baselines) {
    baselines.push_back(make_baseline(b.name, b.params, b.label));
    predictors.push_back(baselines.back().get());
  }
  for (const auto& s : cfg.evals) {
    const auto task = make_task(s.task.name, s.task.params, "eval.sets." + s.name + ".task");
    EvalOptions eo = eval_options(cfg, s);
    eo.progress = opt.progress;
    res.evals.push_back(evaluate(s.name, *task, predictors, eval_stream(cfg.seed, s.name), eo));
    if (s.spectrum.points > 0) {
      EvalResult& r = res.evals.back();
      r.spectrum = s.spectrum;
      const auto spectra = prediction_spectra(*task, predictors, eval_stream(cfg.seed, s.name),
                                              s.spectrum, cfg.batch_size);
      for (size_t i = 0; i < spectra.size(); ++i) r.curves[i].spectrum = spectra[i];
    }
  }
  write_run_attrs(out.root(), info);
  if (model) {
    write_train_log(out.root(), state.log);
    write_checkpoint(out.root(), *model, state, cfg.seed);
  }
  for (const auto& e : res.evals) write_eval(out.root(), e);
  out.commit();
  res.seconds = seconds();
  return res;
}

}  // namespace icl

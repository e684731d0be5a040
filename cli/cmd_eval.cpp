#include <yaml-cpp/yaml.h>

#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "baselines/baseline.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "core/device.h"
#include "core/error.h"
#include "eval/generate.h"
#include "eval/memory_estimate.h"
#include "eval/results.h"
#include "eval/streams.h"
#include "io/h5.h"
#include "models/model_predictor.h"
#include "run/resolved_run.h"
#include "run/run_file.h"
#include "tasks/token_task.h"
#include "train/checkpoint.h"

namespace icl::cli {

namespace fs = std::filesystem;

int cmd_eval(const Args& args) {
  po::options_description opts("options");
  std::string ckpt, task_name, out, set_name, device;
  std::vector<std::string> sets;
  int64_t prompts = 0, examples = 0;
  opts.add_options()("checkpoint", po::value(&ckpt)->required(), "results file of a training run")(
      "task", po::value(&task_name), "task to evaluate on (default: the run's task)")(
      "set", po::value(&sets)->composing(),
      "task parameter, e.g. --set x_cov=skewed or --set query=orthogonal (repeatable)")(
      "prompts,n", po::value(&prompts), "prompts (default: the run's eval.prompts)")(
      "examples,k", po::value(&examples), "examples per prompt (default: the run's eval.examples)")(
      "name", po::value(&set_name)->default_value("eval"),
      "name of the evaluation set in the output")("out,o", po::value(&out)->required(),
                                                  "results file to write")(
      "device", po::value(&device)->default_value("auto"),
      "where the model runs: auto (a GPU when there is one), cpu or cuda")(
      "per-prompt",
      "also write every prompt's score (per_prompt [prompts, points] beside each "
      "mean), for analyses by prompt");
  add_threads_option(opts);
  po::variables_map vm;
  if (!parse("eval", "--checkpoint RUN.h5 [--task NAME] [--set key=value]... --out FILE.h5",
             "Evaluates the model trained in RUN.h5 on any task configuration (e.g. every "
             "distribution shift) next to the run's baselines, on the same prompts, and writes its "
             "own results file.",
             opts, {}, args, vm))
    return 0;
  apply_threads(vm);

  if (out.empty()) fail("--out: must name a file, got ''");
  if (vm.count("prompts") && prompts < 1) fail("--prompts: must be >= 1, got {}", prompts);
  if (vm.count("examples") && examples < 1) fail("--examples: must be >= 1, got {}", examples);
  // Given but empty is not "the run's task" (that is --task left out): a name must be given.
  if (vm.count("task") && task_name.empty())
    fail("--task: must name a task (see icl list), or be left out for the run's task");
  // The set's name becomes an HDF5 group name: checked now, not after the whole evaluation.
  if (!valid_set_name(set_name))
    fail("--name: must be a non-empty name without '/', got '{}'", set_name);
  {
    std::error_code ec;
    if (fs::equivalent(out, ckpt, ec))
      fail("--out: {} is the checkpoint being evaluated; write the evaluation to another file",
           out);
  }
  // A foreign or older file: one line naming what it lacks (run/run_file.h).
  const RunFile rf = read_run_file(ckpt, "--checkpoint");
  if (rf.checkpoint < 0) fail("--checkpoint: {} holds no checkpoint (not a training run)", ckpt);
  YAML::Node root = rf.config;
  const std::string run_name =
      root["benchmark"] && root["benchmark"].IsScalar() ? root["benchmark"].Scalar() : "";
  root.remove("benchmark");
  const ResolvedRun run = resolve_run(root, run_name, ckpt);
  if (!run.has_model()) fail("eval: the run in {} trained no model", ckpt);

  // The model exactly as trained, then its parameters from the checkpoint.
  auto model = run.build_model();
  TrainState state;
  read_checkpoint(ckpt, *model, state);
  const auto gpu = open_device(device, run.train.precision == "tf32");
  if (gpu) model->parameters().to_device(*gpu);

  // The run's task as its evaluation sets take it (training-only parameters such as label noise
  // at their defaults unless --set gives them), or --task from scratch.
  RawParams raw = task_name.empty() ? raw_params(run.task->params()) : RawParams{};
  if (task_name.empty()) task_name = run.task->name();
  raw = evaluation_params(task_name, raw, parse_assignments(sets));
  const auto task = resolve_task(task_name, raw, task_name);
  EvalOptions eo;
  eo.prompts = prompts > 0 ? prompts : run.evals.front().prompts;
  eo.examples = examples > 0 ? examples : run.evals.front().examples;
  eo.batch_size = run.eval.batch_size;
  eo.bootstrap = run.eval.bootstrap;
  eo.per_prompt = vm.count("per-prompt") > 0;
  if (const TokenTask* tt = as_token_task(*task)) {
    // Token runs are evaluated at the run's lengths; the model bounds the longest.
    if (tt->vocab() != model->io().vocab)
      fail("eval: task {} has a vocabulary of {} tokens, the model was trained on {}", task_name,
           tt->vocab(), model->io().vocab);
    eo.lengths = run.evals.front().lengths;
    // A length for a token task is not an example count: silently ignoring --examples would
    // evaluate at lengths the user did not ask for.
    if (vm.count("examples"))
      fail(
          "--examples: task {} has token prompts, evaluated at the run's lengths ({}); "
          "--examples applies to vector prompts only",
          task_name, fmt::join(eo.lengths, ", "));
  } else {
    if (model->io().vocab > 0)
      fail("eval: task {} has vector prompts, the model was trained on token prompts", task_name);
    if (eo.examples > model->io().max_examples)
      fail("--examples: the model was built for at most {} examples, got {}",
           model->io().max_examples, eo.examples);
    task->check_examples(eo.examples);
    if (model->io().dx != example_dims(task->sample({0, 0}, 0, 1, 1)).dx)
      fail("eval: task {} has inputs of another width than the model was trained on ({})",
           task_name, model->io().dx);
  }

  // The model and the run's baselines on every prompt, checked before the output is opened.
  check_evaluation_memory(
      *task, int64_t(run.baselines.size()) + 1, eo,
      eo.lengths.empty() ? fmt::format("--prompts {} x --examples {}", eo.prompts, eo.examples)
                         : fmt::format("--prompts {} x {} lengths", eo.prompts, eo.lengths.size()));

  AtomicH5Output file(out);
  ModelPredictor mp(*model, model->name());
  std::vector<const Predictor*> predictors = {&mp};
  for (const auto& b : run.baselines) predictors.push_back(b.get());
  const EvalResult r = evaluate(set_name, *task, predictors, eval_stream(run.seed, set_name), eo);
  RunInfo info;
  info.benchmark = run.name;
  info.seed = run.seed;
  info.config = rf.config_text;
  if (gpu) info.device = fmt::format("{} ({})", gpu->name(), run.train.precision);
  write_run_attrs(file.root(), info);
  h5::attr(file.root(), "checkpoint", ckpt);
  h5::attr(file.root(), "checkpoint_step", state.step);
  write_eval(file.root(), r);
  file.commit();
  fmt::print("{}\nwrote {}\n", summary_table(r), out);
  return 0;
}

}  // namespace icl::cli

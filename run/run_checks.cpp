#include "run/run_checks.h"

#include <algorithm>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "core/memory.h"
#include "eval/memory_estimate.h"
#include "eval/streams.h"
#include "models/model.h"
#include "run/training.h"
#include "tasks/check_finite.h"
#include "tasks/token_task.h"

namespace icl {

namespace {

std::string lengths_text(const std::vector<int64_t>& lengths) {
  return lengths.empty() ? "0" : std::to_string(*std::max_element(lengths.begin(), lengths.end()));
}

}  // namespace

namespace {

// The model's parameters and one pass's arena (models/footprint.h), for messages.
struct ModelMemory {
  double parameters = 0;  // scalars
  double parameter_bytes = 0;
  std::string name;
  double step(const ResolvedRun& run, const StepShape& s) const {
    return model_footprint(run.model->name, run.model->params, run.model->io, s).step_bytes();
  }
};

ModelMemory model_memory(const ResolvedRun& run) {
  ModelMemory m;
  m.name = run.model->name;
  m.parameters =
      model_footprint(m.name, run.model->params, run.model->io, StepShape{}).parameter_count();
  m.parameter_bytes = parameter_bytes(m.parameters);
  return m;
}

// "forward passes of eval.batch_size 64 prompts" / "of 40 sequences per prompt (one per query)".
std::string pass_text(const StepShape& s, const EvalOptions& eo, bool queries) {
  return queries ? fmt::format("{} sequences per prompt (one per query)", s.batch)
                 : fmt::format("eval.batch_size {} prompts", eo.batch_size);
}

// A model's part of an evaluation: its parameters and the arena of its largest forward pass.
std::vector<MemoryPart> model_parts(const ResolvedRun& run, const ModelMemory& m, const Task& task,
                                    const EvalOptions& eo) {
  const StepShape s = evaluation_pass(task, eo);
  const bool queries = !as_token_task(task) && prompt_footprint(task, eo.examples, "eval").queries;
  return {
      {m.step(run, s),
       fmt::format("model {}'s forward passes of {}", m.name, pass_text(s, eo, queries))},
      {m.parameter_bytes, fmt::format("its {} parameters", memory::format_count(m.parameters))}};
}

// Training: the model's parameters with their gradients and moments, the training step, and the
// periodic evaluation, whose arena lives beside the trainer's (run/training.cpp).
void check_training_memory(const ResolvedRun& run, const ModelMemory& model) {
  const Task* task = run.task.get();
  // The training step: batch_size prompts of the longest training prompt (a token task pads
  // every batch to its longest length, also at the end of a curriculum on max_length), the
  // model's parameters with their gradients and moments, and the periodic evaluation, whose
  // arena lives beside the trainer's (run/training.cpp).
  const int64_t B = run.train.batch_size;
  StepShape step;
  step.kind = task->prompt_kind();
  step.batch = B;
  step.training = true;
  std::string settings, prompts;
  int64_t batch_bytes = 0;
  if (const TokenTask* tt = as_token_task(*task)) {
    int64_t L = tt->max_length();
    if (const auto it = run.train.task_ramps.find("max_length"); it != run.train.task_ramps.end())
      L = std::max({L, it->second.start, it->second.end});
    settings = fmt::format("train.batch_size {} x task.max_length {}", B, L);
    step.length = tt->seq_len(L);
    batch_bytes = memory::checked_product({B, step.length, 9}, settings);
    prompts = fmt::format("{} ({} tokens each)", tt->name(), step.length);
  } else {
    const int64_t K = std::max<int64_t>(1, run.train.points.end);
    settings = fmt::format("train.batch_size {} x {} examples (train.curriculum.points.end)", B, K);
    step.length = K;
    const PromptFootprint f = prompt_footprint(*task, K, settings);
    batch_bytes = memory::checked_sum(
        {memory::checked_product({B, f.per_prompt}, settings), f.shared}, settings);
    prompts = describe_prompts(*task, f);
  }
  std::vector<MemoryPart> parts = {
      {model.step(run, step), fmt::format("model {}'s training step", model.name)},
      {model.parameter_bytes, fmt::format("its {} parameters with gradients and AdamW moments",
                                          memory::format_count(model.parameters))},
      {double(batch_bytes), "the batch's prompts"}};
  {
    const EvalOptions eo = train_eval_options(run);
    const std::string what =
        fmt::format("the periodic evaluation of train.eval_prompts {} at eval.batch_size {}",
                    eo.prompts, eo.batch_size);
    parts.push_back(
        {double(evaluation_bytes(*task, 1, eo, what)) + model.step(run, evaluation_pass(*task, eo)),
         what});
  }
  double bytes = 0;
  for (const MemoryPart& p : parts) bytes += p.bytes;
  memory::check_fits(memory::to_bytes(bytes),
                     fmt::format("{} of {}: {}", settings, prompts, describe_parts(parts)));
}

}  // namespace

void check_run_memory(const ResolvedRun& run) {
  const int64_t predictors = int64_t(run.baselines.size()) + (run.has_model() ? 1 : 0);
  const std::optional<ModelMemory> model =
      run.has_model() ? std::optional<ModelMemory>(model_memory(run)) : std::nullopt;
  if (model) check_training_memory(run, *model);
  if (model && run.bandit) {
    // The model is scored offline on logged trajectories: environments prompts of the horizon.
    const EvalOptions eo = run.offline_eval_options();
    check_evaluation_memory(
        *run.task, 1, eo,
        fmt::format("rollout.environments {} x bandit.horizon {}", run.bandit->rollout.environments,
                    run.bandit->setup.horizon),
        model_parts(run, *model, *run.task, eo));
  }
  // The evaluation sets, after training: the trainer's memory is gone by then.
  for (const auto& s : run.evals) {
    const Task* task = s.task.get();
    const EvalOptions eo = run.eval_options(s);
    const std::string key = "eval.sets." + s.name;
    const std::string settings =
        s.lengths.empty()
            ? fmt::format("{0}.prompts {1} x {0}.examples {2}", key, s.prompts, s.examples)
            : fmt::format("{0}.prompts {1} x {0}.lengths up to {2}", key, s.prompts,
                          lengths_text(s.lengths));
    check_evaluation_memory(
        *task, predictors, eo, settings,
        model ? model_parts(run, *model, *task, eo) : std::vector<MemoryPart>{});
  }
}

void check_run_prompts(const ResolvedRun& run) {
  for (const auto& s : run.evals) {
    const Task* task = s.task.get();
    if (as_token_task(*task)) continue;  // token ids only: nothing to overflow
    check_finite(task->sample(eval_stream(run.seed, s.name), 0, 1, s.examples), *task,
                 "eval " + s.name);
  }
  if (!run.has_model() || run.bandit) return;
  const Task* task = run.task.get();
  if (as_token_task(*task)) return;
  // The trainer's stream (run/training.h): prompt 0 at the longest training length.
  const RngKey key = training_stream(run);
  check_finite(task->sample(key, 0, 1, std::max<int64_t>(1, run.train.points.end)), *task, "train");
}

}  // namespace icl

#include "run/training.h"

#include <algorithm>

#include <fmt/format.h>

#include "eval/evaluate.h"
#include "eval/streams.h"
#include "models/model_predictor.h"
#include "tasks/check_finite.h"
#include "tasks/token_task.h"

namespace icl {

RngKey training_stream(const ResolvedRun& run) {
  return train_stream(run.train.data_seed >= 0 ? uint64_t(run.train.data_seed) : run.seed);
}

CurriculumPrompts::CurriculumPrompts(const Task& task, const TrainConfig& train, const RngKey& key)
    : base_(task),
      train_(train),
      key_(key),
      ramps_dims_(task.params().has("active_dims")),
      tokens_(task.prompt_kind() == PromptKind::Token) {}

const Task& CurriculumPrompts::task_at(int64_t step) {
  std::vector<int64_t> values;
  if (ramps_dims_) values.push_back(train_.dims.at(step));
  for (const auto& [name, ramp] : train_.task_ramps) values.push_back(ramp.at(step));
  if (!task_ || values != values_) {
    std::map<std::string, int64_t> p;
    size_t i = 0;
    if (ramps_dims_) p["active_dims"] = values[i++];
    for (const auto& [name, ramp] : train_.task_ramps) p[name] = values[i++];
    task_ = with_params(base_, p);
    values_ = std::move(values);
  }
  return *task_;
}

PromptBatch CurriculumPrompts::batch(int64_t s) {
  const int64_t B = train_.batch_size;
  const Task& task = task_at(s);
  if (const TokenTask* tt = as_token_task(task)) return tt->sample_mixed(key_, s * B, B);
  PromptBatch pb = task.sample(key_, s * B, B, train_.points.at(s));
  if (train_.loss_on == "last") {
    // Only the last example of each prompt is scored (within the task's own mask, if any); the
    // config reader refused loss_on: last for other than vector prompts.
    VectorPrompts& v = pb.as<VectorPrompts>("train.loss_on");
    const int64_t K = v.n_examples;
    std::vector<uint8_t> last(size_t(v.batch * K), 0);
    for (int64_t b = 0; b < v.batch; ++b)
      last[size_t(b * K + K - 1)] = v.loss_mask.empty() ? 1 : v.loss_mask[size_t(b * K + K - 1)];
    v.loss_mask = std::move(last);
  }
  // Finite settings can still overflow fp32 together (two scales near their bounds): one line
  // naming the suspects, not a diverged loss. One pass over the batch, small beside the step.
  check_finite(pb, task, fmt::format("train step {}", s + 1));
  return pb;
}

std::string CurriculumPrompts::describe(int64_t s) {
  std::string line;
  if (const TokenTask* tt = tokens_ ? as_token_task(task_at(s)) : nullptr)
    line = fmt::format("lengths {}-{}", tt->min_length(), tt->max_length());
  else
    line = fmt::format("K={}", train_.points.at(s));
  if (ramps_dims_) line.append(fmt::format(" dims={}", train_.dims.at(s)));
  for (const auto& [name, ramp] : train_.task_ramps)
    line.append(fmt::format(" {}={}", name, ramp.at(s)));
  return line;
}

EvalOptions train_eval_options(const ResolvedRun& run) {
  EvalOptions opt;
  opt.prompts = run.train.eval_prompts;
  opt.examples = std::max<int64_t>(1, run.train.points.end);
  if (const TokenTask* tt = as_token_task(*run.task)) {
    // In-distribution accuracy: up to 8 lengths spread over the training range.
    const int64_t lo = tt->min_length(), hi = tt->max_length();
    const int64_t n = std::min<int64_t>(8, hi - lo + 1);
    for (int64_t i = 0; i < n; ++i)
      opt.lengths.push_back(n == 1 ? hi : lo + (hi - lo) * i / (n - 1));
  }
  opt.batch_size = run.eval.batch_size;
  opt.bootstrap = 20;
  opt.progress = false;
  opt.extra_metrics = false;
  return opt;
}

TrainEval train_eval(const ResolvedRun& run, Model& model) {
  // One predictor for the whole run: its memory (a device arena on the GPU) is made once.
  auto predictor = std::make_shared<ModelPredictor>(model, model.name());
  const EvalOptions opt = train_eval_options(run);
  const TokenTask* tt = as_token_task(*run.task);
  // Clean labels, as every evaluation: training-only parameters (label noise) at their defaults.
  const std::shared_ptr<const Task> task = evaluation_task(run.task);
  const RngKey key = eval_stream(run.seed, "train_eval");
  return {tt ? "scaled acc" : "eval", [=] {
            const EvalResult r = evaluate("train_eval", *task, {predictor.get()}, key, opt);
            double s = 0;
            for (double v : r.curves[0].stats.mean) s += v;
            return s / double(r.curves[0].stats.mean.size());
          }};
}

}  // namespace icl

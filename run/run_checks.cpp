#include "run/run_checks.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/memory.h"
#include "eval/memory_estimate.h"
#include "eval/streams.h"
#include "run/training.h"
#include "tasks/check_finite.h"
#include "tasks/token_task.h"

namespace icl {

namespace {

std::string lengths_text(const std::vector<int64_t>& lengths) {
  return lengths.empty() ? "0" : std::to_string(*std::max_element(lengths.begin(), lengths.end()));
}

}  // namespace

void check_run_memory(const ResolvedRun& run) {
  const int64_t predictors = int64_t(run.baselines.size()) + (run.has_model() ? 1 : 0);
  for (const auto& s : run.evals) {
    const Task* task = s.task.get();
    const EvalOptions eo = run.eval_options(s);
    const std::string key = "eval.sets." + s.name;
    const std::string settings =
        s.lengths.empty()
            ? fmt::format("{0}.prompts {1} x {0}.examples {2}", key, s.prompts, s.examples)
            : fmt::format("{0}.prompts {1} x {0}.lengths up to {2}", key, s.prompts,
                          lengths_text(s.lengths));
    check_evaluation_memory(*task, predictors, eo, settings);
  }
  if (!run.has_model()) return;
  const Task* task = run.task.get();
  if (run.bandit) {
    // The model is scored offline on logged trajectories: environments prompts of the horizon.
    check_evaluation_memory(
        *task, 1, run.offline_eval_options(),
        fmt::format("rollout.environments {} x bandit.horizon {}", run.bandit->rollout.environments,
                    run.bandit->setup.horizon));
  }
  // The training batch: batch_size prompts of the longest training prompt (a token task pads
  // every batch to its longest length, also at the end of a curriculum on max_length).
  const int64_t B = run.train.batch_size;
  if (const TokenTask* tt = as_token_task(*task)) {
    int64_t L = tt->max_length();
    if (const auto it = run.train.task_ramps.find("max_length"); it != run.train.task_ramps.end())
      L = std::max({L, it->second.start, it->second.end});
    const std::string settings = fmt::format("train.batch_size {} x task.max_length {}", B, L);
    const int64_t T = tt->seq_len(L);
    memory::check_fits(memory::checked_product({B, T, 9}, settings),
                       fmt::format("{} of {} ({} tokens each)", settings, tt->name(), T));
  } else {
    const int64_t K = std::max<int64_t>(1, run.train.points.end);
    const std::string settings =
        fmt::format("train.batch_size {} x {} examples (train.curriculum.points.end)", B, K);
    const PromptFootprint f = prompt_footprint(*task, K, settings);
    memory::check_fits(
        memory::checked_sum({memory::checked_product({B, f.per_prompt}, settings), f.shared},
                            settings),
        fmt::format("{} of {}", settings, describe_prompts(*task, f)));
  }
  // Training's periodic evaluation of the model (run/training.h, train_eval).
  if (!run.bandit && !as_token_task(*task)) {
    EvalOptions eo;
    eo.prompts = run.train.eval_prompts;
    eo.examples = std::max<int64_t>(1, run.train.points.end);
    eo.batch_size = run.eval.batch_size;
    eo.bootstrap = 20;
    check_evaluation_memory(
        *task, 1, eo, fmt::format("train.eval_prompts {} x {} examples", eo.prompts, eo.examples));
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

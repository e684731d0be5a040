#pragma once
// What the trainer (train/trainer.h) is given by a run: its prompts, with the curriculum applied
// step by step, and the evaluation it logs every train.eval_every steps.
#include <memory>
#include <string>
#include <vector>

#include "models/model.h"
#include "run/resolved_run.h"
#include "train/trainer.h"

namespace icl {

// The stream the training prompts come from: train.data_seed's, or the run's seed by default.
RngKey training_stream(const ResolvedRun& run);

// Prompts s·B .. s·B + B − 1 of the run's "train" stream at step s: the curriculum's K (and
// active_dims, and any ramped task parameter) for vector tasks, a padded batch of mixed lengths
// for token tasks (TokenTask::sample_mixed). Every vector batch is checked finite.
class CurriculumPrompts : public PromptSource {
 public:
  // `task` and `train` must outlive this (they are the run's); `key` is training_stream(run).
  CurriculumPrompts(const Task& task, const TrainConfig& train, const RngKey& key);
  PromptBatch batch(int64_t step) override;
  bool tokens() const override { return tokens_; }
  std::string describe(int64_t step) override;

 private:
  const Task& task_at(int64_t step);  // the task with the curriculum's values at this step

  const Task& base_;
  const TrainConfig& train_;
  RngKey key_;
  bool ramps_dims_, tokens_;
  std::unique_ptr<Task> task_;   // rebuilt only when the curriculum moves
  std::vector<int64_t> values_;  // the ramped parameters task_ was built with
};

// Training's periodic evaluation of `model` on the run's task: the mean normalised error over k on
// train.eval_prompts prompts of train.curriculum.points.end examples (its own stream,
// "train_eval"); for token tasks the mean scaled accuracy over up to 8 lengths of the training
// range (higher is better). No path metrics (they decode, several passes per prompt).
TrainEval train_eval(const ResolvedRun& run, Model& model);
// How train_eval evaluates: train.eval_prompts prompts at the longest training length (token
// tasks: up to 8 lengths of the training range), no extra metrics, 20 bootstrap resamples. The
// memory check (run/run_checks.h) sizes the same evaluation.
EvalOptions train_eval_options(const ResolvedRun& run);

}  // namespace icl

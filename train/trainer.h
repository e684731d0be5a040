#pragma once
// The training loop: prompts from the task (prompt i of step s is prompt s·B + i of the "train"
// stream, so data never depends on anything but the seed and the step), the model's forward,
// masked loss, backward, global-norm clipping, AdamW with the schedule's learning rate. A progress
// line shows step, loss, steps/s and ETA; a NaN/Inf loss or gradient stops training with the step.
#include <functional>
#include <string>
#include <vector>

#include "io/config.h"
#include "models/model.h"
#include "tasks/task.h"

namespace icl {

struct TrainLog {
  std::vector<int64_t> step;  // 1-based: the loss of step s is the loss before update s
  std::vector<double> loss, lr, seconds, grad_norm;
  std::vector<int64_t> eval_step;
  std::vector<double> eval_error;  // mean normalised error over k on the fixed evaluation prompts
};

struct TrainState {
  int64_t step = 0;  // updates done
  TrainLog log;
};

class Trainer {
 public:
  Trainer(const BenchmarkConfig& cfg, Model& model);

  // Trains from state.step up to `until` updates. save(state) is called every checkpoint_every
  // steps and at the end. Throws icl::Error on a non-finite loss or gradient (nothing is saved for
  // the bad step; the last checkpoint stays as it was).
  void run(TrainState& state, int64_t until, const std::function<void(const TrainState&)>& save,
           bool progress);

  // One update (exposed for tests): returns the loss before the update.
  double step(int64_t step_index, double* grad_norm = nullptr);

 private:
  double eval_error();
  const Task& task_at(int64_t step);  // the task with the curriculum's active dimensions
  const BenchmarkConfig& cfg_;
  Model& model_;
  Arena arena_;
  bool ramps_dims_;             // the task has active_dims for the curriculum to set
  std::unique_ptr<Task> task_;  // built for task_dims_; rebuilt only when the curriculum moves
  int64_t task_dims_ = -1;
};

}  // namespace icl

#pragma once
// The training loop: prompts from the task (prompt i of step s is prompt s·B + i of the "train"
// stream, so data never depends on anything but the seed and the step), the model's forward,
// masked loss, backward, global-norm clipping, AdamW with the schedule's learning rate. A progress
// line shows step, loss, steps/s and ETA; a NaN/Inf loss or gradient stops training with the step.
//
// On a GPU (the model's parameters moved there with ParameterStore::to_device) the whole step --
// prompt upload, forward, backward, gradient norm, clipping, AdamW, loss read-back -- is one CUDA
// graph: the first step of each prompt length runs eagerly (it sizes the step's memory), the
// second is captured, and every later step replays the capture with new prompts copied into the
// same pinned buffers and the step's learning rate in a pinned scalar block. While the GPU runs
// step s the CPU samples the prompts of step s + 1.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/cuda_graph.h"
#include "io/config.h"
#include "models/model.h"
#include "models/model_predictor.h"
#include "tasks/task.h"
#include "train/adamw.h"

namespace icl {

struct TrainLog {
  std::vector<int64_t> step;  // 1-based: the loss of step s is the loss before update s
  std::vector<double> loss, lr, seconds, grad_norm;
  std::vector<int64_t> eval_step;
  // Mean normalised error over k on the fixed evaluation prompts; for token tasks the mean scaled
  // accuracy over up to 8 lengths of the training range (higher is better).
  std::vector<double> eval_error;
};

struct TrainState {
  int64_t step = 0;  // updates done
  TrainLog log;
};

class Trainer {
 public:
  Trainer(const BenchmarkConfig& cfg, Model& model);
  ~Trainer();

  // Trains from state.step up to `until` updates. save(state) is called every checkpoint_every
  // steps and at the end, and when a deferred SIGINT/SIGTERM (core/interrupt.h) stops training
  // early at a step boundary. Throws icl::Error on a non-finite loss or gradient (nothing is saved
  // for the bad step; the last checkpoint stays as it was).
  void run(TrainState& state, int64_t until, const std::function<void(const TrainState&)>& save,
           bool progress);

  // One update (exposed for tests): returns the loss before the update.
  double step(int64_t step_index, double* grad_norm = nullptr);

  // GPU steps so far that replayed a captured graph (tests check that capture happens).
  int64_t graph_replays() const { return replays_; }

 private:
  struct Gpu;  // device-side state of the CUDA path
  double eval_error();
  const Task& task_at(int64_t step);  // the task with the curriculum's values at this step
  // Prompts s·B .. s·B + B − 1 of the "train" stream: the curriculum's K for vector tasks, a
  // padded batch of mixed lengths for token tasks (TokenTask::sample_mixed).
  PromptBatch train_prompts(int64_t step);
  void sample_into(PromptBatch& pb, int64_t step);
  double cpu_step(int64_t s, double* grad_norm);
  // GPU: enqueue step s on the prompts in gpu_->staged; finish() waits and checks it.
  void gpu_launch(int64_t s);
  double gpu_finish(int64_t s, double* grad_norm);
  Var record_loss(Graph& g, const PromptBatch& pb);

  const BenchmarkConfig& cfg_;
  Model& model_;
  std::unique_ptr<Arena> arena_;
  bool ramps_dims_;                   // the task has active_dims for the curriculum to set
  bool tokens_;                       // token prompts (GPU steps run eagerly, never captured)
  std::vector<float> mask_;           // the current step's loss_mask, as the loss reads it
  std::unique_ptr<Task> task_;        // rebuilt only when the curriculum moves
  std::vector<int64_t> task_values_;  // the ramped parameters task_ was built with
  std::unique_ptr<Gpu> gpu_;
  std::unique_ptr<ModelPredictor> eval_predictor_;
  int64_t replays_ = 0;
};

}  // namespace icl

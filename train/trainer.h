#pragma once
// The training loop: prompts from a PromptSource (the run layer's draws prompt i of step s as
// prompt s·B + i of the "train" stream, so data never depends on anything but the seed and the
// step), the model's forward, masked loss, backward, global-norm clipping, AdamW with the
// schedule's learning rate. A progress line shows step, loss, the periodic evaluation, steps/s and
// ETA; a NaN/Inf loss or gradient stops training with the step. The trainer knows no task and no
// evaluation: both come in through PromptSource and TrainEval.
//
// On a GPU (the model's parameters moved there with ParameterStore::to_device) the whole step --
// prompt upload, forward, backward, gradient norm, clipping, AdamW, loss read-back -- is one CUDA
// graph: the first step of each prompt length runs eagerly (it sizes the step's memory), the
// second is captured, and every later step replays the capture with new prompts copied into the
// same pinned buffers and the step's learning rate in a pinned scalar block. While the GPU runs
// step s the CPU samples the prompts of step s + 1. That path is train/trainer_gpu.cpp.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/cuda_graph.h"
#include "models/model.h"
#include "tasks/prompt_batch.h"
#include "train/adamw.h"
#include "train/train_config.h"

namespace icl {

struct TrainLog {
  std::vector<int64_t> step;  // 1-based: the loss of step s is the loss before update s
  std::vector<double> loss, lr, seconds, grad_norm;
  std::vector<int64_t> eval_step;
  // Mean normalised error over k on the fixed evaluation prompts; for token tasks the mean scaled
  // accuracy over up to 8 lengths of the training range (higher is better).
  std::vector<double> eval_error;
  // Per-layer statistics (train.layer_stats_every, train/layer_stats.h): the steps they were taken
  // at, and for each such step one value per block, step-major ([records × blocks] flattened).
  std::vector<int64_t> layer_step;
  std::vector<double> layer_grad_norm, layer_variance;
};

struct TrainState {
  int64_t step = 0;  // updates done
  TrainLog log;
};

// The training prompts, step by step (run/curriculum_prompts.h implements it for a task and its
// curriculum).
class PromptSource {
 public:
  virtual ~PromptSource() = default;
  // The batch of step s (0-based): a pure function of the step.
  virtual PromptBatch batch(int64_t step) = 0;
  // Token prompts: their length varies from batch to batch, so GPU steps run eagerly.
  virtual bool tokens() const = 0;
  // What the progress line shows about step s's prompts ("K=11 dims=5", "lengths 2-40").
  virtual std::string describe(int64_t step) = 0;
};

// The evaluation training runs every train.eval_every steps (logged as eval_error): `label` heads
// its value on the progress line ("eval", "scaled acc").
struct TrainEval {
  std::string label = "eval";
  std::function<double()> run;
};

class Trainer {
 public:
  Trainer(const TrainConfig& cfg, Model& model, PromptSource& prompts, TrainEval eval);
  ~Trainer();

  // Trains from state.step up to `until` updates. save(state) is called every checkpoint_every
  // steps and at the end, and when a deferred SIGINT/SIGTERM (core/interrupt.h) stops training
  // early at a step boundary. Throws icl::Error on a non-finite loss or gradient (nothing is saved
  // for the bad step; the last checkpoint stays as it was). on_step(steps done), when given, is
  // called after every step: a progress line of its own (train.replicas shows one for all).
  void run(TrainState& state, int64_t until, const std::function<void(const TrainState&)>& save,
           bool progress, const std::function<void(int64_t)>& on_step = {});

  // One update (exposed for tests): returns the loss before the update.
  double step(int64_t step_index, double* grad_norm = nullptr);

  // GPU steps so far that replayed a captured graph (tests check that capture happens).
  int64_t graph_replays() const { return replays_; }

 private:
  struct Gpu;  // device-side state of the CUDA path (train/trainer_gpu.cpp)
  void sample_into(PromptBatch& pb, int64_t step);
  double cpu_step(int64_t s, double* grad_norm);
  // GPU: enqueue step s on the prompts in gpu_->staged; finish() waits and checks it.
  void gpu_launch(int64_t s);
  double gpu_finish(int64_t s, double* grad_norm);
  Var record_loss(Graph& g, const PromptBatch& pb);
  // A non-finite loss or gradient norm stops training; the caller has not saved the bad step.
  static void check_step(int64_t s, double loss, double norm);

  const TrainConfig& cfg_;
  Model& model_;
  PromptSource& prompts_;
  TrainEval eval_;
  std::unique_ptr<Arena> arena_;
  std::unique_ptr<Arena> stats_arena_;  // the per-layer statistics' forward pass
  int64_t blocks_ = 0;                  // with train.layer_stats_every
  std::vector<float> mask_;             // the current step's loss_mask, as the loss reads it
  std::unique_ptr<Gpu> gpu_;
  int64_t replays_ = 0;
};

}  // namespace icl

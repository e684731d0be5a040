#pragma once
// Checkpoints live in the run's results file (docs/DESIGN.md, results.h5):
//   /checkpoint              attrs: step, seed, model (name), model_config (resolved YAML +
//   ModelIO) /checkpoint/params/<name>, /checkpoint/adam_m/<name>, /checkpoint/adam_v/<name>
//   /train/{step, loss, lr, seconds, grad_norm, eval_step, eval_error, layer_step,
//           layer_grad_norm, layer_variance}  (per-layer statistics: train/layer_stats.h)
// The data stream and the curriculum are functions of (seed, step), so the step is the whole RNG
// and curriculum state. Resuming checks that the model configuration is the same.
#include <string>

#include "io/h5.h"
#include "models/model.h"
#include "train/trainer.h"

namespace icl {

// Resolved model configuration (registry name, parameters, io) as text: two runs may share a
// checkpoint exactly when these agree.
std::string model_signature(const Model& model);

void write_train_log(hid_t root, const TrainLog& log);
void write_checkpoint(hid_t root, const Model& model, const TrainState& state, uint64_t seed);

// The same /train and /checkpoint, kept up to date in place while training
// (train/checkpoint_file.h): create_train_log writes /train as extendable datasets (same paths,
// element types and values as write_train_log), append_train_log appends the entries of `log`
// past each dataset's current length, and overwrite_checkpoint writes a checkpoint's values, AdamW
// moments and step over those of an earlier checkpoint of the same model.
void create_train_log(hid_t root, const TrainLog& log);
void append_train_log(hid_t root, const TrainLog& log);
void overwrite_checkpoint(hid_t root, const Model& model, const TrainState& state, uint64_t seed);

// Loads parameters, AdamW moments, step and the training log from `path` into model/state.
// icl::Error (one line) for an unreadable or truncated file, a file without a checkpoint, or a
// checkpoint of a different model configuration.
void read_checkpoint(const std::string& path, Model& model, TrainState& state);

}  // namespace icl

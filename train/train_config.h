#pragma once
// The `train:` section of a benchmark config: the struct, and below it the section's declaration
// (core/section.h), from which come parsing, defaults, errors, `icl list -v` and the resolved YAML.
// A new option is a member here and one line in train_section(), beside it.
//
//   train:
//     steps: 3000          batch_size: 64        lr: 1e-3
//     schedule: constant   warmup: 0             min_lr_ratio: 0.0   (cosine: floor as a ratio)
//     weight_decay: 0.0    beta1: 0.9            beta2: 0.999        grad_clip: 1.0 (0 = off)
//     curriculum:          (Garg et al.; omitted = fixed at the task's d and eval.examples)
//       dims:   {start: 5, end: 20, inc: 1, every: 2000}
//       points: {start: 11, end: 41, inc: 2, every: 2000}
//       N:      {start: 1, end: 10, inc: 1, every: 1000}   (any integer parameter of the task,
//                                                           e.g. Panwar et al.'s Fourier
//                                                           frequencies)
//     eval_every: 500      eval_prompts: 256     checkpoint_every: 500
//     precision: tf32      (GPU matrix products on TF32 tensor cores, fp32 accumulation; fp32 =
//                           strict fp32 everywhere. The CPU always computes in fp32.)
//     data_seed: -1        (the training prompts' seed; -1: the run's seed, which also initialises
//                           the model)
//     loss_on: all         (vector prompts: every example's prediction is scored; last: only the
//                           last one's, Ahn et al.'s loss at one N)
//     micro_batches: 1     (gradient accumulation: the batch in this many equal parts, each part's
//                           gradient computed whole and added in order, the sum over the parts;
//                           what a data-parallel step over as many ranks reduces)
//     layer_stats_every: 0 (per-layer gradient norms and hidden-state variances at step 1 and every
//                           this many steps, in /train (train/layer_stats.h); 0 = off)
//     replicas: 1          (this many models of the config trained side by side in one process,
//     replica_seeds: [...]  each exactly the single run at its seed and learning rate, into a file
//     replica_lrs: [...]    of its own: run/replicas.h. Seeds default to seed, seed + 1, ...; lrs
//     to
//                           train.lr. Not in the resolved config: each replica's file records its
//                           own single run)
#include <cstdint>
#include <map>
#include <string>

#include "core/section.h"
#include "train/schedule.h"

namespace icl {

struct TrainConfig {
  int64_t steps = 1000, batch_size = 64;
  Schedule schedule;
  double weight_decay = 0.0, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, grad_clip = 1.0;
  Ramp dims, points;  // dims.end = the task's d, points.end = examples per training prompt
  std::map<std::string, Ramp> task_ramps;  // other integer task parameters, by name
  int64_t eval_every = 500, eval_prompts = 256, checkpoint_every = 500;
  std::string precision = "tf32";
  int64_t data_seed = -1;         // the training prompts' seed; -1: the run's
  std::string loss_on = "all";    // vector prompts: every example's prediction, or only the last
  int64_t micro_batches = 1;      // gradient accumulation (train/trainer.cpp: cpu_step)
  int64_t layer_stats_every = 0;  // per-layer statistics (train/layer_stats.h); 0 = off
  // Models trained side by side in one process (run/replicas.h); the lists, replica_seeds and
  // replica_lrs, are resolved with it into ResolvedRun::replicas. A replica's own run has 1.
  int64_t replicas = 1;
};

// The keys in the order results.h5 records them.
inline const Section<TrainConfig>& train_section() {
  static const Section<TrainConfig> s =
      Section<TrainConfig>("train")
          .integer("steps", &TrainConfig::steps, 1, 1e12, "optimiser updates", Effect::Extends)
          .integer("batch_size", &TrainConfig::batch_size, 1, 1e7, "prompts per update")
          .real(
              "lr", [](auto& t) -> auto& { return t.schedule.lr; }, 0.0, 10.0, "peak learning rate")
          .choice(
              "schedule", [](auto& t) -> auto& { return t.schedule.kind; }, {"constant", "cosine"},
              "learning-rate schedule after the warm-up")
          .integer(
              "warmup", [](auto& t) -> auto& { return t.schedule.warmup; }, 0, 1e12,
              "linear warm-up steps from 0")
          .real(
              "min_lr_ratio", [](auto& t) -> auto& { return t.schedule.min_ratio; }, 0.0, 1.0,
              "cosine: the final learning rate as a fraction of lr")
          .real("weight_decay", &TrainConfig::weight_decay, 0.0, 10.0, "AdamW's decoupled decay")
          .real("beta1", &TrainConfig::beta1, 0.0, 0.999999, "AdamW's first-moment decay")
          .real("beta2", &TrainConfig::beta2, 0.0, 0.999999999, "AdamW's second-moment decay")
          .real("eps", &TrainConfig::eps, 1e-30, 1.0, "AdamW's denominator floor")
          .real("grad_clip", &TrainConfig::grad_clip, 0.0, 1e9,
                "global gradient-norm clip (0 = off)")
          .custom("curriculum",
                  "ramps {start, end, inc, every} of dims, points or any integer task parameter")
          .integer("eval_every", &TrainConfig::eval_every, 1, 1e12,
                   "steps between evaluations during training", Effect::Measures)
          .integer("eval_prompts", &TrainConfig::eval_prompts, 1, 1e7,
                   "prompts of each evaluation during training", Effect::Measures)
          .integer("checkpoint_every", &TrainConfig::checkpoint_every, 1, 1e12,
                   "steps between checkpoints", Effect::Measures)
          .choice("precision", &TrainConfig::precision, {"tf32", "fp32"},
                  "GPU matrix products: tf32 tensor cores or strict fp32 (the CPU is always fp32)")
          .integer("data_seed", &TrainConfig::data_seed, -1, 1e18,
                   "seed of the training prompts, to vary data and initialisation apart (-1: the "
                   "run's seed)")
          .choice("loss_on", &TrainConfig::loss_on, {"all", "last"},
                  "vector prompts: score the prediction of every example, or only of the last "
                  "(Ahn et al. 2023: one query after N examples)")
          .integer(
              "micro_batches", &TrainConfig::micro_batches, 1, 1e7,
              "gradient accumulation: the batch in this many equal parts, each part's gradient "
              "added in order (CPU; divides batch_size)")
          .integer("layer_stats_every", &TrainConfig::layer_stats_every, 0, 1e12,
                   "record each block's gradient norm and hidden-state variance at step 1 and "
                   "every this many steps (0 = off)",
                   Effect::Measures)
          // At most 256: each replica holds its results file and a checkpoint open at once, and
          // the process has about a thousand file descriptors.
          .integer("replicas", &TrainConfig::replicas, 1, 256,
                   "train this many models of the config side by side in one process, each the "
                   "single run at its seed and lr, each into its own file (1: one run)")
          .custom("replica_seeds",
                  "the replicas' seeds, a list of one per replica (default seed, seed + 1, ...)")
          .custom("replica_lrs",
                  "the replicas' learning rates, a list of one per replica (default train.lr); "
                  "their files are named by lr too");
  return s;
}

}  // namespace icl

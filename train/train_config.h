#pragma once
// The `train:` section of a benchmark config.
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
#include <cstdint>
#include <map>
#include <string>

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
};

}  // namespace icl

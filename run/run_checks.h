#pragma once
// `icl run`'s checks before any work: the memory every evaluation set and training will take, and
// that the first prompts are finite (eval/memory_estimate.h and tasks/check_finite.h do the
// counting and the checking; this names the run's settings).
#include "run/resolved_run.h"

namespace icl {

// Every evaluation set (named eval.sets.<set>.prompts/examples/lengths), the training batch
// (train.batch_size prompts of the longest training prompt) and training's periodic evaluation
// (train.eval_prompts), before anything is trained.
void check_run_memory(const ResolvedRun& run);

// The first prompt of every evaluation set (from its own stream) and of training is finite, so
// that settings whose product overflows are one line before any work rather than an error after
// hours of training. evaluate() and the trainer keep checking every batch.
void check_run_prompts(const ResolvedRun& run);

}  // namespace icl

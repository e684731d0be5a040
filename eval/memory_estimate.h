#pragma once
// Bytes a command will allocate for prompts and evaluation arrays, estimated from the settings
// before anything large is allocated, and checked against the memory budget (core/memory.h): a
// size that cannot fit is a one-line icl::Error naming the settings and the numbers.
//
// What is counted: the prompt buffers sample() allocates (PromptBatch), the evaluation's per
// predictor arrays of prompts × examples doubles, its bootstrap arrays, one batch of prompts and
// one predictor's outputs for it. What is not: a model's activations and a baseline's workspace
// (both scale with one batch, not with the prompt count), so the estimate is a lower bound that is
// close for the sizes that matter (a prompt count or a length far too large).
#include <cstdint>
#include <string>

#include "eval/evaluate.h"
#include "tasks/task.h"

namespace icl {

// The bytes of every buffer of a batch.
int64_t batch_bytes(const PromptBatch& pb);

// The prompts of one length K (a length for token tasks): bytes per prompt, bytes shared by a batch
// (x_cov), and the shapes for messages. Token tasks take their sizes from seq_len(K); vector tasks
// from one prompt sampled at K = 1 and K = 2, extrapolated (every per-prompt buffer is [K, ·] or
// independent of K), so that a huge K is never allocated to measure it. `what` names the setting
// in an overflow error. Calls task.check_examples(K) first.
struct PromptFootprint {
  int64_t per_prompt = 0, shared = 0;
  int64_t dx = 0, dy = 0;          // vector prompts
  int64_t seq_len = 0, vocab = 0;  // token prompts
};
PromptFootprint prompt_footprint(const Task& task, int64_t K, const std::string& what);

// "linear_regression (x of width 20)" / "parity_check (43 tokens each)".
std::string describe_prompts(const Task& task, const PromptFootprint& f);

// `icl generate`: `prompts` prompts of length K as one batch, plus the maze task's raw mazes.
// `settings` names what the user set, e.g. "--prompts 1000000000 x --examples 40".
void check_generate_memory(const Task& task, int64_t prompts, int64_t K,
                           const std::string& settings);

// evaluate(): what it allocates for `predictors` predictors under `opt`, against the budget.
void check_evaluation_memory(const Task& task, int64_t predictors, const EvalOptions& opt,
                             const std::string& settings);

}  // namespace icl

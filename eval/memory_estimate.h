#pragma once
// Bytes a command will allocate for prompts and evaluation arrays, estimated from the settings
// before anything large is allocated, and checked against the memory budget (core/memory.h): a
// size that cannot fit is a one-line icl::Error naming the settings and the numbers.
//
// What is counted: the prompt buffers sample() allocates (PromptBatch), the evaluation's per
// predictor arrays of prompts × examples doubles, its bootstrap arrays, one batch of prompts and
// one predictor's outputs for it, and what the caller adds (MemoryPart: a model's parameters and
// the arena of its forward passes, models/footprint.h, whose shape evaluation_pass gives). What is
// not: a baseline's workspace (it scales with one batch, not with the prompt count).
#include <cstdint>
#include <string>
#include <vector>

#include "eval/evaluate.h"
#include "models/footprint.h"
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
  bool queries = false;            // vector prompts with query points (VectorPrompts::xq)
  int64_t seq_len = 0, vocab = 0;  // token prompts
};
PromptFootprint prompt_footprint(const Task& task, int64_t K, const std::string& what);

// "linear_regression (x of width 20)" / "parity_check (43 tokens each)".
std::string describe_prompts(const Task& task, const PromptFootprint& f);

// `icl generate`: `prompts` prompts of length K as one batch, plus the maze task's raw mazes.
// `settings` names what the user set, e.g. "--prompts 1000000000 x --examples 40".
void check_generate_memory(const Task& task, int64_t prompts, int64_t K,
                           const std::string& settings);

// Memory that is in use beside what an estimate counts itself, named for the message: "model
// transformer's forward passes at eval.batch_size 64" with its bytes.
struct MemoryPart {
  double bytes = 0;
  std::string what;
};

// evaluate(): what it allocates for `predictors` predictors under `opt`, with `also` (a model's
// parameters and forward passes), against the budget.
void check_evaluation_memory(const Task& task, int64_t predictors, const EvalOptions& opt,
                             const std::string& settings, const std::vector<MemoryPart>& also = {});

// Bytes evaluate() allocates for `predictors` predictors under `opt` (`what` names the settings in
// an overflow error).
int64_t evaluation_bytes(const Task& task, int64_t predictors, const EvalOptions& opt,
                         const std::string& what);

// The largest forward pass a model runs in an evaluation under `opt` (models/model_predictor.h):
// opt.batch_size prompts (fewer when there are fewer) at the longest length, or, for prompts whose
// queries differ from their context, one prompt at a time as K sequences of K examples. A token
// task's decoding passes (the maze's paths) are no larger.
StepShape evaluation_pass(const Task& task, const EvalOptions& opt);

// "a (3.2 GB), b (1.0 GB) and c (0 B)": parts for a message.
std::string describe_parts(const std::vector<MemoryPart>& parts);

}  // namespace icl

#pragma once
// Tasks with token prompts (docs/DESIGN.md, "PromptBatch"): a prompt is a sequence of token ids
// with targets at its scored positions, and its size is a *length* (bits of a parity string, tokens
// of an arithmetic expression) rather than a number of in-context examples. Evaluation draws its
// curve against the length, so that training on short prompts and testing on long ones measures
// length generalisation (Grazzi et al. 2025: train on 3–40, test on 40–256).
//
//   sample(key, first, B, n)     every prompt has length n (the n_examples argument is the length);
//                                T = seq_len(n), no padding.
//   sample_mixed(key, first, B)  the training distribution: prompt i has a length drawn uniformly
//                                from [min_length, max_length] by Rng(key.sub("length"), i), and
//                                the batch is padded on the right with pad() to T =
//                                seq_len(max_length). Every step therefore has the same shape (no
//                                new allocations, one captured GPU graph) while each batch mixes
//                                all lengths, which keeps the gradient from swinging between
//                                easy short batches and hard long ones.
// Given its length, the content of prompt i comes from Rng(key, i) alone: prompt i of a mixed
// batch is prompt i of sample(key, i, 1, its length) followed by padding.
//
// Token ids: the task's symbols first, then BOS = vocab − 2 (the first token of every prompt:
// Grazzi et al. start every sequence with one, which lets a recurrent model with zero initial
// state set its own) and PAD = vocab − 1. Answers are symbol ids; answers() is |Y|, the number of
// possible answers, which sets the chance level of the scaled accuracy.
#include <vector>

#include "tasks/task.h"

namespace icl {

class TokenTask : public Task {
 public:
  PromptKind prompt_kind() const override { return PromptKind::Token; }
  Metric metric() const override { return Metric::ScaledAccuracy; }
  void check_examples(int64_t length) const override;

  int64_t vocab() const { return vocab_; }
  int64_t answers() const { return answers_; }
  int32_t bos() const { return int32_t(vocab_ - 2); }
  int32_t pad() const { return int32_t(vocab_ - 1); }
  int64_t min_length() const { return min_length_; }
  int64_t max_length() const { return max_length_; }
  // Tokens of an unpadded prompt of this length (BOS and any answer query included).
  virtual int64_t seq_len(int64_t length) const = 0;
  // Token ids that stand for a slot the model must not read (none by default): the maze task's
  // MASK and PAD under mlm_u. A model that removes such slots from attention (models/past.cpp)
  // reads them through ModelIO::hidden_tokens; the others embed them like any token.
  virtual std::vector<int32_t> hidden_tokens() const { return {}; }

  PromptBatch sample(const RngKey& key, int64_t first, int64_t batch,
                     int64_t length) const override;
  PromptBatch sample_mixed(const RngKey& key, int64_t first, int64_t batch) const;

 protected:
  // Reads min_length and max_length from p (token_length_params) and checks min <= max.
  TokenTask(std::string name, ParamSet p, int64_t vocab, int64_t answers);
  // Writes one prompt of `length` into rows of seq_len(length) entries; tokens/targets/mask arrive
  // as PAD, −1 and 0.
  virtual void write_prompt(Rng& rng, int64_t length, int32_t* tokens, int32_t* targets,
                            uint8_t* mask) const = 0;

 private:
  int64_t vocab_, answers_, min_length_, max_length_;
};

// The training length range every token task declares (defaults: Grazzi et al.'s 3–40).
ParamSpecs token_length_params(int64_t min_default = 3, int64_t max_default = 40);

// The task as a TokenTask, or nullptr for vector tasks.
const TokenTask* as_token_task(const Task& task);

}  // namespace icl

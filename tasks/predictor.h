#pragma once
// Predictor: what evaluation calls on trained models and baselines alike (docs/DESIGN.md,
// "Predictor"). predict() returns [B, K, dy]: the prediction for every example k of every prompt,
// where the prediction at k uses only examples 0..k-1 and the query point of k. For token prompts
// it returns scores [B, T, vocab] (logits, or any scores whose largest entry is the predicted
// token), where the scores at position t use tokens 0..t only.
#include <string>
#include <vector>

#include "core/params.h"
#include "tasks/prompt_batch.h"

namespace icl {

class Predictor {
 public:
  virtual ~Predictor() = default;
  virtual std::string label() const = 0;  // group name in results.h5, e.g. "ridge(lambda=0.1)"
  virtual std::string name() const = 0;   // registry name, e.g. "ridge"
  virtual const char* kind() const = 0;   // "baseline" or "model"
  virtual const ParamSet& params() const = 0;
  virtual std::vector<float> predict(const PromptBatch& batch) const = 0;
};

}  // namespace icl

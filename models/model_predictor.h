#pragma once
// A trained model answering the Predictor call, so evaluation treats it exactly like a baseline.
// Prompts whose query points differ from their context points (VectorPrompts::xq) are evaluated
// with one sequence per example k: the prompt with x_k replaced by the query, read out at token 2k.
// Token prompts return the model's logits [B, T, vocab].
#include <memory>

#include "core/arena.h"
#include "models/model.h"
#include "tasks/predictor.h"

namespace icl {

class ModelPredictor : public Predictor {
 public:
  ModelPredictor(Model& model, std::string label) : model_(model), label_(std::move(label)) {}
  std::string label() const override { return label_; }
  std::string name() const override { return model_.name(); }
  const char* kind() const override { return "model"; }
  const ParamSet& params() const override { return model_.params(); }
  std::vector<float> predict(const PromptBatch& batch) const override;

 private:
  Model& model_;
  std::string label_;
  Arena& arena() const;                   // on the model's device, made on first use
  mutable std::unique_ptr<Arena> arena_;  // evaluation memory, reused between calls
};

}  // namespace icl

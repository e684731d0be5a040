#pragma once
// A trained model as a bandit policy (docs/DESIGN.md, "Policy"): at step t it reads the history
// prompt of each environment so far (tokens 0..t, tasks/bandit_imitation.h) and acts on its
// logits at token t, greedily (the most likely arm, lowest index on ties) or by sampling from their
// softmax with its own stream per environment (key.sub("policy/<label>") at index i). Each step
// runs a full forward pass over the history (no cache): O(T²) passes of attention over a
// rollout, which at horizon 200 costs seconds on a CPU.
//
// Offline evaluation (the model's action accuracy on logged trajectories) needs nothing here: the
// bandit_imitation task's prompts are those logs, and evaluate() scores the model on them.
#include <memory>
#include <string>

#include "core/arena.h"
#include "eval/bandit_rollout.h"
#include "models/model.h"
#include "tasks/bandit_imitation.h"

namespace icl {

class ModelPolicy final : public BatchPolicy {
 public:
  ModelPolicy(Model& model, std::string label, bool sample, const RngKey& key);
  std::string label() const override { return label_; }
  void reset(const std::vector<BanditEnv>& envs, int64_t first) override;
  void act(int64_t t, std::vector<int>& arms) override;
  void observe(const std::vector<int>& arms, const std::vector<double>& rewards) override;

 private:
  Model& model_;
  std::string label_;
  bool sample_;
  BanditEncoding encoding_ = BanditEncoding::Raw;
  RngKey key_;
  Arena arena_;
  std::vector<Eigen::MatrixXd> arms_;  // each environment's features
  std::vector<Rng> rngs_;
  int64_t width_ = 0, steps_ = 0;            // token width, tokens so far
  std::vector<std::vector<float>> history_;  // per environment, [steps_ + 1, width_]
};

}  // namespace icl

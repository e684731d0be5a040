#pragma once
// Baselines: classical learners answering the Predictor call (docs/DESIGN.md, "Predictor"). Each
// registers once in baselines/registry.cpp and computes its whole prefix curve for a prompt with
// incremental updates (examples arrive one at a time; the prediction for example k is made before
// example k is added).
#include <Eigen/Dense>
#include <functional>
#include <memory>
#include <string>

#include "core/parallel.h"
#include "tasks/predictor.h"

namespace icl {

using MatD = Eigen::MatrixXd;
using VecD = Eigen::VectorXd;

// One prompt, seen through double-precision copies of its rows.
struct PromptView {
  const VectorPrompts& pb;
  int64_t b;
  VecD x(int64_t k) const;      // context input k
  double y(int64_t k) const;    // context label k
  VecD query(int64_t k) const;  // query input of example k
  // Allocation-free versions for hot loops: fill `out` (size dx) and return it.
  const VecD& x_into(int64_t k, VecD& out) const;
  const VecD& query_into(int64_t k, VecD& out) const;
};

class Baseline : public Predictor {
 public:
  Baseline(std::string name, ParamSet params, std::string label)
      : name_(std::move(name)), params_(std::move(params)), label_(std::move(label)) {}
  std::string label() const override { return label_; }
  std::string name() const override { return name_; }
  const char* kind() const override { return "baseline"; }
  const ParamSet& params() const override { return params_; }

  // Runs predict_prompt over the prompts in parallel.
  std::vector<float> predict(const PromptBatch& batch) const override {
    return run(regression_prompts(batch),
               [this](const PromptView& p, float* out) { predict_prompt(p, out); });
  }

 protected:
  // Writes out[0..K-1] for prompt p.b of a vector batch with dy = 1. Baselines that need something
  // shared by the batch override predict() and call run() with their own per-prompt function.
  virtual void predict_prompt(const PromptView& p, float* out) const;

  // The batch as the prompts a regression baseline reads: vector prompts with dy = 1, or a one-line
  // error naming the baseline.
  const VectorPrompts& regression_prompts(const PromptBatch& batch) const;

  // Calls f(view, out) for every prompt in parallel, each writing its own K predictions.
  template <class F>
  std::vector<float> run(const VectorPrompts& batch, F&& f) const {
    std::vector<float> out(size_t(batch.batch * batch.n_examples), 0.f);
    parallel_for(batch.batch, [&](int64_t b) {
      f(PromptView{batch, b}, out.data() + b * batch.n_examples);
    });
    return out;
  }

 private:
  std::string name_;
  ParamSet params_;
  std::string label_;
};

struct BaselineInfo {
  std::string name;
  std::string summary;
  ParamSpecs params;
  std::function<std::unique_ptr<Baseline>(const ParamSet&, const std::string& label)> make;
  // Why this build cannot make it (a library it was built without), or "" when it can. Such a
  // baseline is still listed and its parameters still checked, so that a config naming it fails
  // with this reason rather than as an unknown name.
  std::string not_built;
};

const std::vector<BaselineInfo>& baseline_registry();
const BaselineInfo& find_baseline(const std::string& name);
// label: "" means derive one from the name and the parameters that differ from their defaults.
std::unique_ptr<Baseline> make_baseline(const std::string& name,
                                        const std::map<std::string, std::string>& raw_params,
                                        const std::string& label = "",
                                        const std::string& where = "baseline");

// Helper for registrations: BaselineInfo for a class constructible from (ParamSet, label).
template <class T>
BaselineInfo baseline_info(std::string name, std::string summary, ParamSpecs params) {
  return {std::move(name), std::move(summary), std::move(params),
          [](const ParamSet& p, const std::string& label) -> std::unique_ptr<Baseline> {
            return std::make_unique<T>(p, label);
          },
          ""};
}

}  // namespace icl

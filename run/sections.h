#pragma once
// The declared sections of a benchmark config besides train: (train/train_config.h): eval:'s
// scalars, rollout:, and an evaluation set's spectrum:. Each struct holds the defaults; its
// Section (core/section.h) is the one description of its keys.
#include <cstdint>
#include <string>

#include "core/section.h"

namespace icl {

// eval: — prompts and examples are the defaults of every set (each may override them).
struct EvalDefaults {
  int64_t prompts = 1280, examples = 40, bootstrap = 1000, batch_size = 256;
  bool prediction_difference = false;
  bool per_prompt = false;
};

inline const Section<EvalDefaults>& eval_section() {
  static const Section<EvalDefaults> s =
      Section<EvalDefaults>("eval")
          .integer("prompts", &EvalDefaults::prompts, 1, 1e9, "prompts per evaluation set",
                   Effect::Measures)
          .integer("examples", &EvalDefaults::examples, 1, 1e6,
                   "K, examples per prompt (vector tasks)", Effect::Measures)
          .custom("lengths", "token tasks: the prompt lengths, a list or {start, end, step}",
                  Effect::Measures)
          .integer("bootstrap", &EvalDefaults::bootstrap, 20, 1e7, "resamples for the 90% interval",
                   Effect::Measures)
          .integer("batch_size", &EvalDefaults::batch_size, 1, 1e7,
                   "prompts generated at a time (memory only; results do not depend on it)",
                   Effect::Measures)
          .boolean("prediction_difference", &EvalDefaults::prediction_difference,
                   "every pair of predictors' squared prediction difference per k (Akyürek et al. "
                   "2023; accuracy tasks: sign disagreement); each set may override it",
                   Effect::Measures)
          .boolean("per_prompt", &EvalDefaults::per_prompt,
                   "also write every prompt's score, /eval/<set>/<predictor>[/<metric>]/per_prompt "
                   "[prompts, points], for analyses by prompt",
                   Effect::Measures)
          .custom("sets",
                  "named evaluation sets, each with task, prompts, examples, lengths, "
                  "prediction_difference, spectrum overrides",
                  Effect::Measures);
  return s;
}

// rollout: — how a bandit benchmark's policies and model are rolled out.
struct RolloutConfig {
  int64_t environments = 200;
  std::string model_actions = "greedy";
};

inline const Section<RolloutConfig>& rollout_section() {
  static const Section<RolloutConfig> s =
      Section<RolloutConfig>("rollout")
          .integer("environments", &RolloutConfig::environments, 2, 1e7,
                   "bandit environments every policy is rolled out on", Effect::Measures)
          .choice("model_actions", &RolloutConfig::model_actions, {"greedy", "sample"},
                  "the model's action: its most likely arm, or a draw from its softmax",
                  Effect::Measures);
  return s;
}

// eval.sets.<set>.spectrum: — the defaults here are the fixed ones; context, prompts, lo and hi
// default to values of the set (run/resolved_run.cpp fills them before parsing).
struct SpectrumKeys {
  int64_t points = 100, context = 20, prompts = 100;
  double lo = 0.0, hi = 0.0;
};

inline const Section<SpectrumKeys>& spectrum_section() {
  static const Section<SpectrumKeys> s =
      Section<SpectrumKeys>("spectrum")
          .integer("points", &SpectrumKeys::points, 2, 1e6, "grid points of [lo, hi)",
                   Effect::Measures)
          .integer("context", &SpectrumKeys::context, 0, 1e6,
                   "examples each prediction sees (default min(20, examples - 1))",
                   Effect::Measures)
          .integer("prompts", &SpectrumKeys::prompts, 1, 1e9,
                   "prompts averaged (default min(100, the set's prompts))", Effect::Measures)
          .real("lo", &SpectrumKeys::lo, -1e300, 1e300, "grid start (default -L of the task)",
                Effect::Measures)
          .real("hi", &SpectrumKeys::hi, -1e300, 1e300, "grid end (default L of the task)",
                Effect::Measures);
  return s;
}

}  // namespace icl

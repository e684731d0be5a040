#pragma once
// What a model declares about its memory before it is built (docs/DESIGN.md, "Errors"): its
// parameter count and the bytes one pass keeps in the step's arena, counted from its sizes the way
// its forward records ops (docs/DESIGN.md, "Ops and autodiff"). Every op's output stays in the
// arena to the end of the step and, in a training step, gets a gradient of its size in backward;
// some ops keep statistics or states for backward only; prompt data and constant gates have no
// gradient; every recorded op and parameter use adds a node (and a closure) of bookkeeping.
//
// Each model declares a counting function next to its forward (ModelInfo::footprint, and
// MixerInfo::footprint for the recurrent stack's mixers), so the run's memory check
// (run/run_checks.h) knows the model's activations without a table naming models and without
// building it. tests/test_model_memory.cpp compares every model and mixer with the arena of real
// steps: the count is an upper estimate (it never falls below what a step uses), within a small
// factor of it.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "tasks/prompt_batch.h"

namespace icl {

// One pass a memory estimate is asked about: `batch` prompts of `length` examples (vector and
// history prompts) or tokens (token prompts); a training step also records and runs backward.
struct StepShape {
  PromptKind kind = PromptKind::Vector;
  int64_t batch = 1, length = 1;
  bool training = false;
};

class Footprint {
 public:
  // Bookkeeping of one recorded op or parameter use in the arena: its node, its backward closure
  // and the alignment of its output (core/graph.h, core/arena.h).
  static constexpr double kOpBytes = 512;

  explicit Footprint(const StepShape& s) : s_(s) {}
  const StepShape& shape() const { return s_; }
  bool training() const { return s_.training; }
  double batch() const { return double(s_.batch); }
  // Positions the backbone runs over: x and y tokens of every example for vector prompts (2K), one
  // per example for history prompts (K), the tokens of token prompts (T).
  double tokens() const {
    return s_.kind == PromptKind::Vector ? 2.0 * double(s_.length) : double(s_.length);
  }
  // Positions read out: one per example (K) or per token (T).
  double outputs() const { return double(s_.length); }

  // Parameters, in scalars.
  void parameters(double n) { params_ += n; }
  // Op outputs of n floats per sequence position (tokens()) of each prompt of the batch; each
  // needs a gradient in a training step.
  void activation(double per_position) { activation_at(per_position, tokens()); }
  // The same at `positions` positions per prompt.
  void activation_at(double per_position, double positions) {
    values_ += batch() * positions * per_position;
  }
  // Floats an op keeps for its backward only (norm statistics, attention's log-sum-exp, the
  // recurrences' chunk states): counted in training steps.
  void saved(double floats) {
    if (s_.training) saved_ += floats;
  }
  void saved_per_position(double n) { saved(batch() * tokens() * n); }
  // Values without gradient (prompt data, constant gates, loss masks).
  void constant(double floats) { constants_ += floats; }
  // Ops recorded (and parameter uses) per pass.
  void ops(double n) { ops_ += n; }

  // Another count's arena floats and ops, `times` times (its parameters are not added: a caller
  // that repeats a sublayer counts them itself).
  void add(const Footprint& o, double times) {
    values_ += times * o.values_;
    saved_ += times * o.saved_;
    constants_ += times * o.constants_;
    ops_ += times * o.ops_;
  }

  double parameter_count() const { return params_; }
  // Bytes of the step's arena: values, their gradients in training, saved and constant floats,
  // bookkeeping.
  double step_bytes() const {
    return 4.0 * (values_ * (s_.training ? 2.0 : 1.0) + saved_ + constants_) + ops_ * kOpBytes;
  }

 private:
  StepShape s_;
  double params_ = 0, values_ = 0, saved_ = 0, constants_ = 0, ops_ = 0;
};

// The chunk states a linear recurrence or delta rule keeps for backward
// (kernels/linear_recurrence.h: [B·H, ⌈T/chunk⌉, dk, dv], also in the recurrent form).
inline void count_recurrence_states(Footprint& f, int64_t chunk, double heads, double dk, double dv,
                                    double positions) {
  const double chunks = std::max(1.0, std::ceil(positions / double(chunk)));
  f.saved(f.batch() * heads * chunks * dk * dv);
}

}  // namespace icl

#pragma once
// Sequence mixers: the token-mixing sublayer of a recurrent block (models/recurrent_stack.cpp).
// A mixer maps x [B, T, C] to [B, T, C] causally, owns parameters registered in the model's store
// under a prefix (`blocks.3.mixer.w_q`), and reports the size of the recurrent state it carries
// from one position to the next. Each mixer is one file (models/mixer_*.cpp) with one line in
// mixer_registry(); it is chosen by name in the model config (`mixer: deltanet`) and declares
// its own options, which the model accepts next to its own.
//
// Every mixer here follows the same outline: projections of x to queries/keys/values (and gates),
// a linear recurrence over the state (kernels/linear_recurrence.h, kernels/delta_rule.h) — or a
// long convolution (Hyena) or a classic RNN (LSTM, GRU) — then an RMSNorm over the concatenated
// head outputs (gain `out_norm.g`) and an output projection `w_out`.
// The output norm stands in for the per-head group norms of RetNet, GLA, DeltaNet and Mamba-2:
// it keeps the output scale independent of how much the state has accumulated.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "core/graph.h"
#include "core/parameter.h"
#include "core/params.h"
#include "kernels/linear_recurrence.h"
#include "models/footprint.h"

namespace icl {

// What a mixer is built from.
struct MixerContext {
  const ParamSet& params;  // the model's resolved parameters, the mixer's options among them
  int64_t width = 0;       // C
  int64_t heads = 1;       // H, divides C
  ParameterStore& store;
  std::string prefix;  // e.g. "blocks.3.mixer."
};

class Mixer {
 public:
  virtual ~Mixer() = default;
  // Initialises the mixer's parameters (each from its own named sub-stream of seed).
  virtual void init(uint64_t seed);
  // x [B, T, C] -> [B, T, C]; position t sees positions 0..t only.
  virtual Var forward(Graph& g, Var x) = 0;
  // Scalars of state carried per sequence.
  virtual int64_t state_size() const = 0;

 protected:
  explicit Mixer(const MixerContext& c);
  Parameter& add(const std::string& name, Shape shape, bool decay);
  Var P(Graph& g, const std::string& name);
  // x [B, T, C] · w_<name> (no bias).
  Var project(Graph& g, Var x, const std::string& name);
  // Adds out_norm.g [width] and w_out [width, C] for head outputs of total `width`.
  void add_output(int64_t width);
  // RMSNorm then w_out.
  Var output(Graph& g, Var o);
  // Gates [B, T, H] that do not depend on the input: per_head[h] at every position.
  Var constant_gates(Graph& g, int64_t B, int64_t T, const std::vector<float>& per_head);
  // Parameters of this mixer, by their name below the prefix.
  std::vector<std::pair<std::string, Parameter*>> own() const;

  ParameterStore& store_;
  std::string prefix_;
  int64_t C_, H_;
  ops::RecurrenceOptions rec_;

 private:
  // constant_gates' host values on a GPU, one buffer per (B, T, per_head), kept for the mixer's
  // lifetime: a captured GPU step re-reads its inputs from the same host addresses at every replay.
  std::map<std::tuple<int64_t, int64_t, std::vector<float>>, std::vector<float>> gate_values_;
};

// What a mixer's footprint (models/footprint.h) is counted from: the model's parameters, the
// width and the heads, as MixerContext gives them to make.
struct MixerSizes {
  const ParamSet& params;
  int64_t width = 0, heads = 1;
  // The chunk states a recurrence of heads × dk × dv keeps for backward.
  void recurrence_states(Footprint& f, double dk, double dv) const;
  // The shared output (models/mixer.h, Mixer::output): RMSNorm over `head_width` then w_out.
  void output(Footprint& f, double head_width) const;
};

struct MixerInfo {
  std::string name;
  std::string summary;
  ParamSpecs params;  // the mixer's own options
  std::function<std::unique_ptr<Mixer>(const MixerContext&)> make;
  // Counts one mixer's parameters and activations per pass (models/footprint.h).
  std::function<void(const MixerSizes&, Footprint&)> footprint;
};

const std::vector<MixerInfo>& mixer_registry();
const MixerInfo& find_mixer(const std::string& name);

// The recurrence options every mixer takes (`form`, `chunk`).
ParamSpecs recurrence_param_specs();
// `eigen: positive|negative`, shared by the mixers whose transitions can take either range.
ParamSpec eigen_param_spec();
// `d_state`, `d_conv`, `dt_min`, `dt_max`: the options of the Mamba mixers (mamba, mamba1).
ParamSpecs ssm_param_specs();

// The Mamba mixers' initial step sizes Δ ∈ [dt_min, dt_max] (checked: dt_min <= dt_max).
struct StepRange {
  double min, max;
  explicit StepRange(const ParamSet& p);
  // Δ's bias as Mamba initialises it: softplus⁻¹ of a step log-uniform in [min, max], raised to
  // `floor` first where it is below (Mamba-1's reference floors at 1e-4).
  void init_bias(Parameter& p, uint64_t seed, double floor = 0) const;
};

}  // namespace icl

#include "models/mixer.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/registry.h"
#include "kernels/linear.h"
#include "kernels/rmsnorm.h"
#include "models/model.h"

namespace icl {

// One line per mixer file.
void register_mixer_linear_attention(std::vector<MixerInfo>& r);
void register_mixer_retnet(std::vector<MixerInfo>& r);
void register_mixer_gla(std::vector<MixerInfo>& r);
void register_mixer_mamba(std::vector<MixerInfo>& r);
void register_mixer_mamba1(std::vector<MixerInfo>& r);
void register_mixer_deltanet(std::vector<MixerInfo>& r);
void register_mixer_mlstm(std::vector<MixerInfo>& r);
void register_mixer_hyena(std::vector<MixerInfo>& r);
void register_mixer_lstm(std::vector<MixerInfo>& r);
void register_mixer_gru(std::vector<MixerInfo>& r);

const std::vector<MixerInfo>& mixer_registry() {
  static const std::vector<MixerInfo> registry = [] {
    std::vector<MixerInfo> r;
    register_mixer_linear_attention(r);
    register_mixer_retnet(r);
    register_mixer_gla(r);
    register_mixer_mamba(r);
    register_mixer_mamba1(r);
    register_mixer_deltanet(r);
    register_mixer_mlstm(r);
    register_mixer_hyena(r);
    register_mixer_lstm(r);
    register_mixer_gru(r);
    return r;
  }();
  return registry;
}

const MixerInfo& find_mixer(const std::string& name) {
  return find_named(mixer_registry(), name, "mixer");
}

ParamSpecs recurrence_param_specs() {
  return {
      ParamSpec::choice("form", "chunked", {"chunked", "recurrent"},
                        "mixer recurrence: chunked (training form) or step by step (reference)"),
      ParamSpec::integer("chunk", 64, "chunk length of the chunked form", 1, 1 << 20),
  };
}

ParamSpec eigen_param_spec() {
  return ParamSpec::choice(
      "eigen", "positive", {"positive", "negative"},
      "deltanet, mamba, mamba1: state-transition eigenvalues in [0, 1] (positive) "
      "or [−1, 1] (negative, Grazzi et al. 2025)");
}

ParamSpecs ssm_param_specs() {
  return {
      ParamSpec::integer("d_state", 16,
                         "mamba, mamba1: state size N per head (mamba1: per channel)", 1, 65536),
      ParamSpec::integer(
          "d_conv", 4, "mamba, mamba1: width of the short convolutions (Grazzi et al.'s mamba1: 1)",
          1, 64),
      ParamSpec::real("dt_min", 1e-3, "mamba, mamba1: smallest initial step size Δ", 1e-6, 1e3),
      ParamSpec::real("dt_max", 1e-1, "mamba, mamba1: largest initial step size Δ", 1e-6, 1e3),
  };
}

StepRange::StepRange(const ParamSet& p) : min(p.r("dt_min")), max(p.r("dt_max")) {
  if (min > max) fail("model.dt_min: must not exceed dt_max = {}, got {}", max, min);
}

void StepRange::init_bias(Parameter& p, uint64_t seed, double floor) const {
  init_uniform(p, seed, 1.0);
  const double lo = std::log(min), hi = std::log(max);
  for (auto& v : p.value) {
    const double dt = std::max(floor, std::exp(lo + 0.5 * (double(v) + 1.0) * (hi - lo)));
    v = float(dt + std::log(-std::expm1(-dt)));  // softplus⁻¹(dt)
  }
}

void MixerSizes::recurrence_states(Footprint& f, double dk, double dv) const {
  count_recurrence_states(f, params.i("chunk"), double(heads), dk, dv, f.tokens());
}

void MixerSizes::output(Footprint& f, double head_width) const {
  f.parameters(head_width + head_width * double(width));
  f.activation(head_width + double(width));
  f.saved_per_position(1);
  f.ops(5);
}

Mixer::Mixer(const MixerContext& c) : store_(c.store), prefix_(c.prefix), C_(c.width), H_(c.heads) {
  rec_.form =
      c.params.s("form") == "recurrent" ? RecurrenceForm::Recurrent : RecurrenceForm::Chunked;
  rec_.chunk = c.params.i("chunk");
}

Parameter& Mixer::add(const std::string& name, Shape shape, bool decay) {
  return store_.add(prefix_ + name, shape, decay);
}

Var Mixer::P(Graph& g, const std::string& name) { return use(g, store_, prefix_ + name); }

Var Mixer::project(Graph& g, Var x, const std::string& name) {
  return ops::linear(g, x, P(g, "w_" + name));
}

void Mixer::add_output(int64_t width) {
  add("out_norm.g", {width}, false);
  add("w_out", {width, C_}, true);
}

Var Mixer::output(Graph& g, Var o) {
  return ops::linear(g, ops::rmsnorm(g, o, P(g, "out_norm.g")), P(g, "w_out"));
}

Var Mixer::constant_gates(Graph& g, int64_t B, int64_t T, const std::vector<float>& per_head) {
  const int64_t H = int64_t(per_head.size());
  auto fill = [&](float* v) {
    for (int64_t i = 0; i < B * T; ++i)
      for (int64_t h = 0; h < H; ++h) v[i * H + h] = per_head[size_t(h)];
  };
  if (!g.on_cuda()) {
    const Tensor t = g.arena().tensor({B, T, H});
    fill(t.f());
    return g.constant(t);
  }
  // On a GPU the values are staged from host memory that outlives the step (Graph::input).
  std::vector<float>& v = gate_values_[{B, T, per_head}];
  if (v.empty()) {
    v.resize(size_t(B * T * H));
    fill(v.data());
  }
  return g.constant(g.input(Tensor{v.data(), {B, T, H}, DType::F32, Device::CPU}));
}

std::vector<std::pair<std::string, Parameter*>> Mixer::own() const {
  std::vector<std::pair<std::string, Parameter*>> r;
  for (const auto& p : store_.all())
    if (p->name.starts_with(prefix_)) r.emplace_back(p->name.substr(prefix_.size()), p.get());
  return r;
}

// GPT-2's scheme: weight matrices N(0, 0.02), biases 0, norm gains 1. Mixers with parameters of
// another kind (decay rates, step sizes) set those after calling this.
void Mixer::init(uint64_t seed) {
  for (auto& [name, p] : own()) {
    if (name.ends_with(".g"))
      init_constant(*p, 1.f);
    else if (name.starts_with("b_"))
      init_constant(*p, 0.f);
    else
      init_normal(*p, seed, 0.02);
  }
}

}  // namespace icl

// DeltaNet (Schlag et al. 2021; Yang et al. 2024, chunkwise form): the delta rule
//     S_t = S_{t−1} (I − β_t k_t k_tᵀ) + β_t v_t k_tᵀ,   o_t = S_t q_t
// with q_t, k_t L2-normalised per head, so I − β_t k_t k_tᵀ has eigenvalues 1 and 1 − β_t.
// β_t = σ(x_t w_β + b_β) per head puts them in [0, 1]; `eigen: negative` uses 2σ(·) and widens
// them to [−1, 1], which is what lets the model track parity (Grazzi et al. 2025).
// fla's DeltaNet layer, which Grazzi et al.'s reference trains, adds causal depthwise short
// convolutions (width d_conv, no bias) followed by SiLU on q, k and v, and has β without a bias:
// `short_conv: true` and `beta_bias: false` give that layer. Still omitted: its output gate (off in
// the reference's configs too); the per-head norm is the mixers' shared output RMSNorm
// (models/mixer.h). State: H · dk · dv with dk = dv = C / H, plus the last d_conv − 1 inputs of the
// three convolutions when on.
#include <cmath>

#include "kernels/delta_rule.h"
#include "kernels/linear.h"
#include "kernels/long_conv.h"
#include "kernels/per_head.h"
#include "kernels/smooth_activations.h"
#include "models/mixer.h"
#include "models/model.h"

namespace icl {
namespace {

class DeltaNet final : public Mixer {
 public:
  explicit DeltaNet(const MixerContext& c)
      : Mixer(c),
        beta_scale_(c.params.s("eigen") == "negative" ? 2.f : 1.f),
        W_(c.params.b("short_conv") ? c.params.i("d_conv") : 0),
        beta_bias_(c.params.b("beta_bias")) {
    for (const char* n : {"w_q", "w_k", "w_v"}) add(n, {C_, C_}, true);
    if (W_ > 0)
      for (const char* n : {"short_q", "short_k", "short_v"}) add(n, {C_, W_}, false);
    add("w_beta", {C_, H_}, true);
    if (beta_bias_) add("b_beta", {H_}, false);
    add_output(C_);
  }

  // The convolution taps as PyTorch's Conv1d default, U(±1/√d_conv).
  void init(uint64_t seed) override {
    Mixer::init(seed);
    for (auto& [name, p] : own())
      if (name.starts_with("short_")) init_uniform(*p, seed, 1.0 / std::sqrt(double(W_)));
  }

  Var forward(Graph& g, Var x) override {
    auto branch = [&](const char* n) {
      const Var p = project(g, x, n);
      if (W_ == 0) return p;
      const Var conv = ops::long_conv(g, p, P(g, std::string("short_") + n), ConvMethod::Direct);
      return ops::silu(g, conv);
    };
    const Var q = ops::l2norm_heads(g, branch("q"), H_);
    const Var k = ops::l2norm_heads(g, branch("k"), H_);
    const Var beta = ops::sigmoid_gate(
        g, ops::linear(g, x, P(g, "w_beta"), beta_bias_ ? P(g, "b_beta") : Var{}), beta_scale_);
    return output(g, ops::delta_rule(g, q, k, branch("v"), beta, H_, {}, rec_).out);
  }

  int64_t state_size() const override { return C_ * (C_ / H_) + (W_ > 0 ? (W_ - 1) * 3 * C_ : 0); }

 private:
  float beta_scale_;
  int64_t W_;
  bool beta_bias_;
};

// q, k and their L2 norms, v, β and its sigmoid, the delta rule's output; with the short
// convolutions, each branch's convolution and SiLU (6C).
void deltanet_footprint(const MixerSizes& m, Footprint& f) {
  const double C = double(m.width), H = double(m.heads);
  const bool conv = m.params.b("short_conv");
  const double W = conv ? double(m.params.i("d_conv")) : 0;
  f.parameters(3 * C * C + C * H + (m.params.b("beta_bias") ? H : 0) + 3 * C * W);
  f.activation(6 * C + 2 * H + (conv ? 6 * C : 0));
  m.recurrence_states(f, C / H, C / H);
  f.ops(conv ? 24 : 16);
  m.output(f, C);
}

}  // namespace

void register_mixer_deltanet(std::vector<MixerInfo>& r) {
  r.push_back({"deltanet",
               "DeltaNet: delta rule with L2-normalised q, k; β = σ(·), or 2σ(·) with "
               "eigen: negative; short_conv and beta_bias: false give fla's layer",
               {eigen_param_spec(),
                ParamSpec::boolean("short_conv", false,
                                   "deltanet: SiLU(short convolution of width d_conv) on q, k "
                                   "and v, as fla's DeltaNet layer"),
                ParamSpec::boolean("beta_bias", true,
                                   "deltanet: a bias in β's projection (fla's layer has none)")},
               [](const MixerContext& c) { return std::make_unique<DeltaNet>(c); },
               deltanet_footprint});
}

}  // namespace icl

// Mamba-1 (Gu & Dao 2023) as Grazzi et al. 2025 train it (their mamba.py block, itself mamba.py's
// MambaBlock), with inner width E = expand · C:
//     x̃, z = x W_x, x W_z                                        [B, T, E] each
//     x̃ = SiLU(short_conv(x̃) + b_conv)                          depthwise, width d_conv
//     δ, B_t, C_t = x̃ W_δ, x̃ W_B, x̃ W_C                          [R], [N], [N] per position
//     Δ = softplus(δ W_Δ + b_Δ)                                  [B, T, E]
//     y = selective_scan(x̃, Δ, A_log, B, C) + D ⊙ x̃            kernels/selective_scan.h
//     out = (y ⊙ SiLU(z)) W_out
// with a diagonal A per (channel, state): A = −exp(A_log) [E, N], and with eigen: negative the
// transition 2·exp(ΔA) − 1 in (−1, 1] instead of exp(ΔA) in (0, 1]. R = dt_rank (⌈C/16⌉ when 0).
// The reference's defaults, which its configs use: expand 2, d_state 16, d_conv 1, and blocks
// without an MLP (mlp_ratio: 0). Next to the Mamba-2-style mixer (mixer_mamba.cpp) it differs in:
// A per (channel, state) rather than a scalar per head; B and C shared by all channels; Δ through
// a rank-R bottleneck per channel; no output norm.
// Initialisation as the reference: A_log = log(1..N) per channel (S4D-real), Δ's bias the inverse
// softplus of a log-uniform step in [dt_min, dt_max], W_Δ ~ U(±R^−½), D = 1, and PyTorch's
// default U(±1/√fan_in) for the other weights and the convolution (fan_in d_conv).
// Departures: in_proj's two halves are two matrices (the same function and initial distribution);
// the recurrent stack keeps its final norm, which MambaLM leaves out. State: the scan's E · N and
// the last d_conv − 1 inputs of the convolution.
#include <cmath>

#include "core/error.h"
#include "kernels/elementwise.h"
#include "kernels/gating.h"
#include "kernels/linear.h"
#include "kernels/long_conv.h"
#include "kernels/selective_scan.h"
#include "kernels/smooth_activations.h"
#include "models/mixer.h"
#include "models/model.h"

namespace icl {
namespace {

int64_t dt_rank(const ParamSet& p, int64_t C) {
  const int64_t r = p.i("dt_rank");
  return r > 0 ? r : (C + 15) / 16;
}

class Mamba1 final : public Mixer {
 public:
  explicit Mamba1(const MixerContext& c)
      : Mixer(c),
        E_(c.params.i("expand") * C_),
        N_(c.params.i("d_state")),
        W_(c.params.i("d_conv")),
        R_(dt_rank(c.params, C_)),
        steps_(c.params),
        negative_(c.params.s("eigen") == "negative") {
    add("w_x", {C_, E_}, true);
    add("w_z", {C_, E_}, true);
    add("conv", {E_, W_}, true);
    add("conv_bias", {E_}, true);
    add("w_delta", {E_, R_}, true);
    add("w_B", {E_, N_}, true);
    add("w_C", {E_, N_}, true);
    add("w_dt", {R_, E_}, true);
    add("b_dt", {E_}, true);
    add("A_log", {E_, N_}, false);
    add("D", {E_}, false);
    add("w_out", {E_, C_}, true);
  }

  void init(uint64_t seed) override {
    for (auto& [name, p] : own()) {
      if (name == "A_log") {
        for (int64_t e = 0; e < E_; ++e)
          for (int64_t n = 0; n < N_; ++n) p->value[size_t(e * N_ + n)] = float(std::log(n + 1.0));
      } else if (name == "b_dt") {
        steps_.init_bias(*p, seed, 1e-4);  // the reference's dt_init_floor
      } else if (name == "D") {
        init_constant(*p, 1.f);
      } else if (name == "w_dt") {
        init_uniform(*p, seed, 1.0 / std::sqrt(double(R_)));
      } else if (name == "conv" || name == "conv_bias") {
        init_uniform(*p, seed, 1.0 / std::sqrt(double(W_)));
      } else {
        const int64_t fan_in = p->shape[0];  // [in, out] weights
        init_uniform(*p, seed, 1.0 / std::sqrt(double(fan_in)));
      }
    }
  }

  Var forward(Graph& g, Var x) override {
    const Var conv = ops::long_conv(g, project(g, x, "x"), P(g, "conv"), ConvMethod::Direct);
    const Var xs = ops::silu(g, ops::add_channels(g, conv, P(g, "conv_bias")));
    const Var dt =
        ops::softplus(g, ops::linear(g, project(g, xs, "delta"), P(g, "w_dt"), P(g, "b_dt")));
    const Var y = ops::selective_scan(g, xs, dt, P(g, "A_log"), project(g, xs, "B"),
                                      project(g, xs, "C"), negative_, rec_);
    const Var skipped = ops::add(g, y, ops::scale_channels(g, xs, P(g, "D")));
    const Var gated = ops::multiply(g, skipped, ops::silu(g, project(g, x, "z")));
    return ops::linear(g, gated, P(g, "w_out"));
  }

  int64_t state_size() const override { return E_ * N_ + (W_ - 1) * E_; }

 private:
  int64_t E_, N_, W_, R_;
  StepRange steps_;
  bool negative_;
};

// Parameters: W_x, W_z, W_out (3CE), the convolution and its bias, x̃'s projections to δ, B, C,
// W_Δ and b_Δ, A_log and D. Activations per position: the x and z branches through the
// convolution, SiLUs, skip and gate (10E), δ (R), B and C (2N), Δ before and after the softplus
// (2E); the scan's saved states (E·N per chunk) and the backward's per-row dA_log (E·N).
void mamba1_footprint(const MixerSizes& m, Footprint& f) {
  const double C = double(m.width), E = double(m.params.i("expand")) * C,
               N = double(m.params.i("d_state")), W = double(m.params.i("d_conv")),
               R = double(dt_rank(m.params, m.width));
  f.parameters(3 * C * E + E * W + E + E * (R + 2 * N) + R * E + E + E * N + E);
  f.activation(12 * E + R + 2 * N);
  m.recurrence_states(f, N, E / double(m.heads));
  f.saved(f.batch() * E * N);
  f.ops(40);
  f.activation(C);
}

}  // namespace

void register_mixer_mamba1(std::vector<MixerInfo>& r) {
  r.push_back(
      {"mamba1",
       "Mamba-1 selective SSM (Grazzi et al.'s reference block): diagonal A per (channel, state), "
       "inner width expand·n_embd, no output norm; exp(ΔA) or 2·exp(ΔA) − 1 with eigen: negative",
       [] {
         ParamSpecs p = ssm_param_specs();
         p.push_back(ParamSpec::integer("expand", 2, "mamba1: inner width / n_embd", 1, 16));
         p.push_back(ParamSpec::integer(
             "dt_rank", 0, "mamba1: rank of Δ's projection (0: ⌈n_embd/16⌉)", 0, 65536));
         p.push_back(eigen_param_spec());
         return p;
       }(),
       [](const MixerContext& c) { return std::make_unique<Mamba1>(c); }, mamba1_footprint});
}

}  // namespace icl

// Mamba-2-style selective SSM (Dao & Gu 2024) with a scalar transition per head:
//     x̃_t, B_t, C_t = SiLU(short_conv(x W_x)), SiLU(short_conv(x W_B)), SiLU(short_conv(x W_C))
//     Δ_t = softplus(x_t w_Δ + b_Δ)                  [H]
//     a_t = exp(Δ_t A_h),  A_h = −exp(A_log,h)       or 2·exp(Δ_t A_h) − 1 with eigen: negative
//     S_t = a_t S_{t−1} + B_t (Δ_t x̃_t)ᵀ,   y_t = S_tᵀ C_t + D ⊙ x̃_t
//     out_t = W_out RMSNorm(y_t ⊙ SiLU(x_t W_z))
// with B_t, C_t of d_state per head and x̃_t of C / H per head: the gated recurrence with k = B,
// q = C, v = Δ·x̃. The short causal depthwise convolutions have width d_conv; the output RMSNorm
// of the gated product is Mamba-2's gated RMSNorm (the mixers' shared one, models/mixer.h).
// The negative form (Grazzi et al. 2025) moves the eigenvalues from (0, 1] to (−1, 1].
// Initialisation as Mamba's: A_h = −U[1, 16], Δ's bias the inverse softplus of a log-uniform step
// in [dt_min, dt_max] (Mamba's defaults 0.001, 0.1), D = 1, convolution taps U(±1/√d_conv)
// (PyTorch's Conv1d default). Differences from the Mamba-2 block: B and C are per head (as many
// groups as heads), D is per channel (Mamba-1's), and the short convolutions have no bias. State:
// the SSM's H · d_state · (C / H), plus the last d_conv − 1 inputs of the convolutions over x̃, B
// and C.
#include <cmath>

#include "core/error.h"
#include "kernels/elementwise.h"
#include "kernels/gating.h"
#include "kernels/linear.h"
#include "kernels/linear_recurrence.h"
#include "kernels/long_conv.h"
#include "kernels/per_head.h"
#include "kernels/smooth_activations.h"
#include "models/mixer.h"
#include "models/model.h"

namespace icl {
namespace {

class Mamba final : public Mixer {
 public:
  explicit Mamba(const MixerContext& c)
      : Mixer(c),
        N_(c.params.i("d_state")),
        W_(c.params.i("d_conv")),
        steps_(c.params),
        negative_(c.params.s("eigen") == "negative") {
    add("w_B", {C_, H_ * N_}, true);
    add("w_C", {C_, H_ * N_}, true);
    add("w_x", {C_, C_}, true);
    add("short_B", {H_ * N_, W_}, false);
    add("short_C", {H_ * N_, W_}, false);
    add("short_x", {C_, W_}, false);
    add("w_dt", {C_, H_}, true);
    add("b_dt", {H_}, false);
    add("A_log", {H_}, false);
    add("D", {C_}, false);
    add("w_z", {C_, C_}, true);
    add_output(C_);
  }

  void init(uint64_t seed) override {
    Mixer::init(seed);
    for (auto& [name, p] : own()) {
      if (name == "A_log") {
        init_uniform(*p, seed, 1.0);
        for (auto& v : p->value) v = float(std::log(1.0 + 7.5 * (double(v) + 1.0)));
      } else if (name == "b_dt") {
        steps_.init_bias(*p, seed);
      } else if (name == "D") {
        init_constant(*p, 1.f);
      } else if (name.starts_with("short_")) {
        init_uniform(*p, seed, 1.0 / std::sqrt(double(W_)));
      }
    }
  }

  Var forward(Graph& g, Var x) override {
    const Var dt = ops::softplus(g, ops::linear(g, x, P(g, "w_dt"), P(g, "b_dt")));
    const Var a = ops::ssm_decay(g, dt, P(g, "A_log"), negative_);
    auto branch = [&](const char* n) {
      return ops::silu(g, ops::long_conv(g, project(g, x, n), P(g, std::string("short_") + n),
                                         ConvMethod::Direct));
    };
    const Var xs = branch("x");
    const Var v = ops::scale_heads(g, xs, dt);
    const Var y = ops::gated_linear_attention(g, branch("C"), branch("B"), v, a, H_, {}, rec_).out;
    const Var skipped = ops::add(g, y, ops::scale_channels(g, xs, P(g, "D")));
    return output(g, ops::multiply(g, skipped, ops::silu(g, project(g, x, "z"))));
  }

  int64_t state_size() const override {
    return H_ * N_ * (C_ / H_) + (W_ - 1) * (C_ + 2 * H_ * N_);
  }

 private:
  int64_t N_, W_;
  StepRange steps_;
  bool negative_;
};

// Δ, its softplus and the decay (3H); the x branch, its scaled copy, the skip, the z gate (10C with
// the recurrence's output); the B and C branches (projection, short convolution, SiLU: 6·H·N).
void mamba_footprint(const MixerSizes& m, Footprint& f) {
  const double C = double(m.width), H = double(m.heads), N = double(m.params.i("d_state")),
               W = double(m.params.i("d_conv"));
  f.parameters(2 * C * H * N + 2 * C * C + (2 * H * N + C) * W + C * H + 2 * H + C);
  f.activation(10 * C + 6 * H * N + 3 * H);
  m.recurrence_states(f, N, C / H);
  f.ops(40);
  m.output(f, C);
}

}  // namespace

void register_mixer_mamba(std::vector<MixerInfo>& r) {
  r.push_back({"mamba",
               "Mamba-2-style selective SSM, scalar decay exp(ΔA) per head (or 2·exp(ΔA) − 1 with "
               "eigen: negative)",
               [] {
                 ParamSpecs p = ssm_param_specs();
                 p.push_back(eigen_param_spec());
                 return p;
               }(),
               [](const MixerContext& c) { return std::make_unique<Mamba>(c); }, mamba_footprint});
}

}  // namespace icl

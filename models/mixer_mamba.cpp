// Mamba-2-style selective SSM (Dao & Gu 2024) with a scalar transition per head:
//     Δ_t = softplus(x_t w_Δ + b_Δ)                  [H]
//     a_t = exp(Δ_t A_h),  A_h = −exp(A_log,h)       or 2·exp(Δ_t A_h) − 1 with eigen: negative
//     S_t = a_t S_{t−1} + B_t (Δ_t x̃_t)ᵀ,   y_t = S_tᵀ C_t
// with B_t = x_t W_B, C_t = x_t W_C (d_state per head) and x̃_t = x_t W_x (C / H per head): the
// gated recurrence with k = B, q = C, v = Δ·x̃. The negative form (Grazzi et al. 2025) moves the
// eigenvalues from (0, 1] to (−1, 1]. Initialisation as Mamba's: A_h = −U[1, 16], Δ's bias the
// inverse softplus of a log-uniform step in [0.001, 0.1].
// Differences from the Mamba-2 block, on purpose or for lack of ops: B and C are per head
// (Mamba-2 with as many groups as heads) and there is no short causal depthwise convolution, no
// D·x skip and no SiLU output gate; the gated RMSNorm is the mixers' shared output RMSNorm.
// State: H · d_state · (C / H).
#include <cmath>

#include "kernels/linear.h"
#include "kernels/linear_recurrence.h"
#include "kernels/per_head.h"
#include "kernels/smooth_activations.h"
#include "models/mixer.h"
#include "models/model.h"

namespace icl {
namespace {

class Mamba final : public Mixer {
 public:
  explicit Mamba(const MixerContext& c)
      : Mixer(c), N_(c.params.i("d_state")), negative_(c.params.s("eigen") == "negative") {
    add("w_B", {C_, H_ * N_}, true);
    add("w_C", {C_, H_ * N_}, true);
    add("w_x", {C_, C_}, true);
    add("w_dt", {C_, H_}, true);
    add("b_dt", {H_}, false);
    add("A_log", {H_}, false);
    add_output(C_);
  }

  void init(uint64_t seed) override {
    Mixer::init(seed);
    for (auto& [name, p] : own()) {
      if (name == "A_log") {
        init_uniform(*p, seed, 1.0);
        for (auto& v : p->value) v = float(std::log(1.0 + 7.5 * (double(v) + 1.0)));
      } else if (name == "b_dt") {
        init_uniform(*p, seed, 1.0);
        const double lo = std::log(1e-3), hi = std::log(1e-1);
        for (auto& v : p->value) {
          const double dt = std::exp(lo + 0.5 * (double(v) + 1.0) * (hi - lo));
          v = float(dt + std::log(-std::expm1(-dt)));  // softplus⁻¹(dt)
        }
      }
    }
  }

  Var forward(Graph& g, Var x) override {
    const Var dt = ops::softplus(g, ops::linear(g, x, P(g, "w_dt"), P(g, "b_dt")));
    const Var a = ops::ssm_decay(g, dt, P(g, "A_log"), negative_);
    const Var v = ops::scale_heads(g, project(g, x, "x"), dt);
    return output(g, ops::gated_linear_attention(g, project(g, x, "C"), project(g, x, "B"), v, a,
                                                 H_, {}, rec_)
                         .out);
  }

  int64_t state_size() const override { return H_ * N_ * (C_ / H_); }

 private:
  int64_t N_;
  bool negative_;
};

}  // namespace

void register_mixer_mamba(std::vector<MixerInfo>& r) {
  r.push_back({"mamba",
               "Mamba-2-style selective SSM, scalar decay exp(ΔA) per head (or 2·exp(ΔA) − 1 with "
               "eigen: negative)",
               {ParamSpec::integer("d_state", 16, "mamba: state size N per head", 1, 65536),
                eigen_param_spec()},
               [](const MixerContext& c) { return std::make_unique<Mamba>(c); }});
}

}  // namespace icl

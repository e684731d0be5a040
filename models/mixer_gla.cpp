// Gated linear attention (Yang et al. 2024, GLA): a data-dependent decay per key dimension,
//     S_t = diag(α_t) S_{t−1} + k_t v_tᵀ,   o_t = S_tᵀ q_t,
//     α_t = σ(x_t W_α,down W_α,up + b_α)^(1/τ)
// with the paper's low-rank gate projection (rank `gate_rank`, 16) and temperature τ = `gate_tau`
// (16), which keeps the gates near 1 at initialisation. Omitted from the full GLA layer: the swish
// output gate; the per-head norm is the mixers' shared output RMSNorm (models/mixer.h).
// State: H · dk · dv with dk = dv = C / H.
#include "kernels/linear.h"
#include "kernels/linear_recurrence.h"
#include "kernels/smooth_activations.h"
#include "models/mixer.h"

namespace icl {
namespace {

class Gla final : public Mixer {
 public:
  explicit Gla(const MixerContext& c) : Mixer(c), tau_(c.params.r("gate_tau")) {
    const int64_t rank = c.params.i("gate_rank");
    for (const char* n : {"w_q", "w_k", "w_v"}) add(n, {C_, C_}, true);
    add("w_alpha_down", {C_, rank}, true);
    add("w_alpha_up", {rank, C_}, true);
    add("b_alpha", {C_}, false);
    add_output(C_);
  }

  Var forward(Graph& g, Var x) override {
    const Var z = ops::linear(g, project(g, x, "alpha_down"), P(g, "w_alpha_up"), P(g, "b_alpha"));
    const Var alpha = ops::sigmoid_gate(g, z, 1.f, float(1.0 / tau_));
    return output(g, ops::gated_linear_attention(g, project(g, x, "q"), project(g, x, "k"),
                                                 project(g, x, "v"), alpha, H_, {}, rec_)
                         .out);
  }

  int64_t state_size() const override { return C_ * (C_ / H_); }

 private:
  double tau_;
};

// The low-rank gate (rank, C, C), q, k, v, the recurrence's output.
void gla_footprint(const MixerSizes& m, Footprint& f) {
  const double C = double(m.width), H = double(m.heads), r = double(m.params.i("gate_rank"));
  f.parameters(3 * C * C + 2 * C * r + C);
  f.activation(6 * C + r);
  m.recurrence_states(f, C / H, C / H);
  f.ops(16);
  m.output(f, C);
}

}  // namespace

void register_mixer_gla(std::vector<MixerInfo>& r) {
  r.push_back(
      {"gla",
       "gated linear attention (Yang et al. 2024): gates σ(low-rank(x))^(1/τ) per key dimension",
       {ParamSpec::real("gate_tau", 16.0, "gla: gate temperature τ in σ(·)^(1/τ)", 1e-3, 1e6),
        ParamSpec::integer("gate_rank", 16, "gla: rank of the gate projection", 1, 65536)},
       [](const MixerContext& c) { return std::make_unique<Gla>(c); },
       gla_footprint});
}

}  // namespace icl

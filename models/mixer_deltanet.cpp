// DeltaNet (Schlag et al. 2021; Yang et al. 2024, chunkwise form): the delta rule
//     S_t = S_{t−1} (I − β_t k_t k_tᵀ) + β_t v_t k_tᵀ,   o_t = S_t q_t
// with q_t, k_t L2-normalised per head, so I − β_t k_t k_tᵀ has eigenvalues 1 and 1 − β_t.
// β_t = σ(x_t w_β + b_β) per head puts them in [0, 1]; `eigen: negative` uses 2σ(·) and widens
// them to [−1, 1], which is what lets the model track parity (Grazzi et al. 2025).
// Omitted from fla's DeltaNet layer: the short convolutions and SiLU on q, k, v and the output
// gate; the per-head norm is the mixers' shared output RMSNorm (models/mixer.h).
// State: H · dk · dv with dk = dv = C / H.
#include "kernels/delta_rule.h"
#include "kernels/linear.h"
#include "kernels/per_head.h"
#include "kernels/smooth_activations.h"
#include "models/mixer.h"

namespace icl {
namespace {

class DeltaNet final : public Mixer {
 public:
  explicit DeltaNet(const MixerContext& c)
      : Mixer(c), beta_scale_(c.params.s("eigen") == "negative" ? 2.f : 1.f) {
    for (const char* n : {"w_q", "w_k", "w_v"}) add(n, {C_, C_}, true);
    add("w_beta", {C_, H_}, true);
    add("b_beta", {H_}, false);
    add_output(C_);
  }

  Var forward(Graph& g, Var x) override {
    const Var q = ops::l2norm_heads(g, project(g, x, "q"), H_);
    const Var k = ops::l2norm_heads(g, project(g, x, "k"), H_);
    const Var beta =
        ops::sigmoid_gate(g, ops::linear(g, x, P(g, "w_beta"), P(g, "b_beta")), beta_scale_);
    return output(g, ops::delta_rule(g, q, k, project(g, x, "v"), beta, H_, {}, rec_).out);
  }

  int64_t state_size() const override { return C_ * (C_ / H_); }

 private:
  float beta_scale_;
};

// q, k and their L2 norms, v, β and its sigmoid, the delta rule's output.
void deltanet_footprint(const MixerSizes& m, Footprint& f) {
  const double C = double(m.width), H = double(m.heads);
  f.parameters(3 * C * C + C * H + H);
  f.activation(6 * C + 2 * H);
  m.recurrence_states(f, C / H, C / H);
  f.ops(16);
  m.output(f, C);
}

}  // namespace

void register_mixer_deltanet(std::vector<MixerInfo>& r) {
  r.push_back({"deltanet",
               "DeltaNet: delta rule with L2-normalised q, k; β = σ(·), or 2σ(·) with "
               "eigen: negative",
               {eigen_param_spec()},
               [](const MixerContext& c) { return std::make_unique<DeltaNet>(c); },
               deltanet_footprint});
}

}  // namespace icl

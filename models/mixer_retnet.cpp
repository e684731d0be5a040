// RetNet's retention (Sun et al. 2023) in its recurrent form: a fixed decay per head,
//     S_t = γ_h S_{t−1} + k_t v_tᵀ,   o_t = S_tᵀ q_t,   γ_h = 1 − 2^(−5−h)   (h = 0..H−1)
// the schedule of the paper and its reference code (torchscale). Omitted from the full RetNet
// block: xPos rotations of q and k and the swish output gate; the per-head GroupNorm is the
// mixers' shared output RMSNorm (models/mixer.h). State: H · dk · dv with dk = dv = C / H.
#include <cmath>

#include "kernels/linear_recurrence.h"
#include "models/mixer.h"

namespace icl {
namespace {

class Retention final : public Mixer {
 public:
  explicit Retention(const MixerContext& c) : Mixer(c) {
    for (const char* n : {"w_q", "w_k", "w_v"}) add(n, {C_, C_}, true);
    add_output(C_);
    for (int64_t h = 0; h < H_; ++h) gamma_.push_back(float(1.0 - std::exp2(-5.0 - double(h))));
  }

  Var forward(Graph& g, Var x) override {
    const int64_t B = x.shape()[0], T = x.shape()[1];
    const Var gates = constant_gates(g, B, T, gamma_);
    return output(g, ops::gated_linear_attention(g, project(g, x, "q"), project(g, x, "k"),
                                                 project(g, x, "v"), gates, H_, {}, rec_)
                         .out);
  }

  int64_t state_size() const override { return C_ * (C_ / H_); }

 private:
  std::vector<float> gamma_;
};

// q, k, v, the recurrence's output; the fixed gates without gradient.
void retnet_footprint(const MixerSizes& m, Footprint& f) {
  const double C = double(m.width), H = double(m.heads);
  f.parameters(3 * C * C);
  f.activation(4 * C);
  f.constant(f.batch() * f.tokens() * H);
  m.recurrence_states(f, C / H, C / H);
  f.ops(10);
  m.output(f, C);
}

}  // namespace

void register_mixer_retnet(std::vector<MixerInfo>& r) {
  r.push_back({"retnet",
               "RetNet retention: fixed per-head decay 1 − 2^(−5−h)",
               {},
               [](const MixerContext& c) { return std::make_unique<Retention>(c); },
               retnet_footprint});
}

}  // namespace icl

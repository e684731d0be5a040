// Linear attention (Katharopoulos et al. 2020, "Transformers are RNNs"): with feature map φ,
//     S_t = S_{t−1} + φ(k_t) v_tᵀ,   o_t = S_tᵀ φ(q_t)
// i.e. the gated recurrence with every gate 1. φ is elu(·) + 1 (the paper's choice) or the
// identity (`feature_map: identity`, plain linear attention). The paper's denominator
// φ(q_t)·Σ_s φ(k_s) is replaced by the mixers' shared RMSNorm on the output (models/mixer.h),
// which likewise removes the growth of o_t with t, and which q-scaling does not change.
// State: H · dk · dv scalars with dk = dv = C / H.
#include "kernels/linear_recurrence.h"
#include "kernels/smooth_activations.h"
#include "models/mixer.h"

namespace icl {
namespace {

class LinearAttention final : public Mixer {
 public:
  explicit LinearAttention(const MixerContext& c)
      : Mixer(c), elu_(c.params.s("feature_map") == "elu1") {
    for (const char* n : {"w_q", "w_k", "w_v"}) add(n, {C_, C_}, true);
    add_output(C_);
  }

  Var forward(Graph& g, Var x) override {
    const int64_t B = x.shape()[0], T = x.shape()[1];
    Var q = project(g, x, "q"), k = project(g, x, "k");
    if (elu_) {
      q = ops::elu_plus_one(g, q);
      k = ops::elu_plus_one(g, k);
    }
    const Var ones = constant_gates(g, B, T, std::vector<float>(size_t(H_), 1.f));
    return output(g,
                  ops::gated_linear_attention(g, q, k, project(g, x, "v"), ones, H_, {}, rec_).out);
  }

  int64_t state_size() const override { return C_ * (C_ / H_); }

 private:
  bool elu_;
};

// q, k (and φ of each), v, the recurrence's output; gates of 1 without gradient.
void linear_attention_footprint(const MixerSizes& m, Footprint& f) {
  const double C = double(m.width), H = double(m.heads);
  f.parameters(3 * C * C);
  f.activation(m.params.s("feature_map") == "elu1" ? 6 * C : 4 * C);
  f.constant(f.batch() * f.tokens() * H);
  m.recurrence_states(f, C / H, C / H);
  f.ops(12);
  m.output(f, C);
}

}  // namespace

void register_mixer_linear_attention(std::vector<MixerInfo>& r) {
  r.push_back({"linear_attention",
               "linear attention (Katharopoulos et al. 2020), no decay",
               {ParamSpec::choice("feature_map", "elu1", {"elu1", "identity"},
                                  "linear_attention: φ on queries and keys (elu(·) + 1, or none)")},
               [](const MixerContext& c) { return std::make_unique<LinearAttention>(c); },
               linear_attention_footprint});
}

}  // namespace icl

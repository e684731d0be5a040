// mLSTM, the matrix-memory cell of xLSTM (Beck et al. 2024), per head:
//     C_t = f_t C_{t−1} + i_t v_t k_tᵀ,   n_t = f_t n_{t−1} + i_t k_t,
//     h_t = C_t q_t / max(|n_tᵀ q_t|, 1),
//     f_t = σ(x_t w_f + b_f),   i_t = exp(x_t w_i + b_i),   k_t scaled by 1/√dk
// with the paper's stabiliser m_t (kernels/mlstm.h): the state and the normaliser both run on the
// gated recurrence with the stabilised gates, the normaliser as a second recurrence whose value is
// the constant 1. Forget-gate biases start in [3, 6] as in xLSTM, so the cell remembers at first.
// Omitted from the xLSTM block: the output gate, the up-projection and the short convolution;
// the per-head norm is the mixers' shared output RMSNorm (models/mixer.h).
// State: H · dk · (dv + 1) with dk = dv = C / H (the matrix memory and the normaliser).
#include <cmath>

#include "kernels/elementwise.h"
#include "kernels/linear.h"
#include "kernels/linear_recurrence.h"
#include "kernels/mlstm.h"
#include "kernels/per_head.h"
#include "models/mixer.h"
#include "models/model.h"

namespace icl {
namespace {

class Mlstm final : public Mixer {
 public:
  explicit Mlstm(const MixerContext& c) : Mixer(c) {
    for (const char* n : {"w_q", "w_k", "w_v"}) add(n, {C_, C_}, true);
    add("w_f", {C_, H_}, true);
    add("b_f", {H_}, false);
    add("w_i", {C_, H_}, true);
    add("b_i", {H_}, false);
    add_output(C_);
  }

  void init(uint64_t seed) override {
    Mixer::init(seed);
    for (auto& [name, p] : own())
      if (name == "b_f") {
        init_uniform(*p, seed, 1.5);
        for (auto& v : p->value) v += 4.5f;
      }
  }

  Var forward(Graph& g, Var x) override {
    const int64_t B = x.shape()[0], T = x.shape()[1], dk = C_ / H_;
    const ops::MlstmGates gates =
        ops::mlstm_stabilise(g, ops::linear(g, x, P(g, "w_f"), P(g, "b_f")),
                             ops::linear(g, x, P(g, "w_i"), P(g, "b_i")));
    const Var q = project(g, x, "q");
    const Var k =
        ops::scale_heads(g, ops::scale(g, project(g, x, "k"), float(1.0 / std::sqrt(double(dk)))),
                         gates.input_scale);
    const Var o =
        ops::gated_linear_attention(g, q, k, project(g, x, "v"), gates.decay, H_, {}, rec_).out;
    const Var ones = constant_gates(g, B, T, std::vector<float>(size_t(H_), 1.f));
    const Var den = ops::gated_linear_attention(g, q, k, ones, gates.decay, H_, {}, rec_).out;
    return output(g, ops::mlstm_normalise(g, o, den, gates.floor));
  }

  int64_t state_size() const override { return H_ * (C_ / H_) * (C_ / H_ + 1); }
};

// The forget and input gates and their stabilised forms (5H), q, k scaled twice, v, the two
// recurrences' outputs and the normalised output (7C); the floor and the ones without gradient.
void mlstm_footprint(const MixerSizes& m, Footprint& f) {
  const double C = double(m.width), H = double(m.heads);
  f.parameters(3 * C * C + 2 * (C * H + H));
  f.activation(7 * C + 5 * H);
  f.constant(2 * f.batch() * f.tokens() * H);
  m.recurrence_states(f, C / H, C / H);
  m.recurrence_states(f, C / H, 1);
  f.ops(30);
  m.output(f, C);
}

}  // namespace

void register_mixer_mlstm(std::vector<MixerInfo>& r) {
  r.push_back({"mlstm",
               "mLSTM (xLSTM): matrix memory with exponential input and sigmoid forget gates, "
               "stabilised, normalised by max(|nᵀq|, 1)",
               {},
               [](const MixerContext& c) { return std::make_unique<Mlstm>(c); },
               mlstm_footprint});
}

}  // namespace icl

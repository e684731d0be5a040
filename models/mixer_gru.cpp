// GRU (Cho et al. 2014; PyTorch's convention, kernels/gru.h) as a token mixer: the input
// pre-activations of the reset, update and candidate gates for every token in one product,
//     x_t W_x + b_x,   recurrent h_{t−1} W_h with the candidate's recurrent bias b_hn,
// hidden size C, then the mixers' shared output RMSNorm and projection (models/mixer.h).
// One form only: the recurrence is nonlinear, so there is no chunked form (`form` is ignored).
// State: h, C.
#include "kernels/gru.h"
#include "kernels/linear.h"
#include "models/mixer.h"

namespace icl {
namespace {

class Gru final : public Mixer {
 public:
  explicit Gru(const MixerContext& c) : Mixer(c) {
    add("w_x", {C_, 3 * C_}, true);
    add("b_x", {3 * C_}, false);
    add("w_h", {C_, 3 * C_}, true);
    add("b_hn", {C_}, false);
    add_output(C_);
  }

  Var forward(Graph& g, Var x) override {
    const Var gates = ops::linear(g, x, P(g, "w_x"), P(g, "b_x"));
    return output(g, ops::gru(g, gates, P(g, "w_h"), P(g, "b_hn")).h);
  }

  int64_t state_size() const override { return C_; }
};

// The input gates (3C) and h (C); kept for backward: the cell's saved values (4C) and the
// recurrent weights' work buffer (3C).
void gru_footprint(const MixerSizes& m, Footprint& f) {
  const double C = double(m.width);
  f.parameters(6 * C * C + 4 * C);
  f.activation(4 * C);
  f.saved_per_position(7 * C);
  f.ops(8);
  m.output(f, C);
}

}  // namespace

void register_mixer_gru(std::vector<MixerInfo>& r) {
  r.push_back({"gru",
               "GRU over the width (PyTorch convention: reset gate after W_h, bias b_hn)",
               {},
               [](const MixerContext& c) { return std::make_unique<Gru>(c); },
               gru_footprint});
}

}  // namespace icl

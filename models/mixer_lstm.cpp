// LSTM (Hochreiter & Schmidhuber 1997; PyTorch's gate conventions, kernels/lstm.h) as a token
// mixer: the input pre-activations of the four gates for every token in one product,
//     a_t = x_t W_x + b_x  (+ h_{t−1} W_h inside the recurrence),   hidden size C,
// then the mixers' shared output RMSNorm and projection (models/mixer.h). The forget-gate bias
// starts at 1 (Jozefowicz et al. 2015) so that the cell remembers at first.
// One form only: the recurrence is nonlinear, so there is no chunked form (`form` is ignored).
// State: h and c, 2 · C.
#include "kernels/linear.h"
#include "kernels/lstm.h"
#include "models/mixer.h"
#include "models/model.h"

namespace icl {
namespace {

class Lstm final : public Mixer {
 public:
  explicit Lstm(const MixerContext& c) : Mixer(c) {
    add("w_x", {C_, 4 * C_}, true);
    add("b_x", {4 * C_}, false);
    add("w_h", {C_, 4 * C_}, true);
    add_output(C_);
  }

  void init(uint64_t seed) override {
    Mixer::init(seed);
    for (auto& [name, p] : own())
      if (name == "b_x")
        for (int64_t j = C_; j < 2 * C_; ++j) p->value[size_t(j)] = 1.f;
  }

  Var forward(Graph& g, Var x) override {
    const Var gates = ops::linear(g, x, P(g, "w_x"), P(g, "b_x"));
    return output(g, ops::lstm(g, gates, P(g, "w_h")).h);
  }

  int64_t state_size() const override { return 2 * C_; }
};

// The input gates (4C) and h (C); kept for backward: the cell's saved values (5C) and the
// recurrent weight's work buffer (4C).
void lstm_footprint(const MixerSizes& m, Footprint& f) {
  const double C = double(m.width);
  f.parameters(8 * C * C + 4 * C);
  f.activation(5 * C);
  f.saved_per_position(9 * C);
  f.ops(8);
  m.output(f, C);
}

}  // namespace

void register_mixer_lstm(std::vector<MixerInfo>& r) {
  r.push_back({"lstm",
               "LSTM over the width (PyTorch gate order i, f, g, o; forget bias 1)",
               {},
               [](const MixerContext& c) { return std::make_unique<Lstm>(c); },
               lstm_footprint});
}

}  // namespace icl

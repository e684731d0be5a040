// Hyena-style long convolution (Poli et al. 2023), the order-2 operator as in their code:
//     x₁, x₂, v = short_conv(x W_{x1}), short_conv(x W_{x2}), short_conv(x W_v)
//     y = x₂ ⊙ (h ∗ (x₁ ⊙ v))
// with causal depthwise convolutions (kernels/long_conv.h): short ones of width 3 and one long
// filter h [C, filter_len], then the mixers' shared output RMSNorm and projection (models/mixer.h).
// Difference from Hyena: h is an explicit parameter (as in Fu et al. 2023's long convolutions)
// rather than an FFN of positional features, so it has filter_len taps per channel and inputs
// further back than that are not seen. It starts as noise under an exponential window whose time
// constant runs from 2 to filter_len across channels, Hyena's window modulation at init.
// Forms: `form: chunked` convolves by FFT (the training form), `recurrent` by the direct sums.
// State: what a causal convolution must keep to continue, the last filter_len − 1 inputs of the
// long filter (C each) and the last 2 of each short one (3C each).
#include <cmath>

#include "kernels/gating.h"
#include "kernels/long_conv.h"
#include "models/mixer.h"
#include "models/model.h"

namespace icl {
namespace {

constexpr int64_t kShortWidth = 3;

class Hyena final : public Mixer {
 public:
  explicit Hyena(const MixerContext& c)
      : Mixer(c),
        L_(c.params.i("filter_len")),
        method_(c.params.s("form") == "recurrent" ? ConvMethod::Direct : ConvMethod::Fft) {
    for (const char* n : {"x1", "x2", "v"}) {
      add(std::string("w_") + n, {C_, C_}, true);
      add(std::string("short_") + n, {C_, kShortWidth}, false);
    }
    add("filter", {C_, L_}, false);
    add_output(C_);
  }

  void init(uint64_t seed) override {
    Mixer::init(seed);
    for (auto& [name, p] : own()) {
      if (name.starts_with("short_")) {
        // PyTorch's default for a depthwise Conv1d: U(±1/√fan_in), fan_in = width.
        init_uniform(*p, seed, 1.0 / std::sqrt(double(kShortWidth)));
      } else if (name == "filter") {
        init_uniform(*p, seed, 1.0);
        for (int64_t c = 0; c < C_; ++c) {
          const double frac = C_ > 1 ? double(c) / double(C_ - 1) : 0.0;
          const double tau = 2.0 * std::pow(std::max(1.0, double(L_) / 2.0), frac);
          for (int64_t k = 0; k < L_; ++k)
            p->value[size_t(c * L_ + k)] *= float(std::exp(-double(k) / tau) / std::sqrt(tau));
        }
      }
    }
  }

  Var forward(Graph& g, Var x) override {
    auto branch = [&](const char* n) {
      return ops::long_conv(g, project(g, x, n), P(g, std::string("short_") + n),
                            ConvMethod::Direct);
    };
    const Var x1 = branch("x1"), x2 = branch("x2"), v = branch("v");
    const Var y = ops::long_conv(g, ops::multiply(g, x1, v), P(g, "filter"), method_);
    return output(g, ops::multiply(g, x2, y));
  }

  int64_t state_size() const override { return C_ * (L_ - 1) + 3 * C_ * (kShortWidth - 1); }

 private:
  int64_t L_;
  ConvMethod method_;
};

// Three projections and their short convolutions (6C), the product, the long convolution and the
// gated product (3C).
void hyena_footprint(const MixerSizes& m, Footprint& f) {
  const double C = double(m.width), taps = double(m.params.i("filter_len"));
  f.parameters(3 * C * C + 3 * C * double(kShortWidth) + C * taps);
  f.activation(9 * C);
  f.ops(20);
  m.output(f, C);
}

}  // namespace

void register_mixer_hyena(std::vector<MixerInfo>& r) {
  r.push_back({"hyena",
               "Hyena-style order-2 long convolution x₂ ⊙ (h ∗ (x₁ ⊙ v)), explicit filter, short "
               "convolutions of width 3",
               {ParamSpec::integer("filter_len", 256,
                                   "hyena: taps of the long filter (inputs further back are not "
                                   "seen)",
                                   1, 1 << 20)},
               [](const MixerContext& c) { return std::make_unique<Hyena>(c); },
               hyena_footprint});
}

}  // namespace icl

// Recurrent backbone: the transformer's read-in/read-out (models/io_layers.h) around L pre-norm
// blocks whose token mixer is chosen by name (models/mixer.h):
//     x ← x + mixer(N₁(x))
//     x ← x + W₂ gelu(W₁ N₂(x) + b₁) + b₂          (only when mlp_ratio > 0)
// then a final norm N_f and the read-out. N is LayerNorm or RMSNorm. Positions are carried by the
// recurrence, so the learned positional table is off by default (`pos: learned` adds it).
// MLP weights N(0, 0.02), its output projection N(0, 0.02/√(2L)) as GPT-2's residual projections.
// state_size() is the sum of the mixers' states (the MLPs carry none).
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "kernels/activation.h"
#include "kernels/elementwise.h"
#include "kernels/layernorm.h"
#include "kernels/linear.h"
#include "kernels/rmsnorm.h"
#include "models/io_layers.h"
#include "models/mixer.h"
#include "models/mlp.h"
#include "models/model.h"

namespace icl {
namespace {

class RecurrentStack final : public Model {
 public:
  RecurrentStack(const ParamSet& p, const ModelIO& io)
      : Model("recurrent", p, io),
        L_(p.i("n_layer")),
        H_(p.i("n_head")),
        C_(p.i("n_embd")),
        hidden_(p.i("mlp_ratio") * p.i("n_embd")),
        rms_(p.s("norm") == "rmsnorm"),
        io_layers_(store_, io, C_, p.s("pos") == "learned", "recurrent") {
    if (C_ % H_ != 0) fail("model.n_head: must divide n_embd = {}, got {}", C_, H_);
    const MixerInfo& mixer = find_mixer(p.s("mixer"));
    for (int64_t l = 0; l < L_; ++l) {
      const std::string b = fmt::format("blocks.{}.", l);
      add_norm(b + "norm1");
      mixers_.push_back(mixer.make(MixerContext{p, C_, H_, store_, b + "mixer."}));
      if (hidden_ > 0) {
        add_norm(b + "norm2");
        add_mlp(store_, b, C_, hidden_);
      }
    }
    add_norm("norm_f");
  }

  void init(uint64_t seed) override {
    for (auto& m : mixers_) m->init(seed);
    const double resid_std = 0.02 / std::sqrt(2.0 * double(L_));
    for (auto& p : store_.all()) {
      const std::string& n = p->name;
      if (io_layers_.init(*p, seed) || n.find(".mixer.") != std::string::npos) continue;
      if (n.ends_with(".g"))
        init_constant(*p, 1.f);
      else if (n.ends_with(".b") || n.find(".b_") != std::string::npos)
        init_constant(*p, 0.f);
      else if (n.ends_with("mlp.w_out"))
        init_normal(*p, seed, resid_std);
      else
        init_normal(*p, seed, 0.02);
    }
  }

  Var forward(Graph& g, const PromptBatch& pb) override {
    Var x = io_layers_.read_in(g, pb);
    for (int64_t l = 0; l < L_; ++l) {
      const std::string b = fmt::format("blocks.{}.", l);
      x = ops::add(g, x, mixers_[size_t(l)]->forward(g, norm(g, x, b + "norm1")));
      if (hidden_ > 0) x = ops::add(g, x, mlp(g, store_, norm(g, x, b + "norm2"), b));
      g.probe(x);
    }
    return io_layers_.read_out(g, pb, norm(g, x, "norm_f"));
  }

  int64_t state_size() const override {
    int64_t s = 0;
    for (const auto& m : mixers_) s += m->state_size();
    return s;
  }

 private:
  void add_norm(const std::string& prefix) {
    store_.add(prefix + ".g", {C_}, false);
    if (!rms_) store_.add(prefix + ".b", {C_}, false);
  }

  Var P(Graph& g, const std::string& name) { return use(g, store_, name); }

  Var norm(Graph& g, Var x, const std::string& prefix) {
    return rms_ ? ops::rmsnorm(g, x, P(g, prefix + ".g"))
                : ops::layernorm(g, x, P(g, prefix + ".g"), P(g, prefix + ".b"));
  }

  int64_t L_, H_, C_, hidden_;
  bool rms_;
  IoLayers io_layers_;
  std::vector<std::unique_ptr<Mixer>> mixers_;
};

ParamSpecs recurrent_param_specs() {
  std::vector<std::string> names;
  for (const auto& m : mixer_registry()) names.push_back(m.name);
  ParamSpecs specs = {
      ParamSpec::choice("mixer", "deltanet", names, "token mixer of every block"),
      ParamSpec::integer("n_layer", 2, "number of blocks", 1, 1024),
      ParamSpec::integer("n_head", 2, "heads (must divide n_embd)", 1, 1024),
      ParamSpec::integer("n_embd", 64, "width", 1, 65536),
      ParamSpec::integer("mlp_ratio", 4, "MLP hidden width / n_embd (0: no MLP sublayer)", 0, 64),
      ParamSpec::choice("pos", "none", {"none", "learned"}, "positional embeddings"),
      ParamSpec::choice("norm", "layernorm", {"layernorm", "rmsnorm"}, "normalisation"),
  };
  for (const ParamSpec& s : recurrence_param_specs()) specs.push_back(s);
  // The mixers' own options; one shared by several mixers (eigen) is declared once.
  for (const auto& m : mixer_registry())
    for (const ParamSpec& s : m.params) {
      bool seen = false;
      for (const ParamSpec& t : specs) seen = seen || t.name == s.name;
      if (!seen) specs.push_back(s);
    }
  return specs;
}

// The stack's footprint (models/footprint.h): per block and position the first norm and the
// residual add (2C), the mixer's own (MixerInfo::footprint), and with an MLP its norm, the MLP and
// the add (3C + 2·hidden); every norm keeps its statistics for backward.
void recurrent_footprint(const ParamSet& p, const ModelIO& io, Footprint& f) {
  const int64_t width = p.i("n_embd");
  const double L = double(p.i("n_layer")), C = double(width);
  const double hidden = double(p.i("mlp_ratio")) * C;
  const bool rms = p.s("norm") == "rmsnorm";
  const double norm_params = rms ? C : 2 * C, stats = rms ? 1 : 2;
  IoLayers::count_read_in(f, io, width, p.s("pos") == "learned");
  // One block's mixer, counted once and scaled by the blocks.
  Footprint mixer(f.shape());
  find_mixer(p.s("mixer")).footprint(MixerSizes{p, width, p.i("n_head")}, mixer);
  f.parameters(L * (norm_params + mixer.parameter_count()));
  f.activation(L * 2 * C);
  f.saved_per_position(L * stats);
  f.ops(L * 6);
  if (hidden > 0) {
    f.parameters(L * (norm_params + 2 * C * hidden + hidden + C));
    f.activation(L * (3 * C + 2 * hidden));
    f.saved_per_position(L * stats);
    f.ops(L * 14);
  }
  f.add(mixer, L);
  f.parameters(norm_params);  // the final norm
  f.activation(C);
  f.saved_per_position(stats);
  f.ops(4);
  IoLayers::count_read_out(f, io, width);
}

}  // namespace

void register_recurrent(std::vector<ModelInfo>& r) {
  r.push_back({"recurrent",
               "pre-norm stack of recurrent token mixers (linear_attention, retnet, gla, mamba, "
               "mamba1, deltanet, mlstm, hyena, lstm, gru) with optional MLPs, Garg et al.'s "
               "read-in/read-out",
               recurrent_param_specs(),
               [](const ParamSet& p, const ModelIO& io) -> std::unique_ptr<Model> {
                 return std::make_unique<RecurrentStack>(p, io);
               },
               recurrent_footprint});
}

}  // namespace icl

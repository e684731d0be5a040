// GPT-2-style transformer for vector prompts (Garg et al. 2022): linear read-in of the tokens
// x_1, (y_1, 0..0), x_2, ... to width C, learned (or no) positional embeddings, L blocks of causal
// multi-head attention and a GELU MLP, a linear read-out at the x tokens. pos = rope replaces the
// learned table by rotary positions on every block's q and k (kernels/rope.h), as the maze paper's
// models use: attention then sees relative offsets directly, e.g. "the token next to this one".
// Token prompts (ModelIO::vocab > 0) replace the linear read-in by a token embedding `embed.w`
// [vocab, C] (GPT-2's wte, N(0, 0.02)) and read out logits over the vocabulary at every position;
// the positional table then has one row per token of the longest sequence.
//
// Norm placement for a sublayer f (docs/TASKS.md, "Models named in the seed papers"):
//   pre   x + f(N(x))                         final norm after the last block
//   post  N(x + f(x))                         no final norm
//   peri  x + N_out(f(N_in(x)))               final norm
//   mix   post in the first ⌊αL⌋ blocks, pre after them; final norm
// N is LayerNorm or RMSNorm; with ln_scaling the output of every norm in block ℓ (1-based) is
// multiplied by 1/√ℓ ("Curse of Depth").
// mlp_ratio 0 drops every block's MLP sublayer with its norm (norm2, and norm2_out for peri), as
// the recurrent stack's mlp_ratio 0 does: an attention-only transformer, blocks x + attn(N(x))
// (pre) or N(x + attn(x)) (post), the self-attention-only model of Li et al. 2024 (docs/TASKS.md
// §5).
// Initialisation as GPT-2 (HF): weights N(0, 0.02), the two residual projections N(0, 0.02/√(2L)),
// biases 0, norm gains 1; read-in and read-out as torch.nn.Linear's default (U(±1/√fan_in) for
// weight and bias), which is what Garg et al.'s model uses around the GPT-2 backbone.
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "kernels/activation.h"
#include "kernels/add_norm.h"
#include "kernels/attention.h"
#include "kernels/elementwise.h"
#include "kernels/layernorm.h"
#include "kernels/linear.h"
#include "kernels/rmsnorm.h"
#include "kernels/rope.h"
#include "models/io_layers.h"
#include "models/mlp.h"
#include "models/model.h"

namespace icl {
namespace {

class Transformer final : public Model {
 public:
  Transformer(const ParamSet& p, const ModelIO& io)
      : Model("transformer", p, io),
        L_(p.i("n_layer")),
        H_(p.i("n_head")),
        C_(p.i("n_embd")),
        hidden_(p.i("mlp_ratio") * p.i("n_embd")),
        learned_pos_(p.s("pos") == "learned"),
        rope_(p.s("pos") == "rope"),
        rope_base_(p.r("rope_base")),
        rms_(p.s("norm") == "rmsnorm"),
        placement_(p.s("placement")),
        ln_scaling_(p.b("ln_scaling")),
        relu_attention_(p.s("attention") == "relu"),
        causal_(p.b("causal")),
        mlp_(p.i("mlp_ratio") > 0),
        post_layers_(placement_ == "post"  ? L_
                     : placement_ == "mix" ? int64_t(std::floor(p.r("mix_alpha") * double(L_)))
                                           : 0),
        io_layers_(store_, io, C_, learned_pos_, "transformer") {
    if (C_ % H_ != 0) fail("model.n_head: must divide n_embd = {}, got {}", C_, H_);
    if (rope_ && (C_ / H_) % 2 != 0)
      fail(
          "model.pos: rope rotates pairs of columns, so the head width n_embd / n_head must be "
          "even, got {} / {} = {}",
          C_, H_, C_ / H_);
    if (placement_ == "mix" && (post_layers_ == 0 || post_layers_ == L_))
      fail(
          "model.mix_alpha: with n_layer = {}, mix_alpha = {} makes {} of the blocks post-LN "
          "(mix needs between 1 and n_layer - 1; use placement pre or post instead)",
          L_, p.r("mix_alpha"), post_layers_ == 0 ? "none" : "all");
    for (int64_t l = 0; l < L_; ++l) {
      const std::string b = fmt::format("blocks.{}.", l);
      add_norm(b + "norm1");
      store_.add(b + "attn.w_qkv", {C_, 3 * C_}, true);
      store_.add(b + "attn.b_qkv", {3 * C_}, false);
      store_.add(b + "attn.w_out", {C_, C_}, true);
      store_.add(b + "attn.b_out", {C_}, false);
      if (placement_ == "peri") add_norm(b + "norm1_out");
      if (!mlp_) continue;
      add_norm(b + "norm2");
      add_mlp(store_, b, C_, hidden_);
      if (placement_ == "peri") add_norm(b + "norm2_out");
    }
    if (final_norm()) add_norm("norm_f");
  }

  void init(uint64_t seed) override {
    const double resid_std = 0.02 / std::sqrt(2.0 * double(L_));
    for (auto& p : store_.all()) {
      const std::string& n = p->name;
      if (io_layers_.init(*p, seed))
        continue;
      else if (n.ends_with(".g"))
        init_constant(*p, 1.f);
      else if (n.ends_with(".b") || n.find(".b_") != std::string::npos)
        init_constant(*p, 0.f);
      else if (n.ends_with("attn.w_out") || n.ends_with("mlp.w_out"))
        init_normal(*p, seed, resid_std);
      else
        init_normal(*p, seed, 0.02);
    }
  }

  Var forward(Graph& g, const PromptBatch& pb) override {
    return io_layers_.read_out(g, pb, backbone(g, io_layers_.read_in(g, pb)));
  }
  bool bidirectional() const override { return !causal_; }

 private:
  bool final_norm() const { return placement_ != "post"; }

  // The blocks and the final norm, on embedded tokens [B, T, C].
  Var backbone(Graph& g, Var h) {
    if (placement_ == "pre") return pre_ln_stack(g, h);
    for (int64_t l = 0; l < L_; ++l) {
      h = block(g, h, l);
      g.probe(h);
    }
    return final_norm() ? norm(g, h, "norm_f", 0) : h;
  }

  void add_norm(const std::string& prefix) {
    store_.add(prefix + ".g", {C_}, false);
    if (!rms_) store_.add(prefix + ".b", {C_}, false);
  }

  Var P(Graph& g, const std::string& name) { return use(g, store_, name); }

  // Norm `prefix` applied to x; in block `layer` (0 = not in a block) with ln_scaling, × 1/√layer.
  Var norm(Graph& g, Var x, const std::string& prefix, int64_t layer) {
    Var y = rms_ ? ops::rmsnorm(g, x, P(g, prefix + ".g"))
                 : ops::layernorm(g, x, P(g, prefix + ".g"), P(g, prefix + ".b"));
    if (ln_scaling_ && layer > 1) y = ops::scale(g, y, float(1.0 / std::sqrt(double(layer))));
    return y;
  }

  // Norm `prefix` of the residual stream x + f: the add and the norm are one op (one GPU kernel).
  ops::AddNorm add_norm(Graph& g, Var x, Var f, const std::string& prefix, int64_t layer) {
    ops::AddNorm r =
        ops::add_norm(g, x, f, P(g, prefix + ".g"), rms_ ? Var{} : P(g, prefix + ".b"));
    if (ln_scaling_ && layer > 1)
      r.normed = ops::scale(g, r.normed, float(1.0 / std::sqrt(double(layer))));
    return r;
  }

  // All blocks pre-LN and the final norm, each residual add fused with the norm after it:
  // the same arithmetic as block() in a loop followed by norm_f. Returns norm_f of the stream.
  Var pre_ln_stack(Graph& g, Var x) {
    Var n = norm(g, x, "blocks.0.norm1", 1);
    for (int64_t l = 0; l < L_; ++l) {
      const std::string b = fmt::format("blocks.{}.", l);
      const bool last = l + 1 == L_;
      const std::string next = last ? std::string("norm_f") : fmt::format("blocks.{}.norm1", l + 1);
      const int64_t next_layer = last ? 0 : l + 2;
      ops::AddNorm r = mlp_ ? add_norm(g, x, attention(g, n, b), b + "norm2", l + 1)
                            : add_norm(g, x, attention(g, n, b), next, next_layer);
      if (mlp_) r = add_norm(g, r.sum, mlp(g, store_, r.normed, b), next, next_layer);
      x = r.sum;
      n = r.normed;
      g.probe(x);
    }
    return n;
  }

  Var attention(Graph& g, Var x, const std::string& b) {
    Var qkv = ops::linear(g, x, P(g, b + "attn.w_qkv"), P(g, b + "attn.b_qkv"));
    if (rope_) qkv = ops::rope(g, qkv, H_, rope_base_);
    const Var a = ops::attention(
        g, qkv, H_, relu_attention_ ? AttentionKind::Relu : AttentionKind::Softmax, causal_);
    return ops::linear(g, a, P(g, b + "attn.w_out"), P(g, b + "attn.b_out"));
  }

  Var block(Graph& g, Var x, int64_t l) {
    const std::string b = fmt::format("blocks.{}.", l);
    const int64_t layer = l + 1;
    if (l < post_layers_) {  // post-LN
      x = norm(g, ops::add(g, x, attention(g, x, b)), b + "norm1", layer);
      if (!mlp_) return x;
      return norm(g, ops::add(g, x, mlp(g, store_, x, b)), b + "norm2", layer);
    }
    if (placement_ == "peri") {
      x = ops::add(
          g, x, norm(g, attention(g, norm(g, x, b + "norm1", layer), b), b + "norm1_out", layer));
      if (!mlp_) return x;
      return ops::add(
          g, x, norm(g, mlp(g, store_, norm(g, x, b + "norm2", layer), b), b + "norm2_out", layer));
    }
    x = ops::add(g, x, attention(g, norm(g, x, b + "norm1", layer), b));  // pre-LN
    if (!mlp_) return x;
    return ops::add(g, x, mlp(g, store_, norm(g, x, b + "norm2", layer), b));
  }

  int64_t L_, H_, C_, hidden_;
  bool learned_pos_, rope_;
  double rope_base_;
  bool rms_;
  std::string placement_;
  bool ln_scaling_, relu_attention_, causal_, mlp_;
  int64_t post_layers_;
  IoLayers io_layers_;  // read-in, positions and read-out (models/io_layers.h)
};

// Transformer's footprint (models/footprint.h), op by op as forward records them. Per block and
// position: q, k, v (3C) and their rotation (3C, rope), the attention output and its projection
// (2C), the two residual adds and norms (4C; peri: six and two more norms), the MLP (2·hidden + C),
// each norm's ln_scaling product (C); saved for backward: softmax attention's log-sum-exp (H per
// position) and every norm's statistics (1 or 2 per position).
void transformer_footprint(const ParamSet& p, const ModelIO& io, Footprint& f) {
  const double L = double(p.i("n_layer")), C = double(p.i("n_embd")), H = double(p.i("n_head"));
  const double hidden = double(p.i("mlp_ratio")) * C;
  const bool peri = p.s("placement") == "peri", rms = p.s("norm") == "rmsnorm";
  const double norms = peri ? 4 : 2, norm_params = rms ? C : 2 * C, stats = rms ? 1 : 2;
  IoLayers::count_read_in(f, io, p.i("n_embd"), p.s("pos") == "learned");
  f.parameters(L * (4 * C * C + 4 * C + 2 * C * hidden + hidden + C + norms * norm_params));
  double per_block = (peri ? 12 : 10) * C + 2 * hidden;
  if (p.s("pos") == "rope") per_block += 3 * C;
  if (p.b("ln_scaling")) per_block += norms * C;
  f.activation(L * per_block);
  f.saved_per_position(L * ((p.s("attention") == "softmax" ? H : 0) + norms * stats));
  f.ops(L * 40);
  // The final norm (post: none; pre: also the first block's first norm, outside the loop).
  if (p.s("placement") != "post") f.parameters(norm_params);
  f.activation(C);
  f.saved_per_position(stats);
  f.ops(4);
  IoLayers::count_read_out(f, io, p.i("n_embd"));
}

}  // namespace

void register_transformer(std::vector<ModelInfo>& r) {
  r.push_back(
      {"transformer",
       "GPT-2-style transformer with Garg et al.'s read-in/read-out (token prompts: embedding, "
       "logits); norm placement pre|post|peri|mix, LayerNorm|RMSNorm",
       {
           ParamSpec::integer("n_layer", 3, "number of blocks", 1, 1024),
           ParamSpec::integer("n_head", 2, "attention heads (must divide n_embd)", 1, 1024),
           ParamSpec::integer("n_embd", 64, "width", 1, 65536),
           ParamSpec::integer("mlp_ratio", 4,
                              "MLP hidden width / n_embd (0: no MLP sublayer, attention-only "
                              "blocks)",
                              0, 64),
           ParamSpec::choice("pos", "learned", {"learned", "rope", "none"},
                             "positions: a learned table added to the tokens, rotary q and k in "
                             "every block, or none"),
           ParamSpec::real("rope_base", 10000.0, "pos rope: θ_i = rope_base^(−2i/head width)", 2.0,
                           1e9),
           ParamSpec::choice("norm", "layernorm", {"layernorm", "rmsnorm"}, "normalisation"),
           ParamSpec::choice("placement", "pre", {"pre", "post", "peri", "mix"},
                             "where the norms sit around each sublayer"),
           ParamSpec::real("mix_alpha", 0.25,
                           "mix: fraction of blocks (first ⌊αL⌋) that are post-LN", 0.0, 1.0),
           ParamSpec::boolean("ln_scaling", false,
                              "multiply norm outputs in block ℓ by 1/√ℓ (Curse of Depth)"),
           ParamSpec::choice("attention", "softmax", {"softmax", "relu"},
                             "softmax attention, or ReLU attention (Lin et al. 2024)"),
           ParamSpec::boolean("causal", true,
                              "causal attention; false: every position sees the whole prompt "
                              "(masked-token objectives such as the maze task's mlm_u)"),
       },
       [](const ParamSet& p, const ModelIO& io) -> std::unique_ptr<Model> {
         return std::make_unique<Transformer>(p, io);
       },
       transformer_footprint});
}

}  // namespace icl

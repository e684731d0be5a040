// PAST, the encoder-decoder MLM-U model of Nolte et al. 2024's reference code
// (facebookresearch/maze_navigation_MLMU, recipe/models/past.py, stack_enc_dec true), for tasks
// whose prompts hide slots (ModelIO::hidden_tokens: the maze task's MASK and PAD under mlm_u).
//
//   visible_s = 1 unless token s is hidden                                  [B, T]
//   encoder   h = embed(tokens); L pre-LN blocks, each
//               h += W_o attn(rope(W_qkv N1(h)), keys: visible) ;  h += MLP(N2(h))
//             mem = N_enc(h)                                               [B, T, C]
//   decoder   y = the learned vector `query` at every position; L pre-LN blocks, each
//               y += W_o attn(rope([W_q N1(y) | W_kv mem]), keys: visible) ;  y += MLP(N2(y))
//   logits    read_out(N_f(y))                                             [B, T, vocab]
// The hidden slots are removed by the attention mask, not shown as a MASK embedding: no position of
// either stack reads them, and the decoder's only input at a slot is its rotary position on the
// shared query vector, so what it predicts there comes from the visible slots alone. Decoder blocks
// have no self-attention: every one attends to the encoder's final output (stack_enc_dec). The
// encoder still computes an output at hidden slots; nothing reads it.
//
// Parameters "blocks.<l>." in the order the data flows: encoder blocks 0..L-1, decoder blocks
// L..2L-1 (n_layer is the depth of each stack, as in the reference configs).
//
// Departures from the reference, each without effect on what the model computes or can learn:
//  * q, k, v of a decoder block are W_q [C, C] and W_kv [C, 2C] (the reference's c_attn and
//    c_attn_mem); the encoder's are one fused W_qkv [C, 3C] (c_attn).
//  * RoPE pairs columns i and i + hd/2, the reference's rotate-half convention; our angles are
//    computed in double (kernels/rope.h).
//  * The read-out is its own matrix with a bias, where the reference ties lm_head to the token
//    embedding (tie_lmhead: true). Both start from lm_head's torch.nn.Linear draw U(±1/√C).
//  * GELU is kernels/activation.h's (the tanh form GPT-2 uses); the reference's nn.GELU() is the
//    erf form (they differ by at most 4.8e-4).
// Initialisation otherwise as the reference, which keeps PyTorch's defaults: every Linear's weight
// and bias U(±1/√fan_in), norms 1 and 0, the query vector N(0, 1) (an nn.Embedding).
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "kernels/attention.h"
#include "kernels/concat.h"
#include "kernels/elementwise.h"
#include "kernels/embedding.h"
#include "kernels/layernorm.h"
#include "kernels/linear.h"
#include "kernels/rope.h"
#include "models/io_layers.h"
#include "models/mlp.h"
#include "models/model.h"

namespace icl {
namespace {

class Past final : public Model {
 public:
  Past(const ParamSet& p, const ModelIO& io)
      : Model("past", p, io),
        L_(p.i("n_layer")),
        H_(p.i("n_head")),
        C_(p.i("n_embd")),
        hidden_(p.i("mlp_ratio") * p.i("n_embd")),
        rope_base_(p.r("rope_base")),
        io_layers_(store_, io, C_, false, "past") {
    if (io.vocab == 0 || io.hidden_tokens.empty())
      fail(
          "model.name: past predicts hidden slots from the visible ones and needs a task that "
          "hides some (maze with objective: mlm_u)");
    if (C_ % H_ != 0) fail("model.n_head: must divide n_embd = {}, got {}", C_, H_);
    if ((C_ / H_) % 2 != 0)
      fail(
          "model.n_head: rope rotates pairs of columns, so the head width n_embd / n_head must be "
          "even, got {} / {} = {}",
          C_, H_, C_ / H_);
    for (int64_t l = 0; l < 2 * L_; ++l) {
      const std::string b = fmt::format("blocks.{}.", l);
      add_norm(b + "norm1");
      if (l < L_) {
        store_.add(b + "attn.w_qkv", {C_, 3 * C_}, true);
        store_.add(b + "attn.b_qkv", {3 * C_}, false);
      } else {
        store_.add(b + "attn.w_q", {C_, C_}, true);
        store_.add(b + "attn.b_q", {C_}, false);
        store_.add(b + "attn.w_kv", {C_, 2 * C_}, true);
        store_.add(b + "attn.b_kv", {2 * C_}, false);
      }
      store_.add(b + "attn.w_out", {C_, C_}, true);
      store_.add(b + "attn.b_out", {C_}, false);
      add_norm(b + "norm2");
      add_mlp(store_, b, C_, hidden_);
    }
    add_norm("norm_enc");
    add_norm("norm_f");
    store_.add("query", {1, C_}, true);  // an nn.Embedding(1, C): weight-decayed like the reference
  }

  void init(uint64_t seed) override {
    for (auto& p : store_.all()) {
      const std::string& n = p->name;
      if (n == "query")
        init_normal(*p, seed, 1.0);
      else if (n == "embed.w")
        init_uniform(*p, seed, 1.0 / std::sqrt(double(C_)));  // the tied lm_head's draw
      else if (io_layers_.init(*p, seed))
        continue;
      else if (n.ends_with(".g"))
        init_constant(*p, 1.f);
      else if (n.ends_with(".b"))
        init_constant(*p, 0.f);
      else  // Linear weight or bias: U(±1/√fan_in), fan_in = C except after the MLP's hidden layer
        init_uniform(
            *p, seed,
            1.0 / std::sqrt(
                      double(n.ends_with("mlp.w_out") || n.ends_with("mlp.b_out") ? hidden_ : C_)));
    }
  }

  bool bidirectional() const override { return true; }

  Var forward(Graph& g, const PromptBatch& pb) override {
    const auto& tp = pb.as<TokenPrompts>("model past");
    const int64_t B = tp.batch, T = tp.seq_len;
    const Tensor visible = host_i32(g, B * T, {B, T});
    const Tensor zeros = host_i32(g, B * T, {B, T});
    const std::vector<int32_t>& hidden = io().hidden_tokens;
    for (int64_t i = 0; i < B * T; ++i) {
      const int32_t tok = tp.tokens[size_t(i)];
      visible.i()[i] = std::find(hidden.begin(), hidden.end(), tok) == hidden.end() ? 1 : 0;
      zeros.i()[i] = 0;
    }
    Var h = io_layers_.read_in(g, pb);
    for (int64_t l = 0; l < L_; ++l) {
      const std::string b = fmt::format("blocks.{}.", l);
      const Var qkv =
          ops::linear(g, norm(g, h, b + "norm1"), P(g, b + "attn.w_qkv"), P(g, b + "attn.b_qkv"));
      h = block_rest(g, h, qkv, visible, b);
    }
    const Var mem = norm(g, h, "norm_enc");
    Var y = ops::embedding(g, zeros, P(g, "query"));
    for (int64_t l = L_; l < 2 * L_; ++l) {
      const std::string b = fmt::format("blocks.{}.", l);
      const Var q =
          ops::linear(g, norm(g, y, b + "norm1"), P(g, b + "attn.w_q"), P(g, b + "attn.b_q"));
      const Var kv = ops::linear(g, mem, P(g, b + "attn.w_kv"), P(g, b + "attn.b_kv"));
      y = block_rest(g, y, ops::concat(g, q, kv), visible, b);
    }
    return io_layers_.read_out(g, pb, norm(g, y, "norm_f"));
  }

 private:
  void add_norm(const std::string& prefix) {
    store_.add(prefix + ".g", {C_}, false);
    store_.add(prefix + ".b", {C_}, false);
  }
  Var P(Graph& g, const std::string& name) { return use(g, store_, name); }
  Var norm(Graph& g, Var x, const std::string& prefix) {
    return ops::layernorm(g, x, P(g, prefix + ".g"), P(g, prefix + ".b"));
  }
  // n int32 of host memory that lives until the step's arena is reset (past the backward).
  static Tensor host_i32(Graph& g, int64_t n, Shape s) {
    void* mem = g.arena().raw_host(size_t(n) * sizeof(int32_t), alignof(int32_t));
    return Tensor{mem, s, DType::I32, Device::CPU};
  }

  // The rest of a block once its fused q, k, v are made: rotary positions, attention over the
  // visible keys, the output projection and the residual add, then the MLP sublayer.
  Var block_rest(Graph& g, Var x, Var qkv, const Tensor& visible, const std::string& b) {
    const Var a = ops::attention(g, ops::rope(g, qkv, H_, rope_base_), H_, AttentionKind::Softmax,
                                 false, visible);
    x = ops::add(g, x, ops::linear(g, a, P(g, b + "attn.w_out"), P(g, b + "attn.b_out")));
    x = ops::add(g, x, mlp(g, store_, norm(g, x, b + "norm2"), b));
    g.probe(x);
    return x;
  }

  int64_t L_, H_, C_, hidden_;
  double rope_base_;
  IoLayers io_layers_;  // token embedding and read-out (models/io_layers.h)
};

// Past's footprint (models/footprint.h), op by op as forward records them. Per block and position:
// norm1 (C), q, k, v (3C; decoder: q, kv and their concatenation, 6C), their rotation (3C), the
// attention output and its projection (2C), two adds (2C), norm2 (C), the MLP (2·hidden + C):
// 13C + 2·hidden in the encoder, 16C + 2·hidden in the decoder; saved for backward: attention's
// log-sum-exp (H) and two norms' statistics (4). Then the encoder's and the final norm, the query
// rows, and the two int32 masks.
void past_footprint(const ParamSet& p, const ModelIO& io, Footprint& f) {
  const double L = double(p.i("n_layer")), C = double(p.i("n_embd")), H = double(p.i("n_head"));
  const double hidden = double(p.i("mlp_ratio")) * C;
  IoLayers::count_read_in(f, io, p.i("n_embd"), false);
  const double block_params = 4 * C * C + 4 * C + 2 * C * hidden + hidden + C + 4 * C;
  f.parameters(2 * L * block_params + 4 * C + C);
  f.activation(L * (13 * C + 2 * hidden) + L * (16 * C + 2 * hidden));
  f.saved_per_position(2 * L * (H + 4));
  f.ops(2 * L * 30);
  f.activation(3 * C);  // norm_enc, the query rows, norm_f
  f.saved_per_position(4);
  f.constant(2 * f.batch() * f.tokens());
  f.ops(10);
  IoLayers::count_read_out(f, io, p.i("n_embd"));
}

}  // namespace

void register_past(std::vector<ModelInfo>& r) {
  r.push_back(
      {"past",
       "encoder-decoder for masked-slot objectives (Nolte et al. 2024's MLM-U model, PAST): hidden "
       "slots removed by the attention mask, decoder queries a learned vector plus RoPE",
       {
           ParamSpec::integer("n_layer", 2, "blocks of the encoder, and of the decoder", 1, 512),
           ParamSpec::integer("n_head", 4, "attention heads (must divide n_embd)", 1, 1024),
           ParamSpec::integer("n_embd", 64, "width", 2, 65536),
           ParamSpec::integer("mlp_ratio", 4, "MLP hidden width / n_embd", 1, 64),
           ParamSpec::real("rope_base", 10000.0, "θ_i = rope_base^(−2i/head width)", 2.0, 1e9),
       },
       [](const ParamSet& p, const ModelIO& io) -> std::unique_ptr<Model> {
         return std::make_unique<Past>(p, io);
       },
       past_footprint});
}

}  // namespace icl

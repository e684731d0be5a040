#include "models/io_layers.h"

#include <cmath>

#include "core/error.h"
#include "kernels/embedding.h"
#include "kernels/linear.h"
#include "kernels/select.h"

namespace icl {

IoLayers::IoLayers(ParameterStore& store, const ModelIO& io, int64_t width, bool learned_pos,
                   std::string model)
    : store_(store), io_(io), width_(width), learned_pos_(learned_pos), model_(std::move(model)) {
  int64_t tokens = 0;
  if (io.vocab > 0) {
    if (io.max_tokens < 1) fail("model {}: token prompts need max_tokens >= 1", model_);
    tokens = io.max_tokens;
    store_.add("embed.w", {io.vocab, width}, true);
  } else {
    if (io.dx < 1 || io.max_examples < 1)
      fail("model {}: needs vector prompts with dx >= 1 and K >= 1", model_);
    tokens = 2 * io.max_examples;
    store_.add("read_in.w", {io.dx, width}, true);
    store_.add("read_in.b", {width}, false);
  }
  if (learned_pos) store_.add("pos", {tokens, width}, false);
  const int64_t outputs = io.vocab > 0 ? io.vocab : io.dy;
  store_.add("read_out.w", {width, outputs}, true);
  store_.add("read_out.b", {outputs}, false);
}

bool IoLayers::init(Parameter& p, uint64_t seed) const {
  const std::string& n = p.name;
  if (n.starts_with("read_in."))
    init_uniform(p, seed, 1.0 / std::sqrt(double(io_.dx)));
  else if (n.starts_with("read_out."))
    init_uniform(p, seed, 1.0 / std::sqrt(double(width_)));
  else if (n == "embed.w" || n == "pos")
    init_normal(p, seed, 0.02);
  else
    return false;
  return true;
}

Var IoLayers::P(Graph& g, const std::string& name) const { return use(g, store_, name); }

Var IoLayers::read_in(Graph& g, const PromptBatch& pb) const {
  if ((pb.kind() == PromptKind::Token) != (io_.vocab > 0))
    fail("model {}: built for {} prompts, given {} prompts", model_,
         io_.vocab > 0 ? "token" : "vector", to_string(pb.kind()));
  Var h;
  if (const auto* t = pb.get<TokenPrompts>()) {
    if (t->seq_len > io_.max_tokens)
      fail("model {}: prompts have {} tokens, the model was built for at most {}", model_,
           t->seq_len, io_.max_tokens);
    const Tensor tok{
        const_cast<int32_t*>(t->tokens.data()), {t->batch, t->seq_len}, DType::I32, Device::CPU};
    h = ops::embedding(g, tok, P(g, "embed.w"));
  } else {
    // Vector and history prompts: K examples of dx inputs (and dy labels).
    const ExampleDims d = example_dims(pb);
    ICL_ASSERT(d.dx == io_.dx && d.dy == io_.dy);
    const int64_t B = pb.batch(), K = pb.n_examples();
    if (K > io_.max_examples)
      fail("model {}: prompts have {} examples, the model was built for at most {}", model_, K,
           io_.max_examples);
    if (const auto* v = pb.get<VectorPrompts>()) {
      const Tensor xs{const_cast<float*>(v->xs.data()), {B, K, d.dx}, DType::F32, Device::CPU};
      const Tensor ys{const_cast<float*>(v->ys.data()), {B, K, d.dy}, DType::F32, Device::CPU};
      h = ops::linear(g, ops::interleave(g, xs, ys), P(g, "read_in.w"), P(g, "read_in.b"));
    } else {
      const auto& hp = pb.as<HistoryPrompts>("model " + model_);
      const Tensor xs{const_cast<float*>(hp.xs.data()), {B, K, d.dx}, DType::F32, Device::CPU};
      h = ops::linear(g, g.constant(g.input(xs)), P(g, "read_in.w"), P(g, "read_in.b"));
    }
  }
  if (learned_pos_) h = ops::add_positional(g, h, P(g, "pos"));
  return h;
}

void IoLayers::count_read_in(Footprint& f, const ModelIO& io, int64_t width, bool learned_pos) {
  const double C = double(width);
  if (io.vocab > 0) {
    f.parameters(double(io.vocab) * C);
  } else {
    f.parameters(double(io.dx + 1) * C);
    // Vector prompts: the interleaved x and y tokens [B, 2K, dx], without gradient.
    if (f.shape().kind == PromptKind::Vector) f.constant(f.batch() * f.tokens() * double(io.dx));
  }
  f.activation(C);  // embedding or read-in
  f.ops(4);
  if (learned_pos) {
    f.parameters(double(io.vocab > 0 ? io.max_tokens : 2 * io.max_examples) * C);
    f.activation(C);
    f.ops(2);
  }
}

void IoLayers::count_read_out(Footprint& f, const ModelIO& io, int64_t width) {
  const double C = double(width), outputs = double(io.vocab > 0 ? io.vocab : io.dy);
  f.parameters((C + 1) * outputs);
  // Vector prompts are read out at their x tokens (take_positions), then projected.
  if (f.shape().kind == PromptKind::Vector) f.activation_at(C, f.outputs());
  f.activation_at(outputs, f.outputs());
  f.ops(5);
  if (!f.training()) return;
  // The loss: its value, the log-sum-exp of cross-entropy per row, the expanded loss mask.
  const double rows = f.batch() * f.outputs();
  f.constant(2);
  f.saved(rows);
  f.constant(f.shape().kind == PromptKind::Vector ? rows * outputs : rows);
  f.ops(2);
}

Var IoLayers::read_out(Graph& g, const PromptBatch& pb, Var h) const {
  // Vector prompts are read out at their x tokens (0, 2, 4, ...); the other kinds at every token.
  if (const auto* v = pb.get<VectorPrompts>()) h = ops::take_positions(g, h, 0, 2, v->n_examples);
  return ops::linear(g, h, P(g, "read_out.w"), P(g, "read_out.b"));
}

}  // namespace icl

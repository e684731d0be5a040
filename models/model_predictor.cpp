#include "models/model_predictor.h"

#include <algorithm>

namespace icl {

Arena& ModelPredictor::arena() const {
  if (!arena_) {
    CudaContext* ctx = model_.parameters().cuda();
    arena_ = ctx ? std::make_unique<Arena>(*ctx) : std::make_unique<Arena>();
  }
  return *arena_;
}

std::vector<float> ModelPredictor::predict(const PromptBatch& batch) const {
  Arena& arena = this->arena();
  arena.reset();
  const VectorPrompts* v = batch.get<VectorPrompts>();
  if (!v || !v->has_queries()) {
    // One pass: predictions [B, K, dy] (vector prompts, history prompts' class logits) or logits
    // [B, T, vocab] (token prompts) at every position.
    Graph g(arena, false);
    const Var y = model_.forward(g, batch);
    std::vector<float> out(size_t(y.value().numel()));
    g.read(y.value(), out.data());
    return out;
  }
  const VectorPrompts& pb = *v;
  const int64_t B = pb.batch, K = pb.n_examples, dy = pb.dy;
  std::vector<float> out(size_t(B * K * dy));
  std::vector<float> seq_out(size_t(K * K * dy));
  // One sequence per (prompt, k); by causality only tokens up to 2k matter for the answer at k.
  for (int64_t b = 0; b < B; ++b) {
    PromptBatch seq_batch{VectorPrompts{}};
    VectorPrompts& seq = *seq_batch.get<VectorPrompts>();
    seq.allocate(K, K, pb.dx, dy, false);
    for (int64_t k = 0; k < K; ++k) {
      float* xs = seq.xs.data() + k * K * pb.dx;
      float* ys = seq.ys.data() + k * K * dy;
      std::copy(pb.x(b, 0), pb.x(b, 0) + K * pb.dx, xs);
      std::copy(pb.y(b, 0), pb.y(b, 0) + K * dy, ys);
      std::copy(pb.query_x(b, k), pb.query_x(b, k) + pb.dx, xs + k * pb.dx);
    }
    arena.reset();
    Graph g(arena, false);
    const Var y = model_.forward(g, seq_batch);
    g.read(y.value(), seq_out.data());
    for (int64_t k = 0; k < K; ++k)
      std::copy(seq_out.begin() + (k * K + k) * dy, seq_out.begin() + (k * K + k + 1) * dy,
                out.begin() + (b * K + k) * dy);
  }
  return out;
}

}  // namespace icl

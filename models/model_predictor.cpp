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

std::vector<float> ModelPredictor::predict(const PromptBatch& pb) const {
  Arena& arena = this->arena();
  arena.reset();
  if (pb.encoding == Encoding::Token) {  // logits [B, T, vocab], every position in one pass
    Graph g(arena, false);
    const Var logits = model_.forward(g, pb);
    std::vector<float> out(size_t(logits.value().numel()));
    g.read(logits.value(), out.data());
    return out;
  }
  const int64_t B = pb.batch, K = pb.n_examples, dy = pb.dy;
  std::vector<float> out(size_t(B * K * dy));
  if (!pb.has_queries()) {
    Graph g(arena, false);
    const Var y = model_.forward(g, pb);
    g.read(y.value(), out.data());
    return out;
  }
  std::vector<float> seq_out(size_t(K * K * dy));
  // One sequence per (prompt, k); by causality only tokens up to 2k matter for the answer at k.
  for (int64_t b = 0; b < B; ++b) {
    PromptBatch seq;
    seq.allocate_vector(K, K, pb.dx, dy, false);
    for (int64_t k = 0; k < K; ++k) {
      float* xs = seq.xs.data() + k * K * pb.dx;
      float* ys = seq.ys.data() + k * K * dy;
      std::copy(pb.x(b, 0), pb.x(b, 0) + K * pb.dx, xs);
      std::copy(pb.y(b, 0), pb.y(b, 0) + K * dy, ys);
      std::copy(pb.query_x(b, k), pb.query_x(b, k) + pb.dx, xs + k * pb.dx);
    }
    arena.reset();
    Graph g(arena, false);
    const Var y = model_.forward(g, seq);
    g.read(y.value(), seq_out.data());
    for (int64_t k = 0; k < K; ++k)
      std::copy(seq_out.begin() + (k * K + k) * dy, seq_out.begin() + (k * K + k + 1) * dy,
                out.begin() + (b * K + k) * dy);
  }
  return out;
}

}  // namespace icl

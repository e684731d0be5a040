#include "train/accumulate.h"

#include "core/error.h"
#include "core/graph.h"
#include "train/batch_loss.h"

namespace icl {

double accumulate_gradients(Model& model, Arena& arena, const PromptBatch& pb, int64_t parts,
                            std::vector<float>& mask) {
  if (parts < 1 || pb.batch() % parts != 0)
    fail("micro-batches: {} parts do not divide a batch of {}", parts, pb.batch());
  ParameterStore& store = model.parameters();
  auto& all = store.all();
  const int64_t b = pb.batch() / parts;
  std::vector<AlignedFloats> sum;
  double loss_sum = 0;
  for (int64_t m = 0; m < parts; ++m) {
    const PromptBatch part = slice_prompts(pb, m * b, b);
    arena.reset();
    Graph g(arena, true);
    const Var loss = batch_loss(g, model.forward(g, part), part, mask);
    loss_sum += loss.f()[0];
    store.zero_grad();
    g.backward(loss);
    if (m == 0) {
      for (const auto& p : all) sum.push_back(p->grad);
      continue;
    }
    for (size_t i = 0; i < all.size(); ++i)
      for (size_t j = 0; j < sum[i].size(); ++j) sum[i][j] += all[i]->grad[j];
  }
  const float scale = 1.0f / float(parts);
  for (size_t i = 0; i < all.size(); ++i)
    for (size_t j = 0; j < sum[i].size(); ++j) all[i]->grad[j] = sum[i][j] * scale;
  return loss_sum / double(parts);
}

}  // namespace icl

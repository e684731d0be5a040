#include "train/accumulate.h"

#include "core/error.h"
#include "core/graph.h"
#include "core/mpi.h"
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

double data_parallel_gradients(Model& model, Arena& arena, const PromptBatch& pb,
                               std::vector<float>& mask) {
  const mpi::World& w = mpi::world();
  if (pb.batch() % w.size != 0)
    fail("data parallelism: a batch of {} prompts does not split evenly over {} ranks", pb.batch(),
         w.size);
  const int64_t b = pb.batch() / w.size;
  const PromptBatch part = slice_prompts(pb, int64_t(w.rank) * b, b);
  ParameterStore& store = model.parameters();
  arena.reset();
  Graph g(arena, true);
  const Var loss = batch_loss(g, model.forward(g, part), part, mask);
  double loss_sum = loss.f()[0];
  store.zero_grad();
  g.backward(loss);
  std::vector<float> flat;
  for (const auto& p : store.all()) flat.insert(flat.end(), p->grad.begin(), p->grad.end());
  mpi::sum_in_rank_order(flat.data(), int64_t(flat.size()));
  mpi::sum_in_rank_order(&loss_sum, 1);
  const float scale = 1.0f / float(w.size);
  size_t at = 0;
  for (const auto& p : store.all())
    for (auto& v : p->grad) v = flat[at++] * scale;
  return loss_sum / double(w.size);
}

}  // namespace icl

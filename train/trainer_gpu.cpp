#include "train/trainer_gpu.h"

#include <type_traits>
#include <utility>

#include "core/error.h"
#include "train/adamw.h"
#include "train/batch_loss.h"

// The trainer's CUDA path: the whole step as one captured graph (train/trainer.h says how).

namespace icl {

namespace {

// The host buffers a captured step reads its prompts from: xs and ys of vector and history prompts
// (token batches are never captured).
std::pair<const float*, const float*> host_inputs(const PromptBatch& pb) {
  return pb.visit([](const auto& p) -> std::pair<const float*, const float*> {
    if constexpr (std::is_same_v<std::remove_cvref_t<decltype(p)>, TokenPrompts>)
      return {nullptr, nullptr};
    else
      return {p.xs.data(), p.ys.data()};
  });
}

}  // namespace

void Trainer::gpu_launch(int64_t s) {
  if constexpr (kCudaBuilt) {
    Gpu& G = *gpu_;
    const TrainConfig& tc = cfg_;
    const PromptBatch& pb = G.staged;
    ICL_ASSERT(G.staged_step == s);
    G.pinned->scalars = {tc.schedule.at(s), double(s + 1), tc.grad_clip};
    // The captured loss re-reads mask_: refresh it for this step's prompts (same size, same
    // address, or the step is captured anew).
    const float* mask = expand_loss_mask(pb, mask_) ? mask_.data() : nullptr;
    const auto [xs, ys] = host_inputs(pb);
    const bool same = G.graph.ready() && G.graph_K == pb.n_examples() && G.graph_xs == xs &&
                      G.graph_ys == ys && G.graph_mask == mask;
    if (same) {
      Graph::restage(G.inputs);
      G.graph.launch(G.ctx);
      ++replays_;
      return;
    }
    // A new prompt length runs once eagerly, which sizes the arena; the next step is captured.
    // Token batches always run eagerly: their tokens, targets and mask are staged by the ops as
    // the step is recorded, and their length varies from batch to batch (sample_mixed), so a
    // captured step would rarely replay.
    const bool capture = !prompts_.tokens() && G.warm_K == pb.n_examples();
    G.graph.reset();
    arena_->reset();
    if (capture) G.graph.begin(G.ctx);
    {
      Graph g(*arena_, true);
      const CudaStream st = G.ctx.stream();
      copy_to_device(G.d_scalars, &G.pinned->scalars, sizeof(cuda::StepScalars), st);
      const Var loss = record_loss(g, pb);
      ParameterStore& store = model_.parameters();
      store.zero_grad();
      g.backward(loss);
      const DeviceParameters& dp = store.device();
      cuda::grad_norm(G.ctx, G.d_norm, G.d_partials, dp.grad, dp.n);
      cuda::adamw_update(G.ctx, dp, G.d_scalars, G.d_norm, loss.f(), tc.beta1, tc.beta2, tc.eps,
                         tc.weight_decay);
      copy_to_host(&G.pinned->loss, loss.f(), sizeof(float), st);
      copy_to_host(&G.pinned->norm, G.d_norm, sizeof(double), st);
      if (capture) G.inputs = g.inputs();
    }
    if (capture) {
      G.graph.end(G.ctx);
      G.graph_K = pb.n_examples();
      G.graph_xs = xs;
      G.graph_ys = ys;
      G.graph_mask = mask;
      G.graph.launch(G.ctx);
    } else {
      G.warm_K = pb.n_examples();
    }
  } else {
    (void)s;
    fail("device cuda: this build has no CUDA backend");
  }
}

double Trainer::gpu_finish(int64_t s, double* grad_norm) {
  Gpu& G = *gpu_;
  G.ctx.synchronize();
  const double value = G.pinned->loss, norm = G.pinned->norm;
  if (grad_norm) *grad_norm = norm;
  check_step(s, value, norm);
  return value;
}

}  // namespace icl

#include "train/trainer.h"

#include <chrono>
#include <cmath>
#include <type_traits>

#include <fmt/format.h>

#include "core/error.h"
#include "core/interrupt.h"
#include "core/mpi.h"
#include "core/progress.h"
#include "train/accumulate.h"
#include "train/adamw.h"
#include "train/batch_loss.h"
#include "train/layer_stats.h"
#include "train/trainer_gpu.h"

namespace icl {

void Trainer::check_step(int64_t s, double loss, double norm) {
  if (!std::isfinite(loss) || !std::isfinite(norm))
    fail("training diverged at step {}: loss {}, gradient norm {}; the last checkpoint is kept",
         s + 1, loss, norm);
}

Trainer::Trainer(const TrainConfig& cfg, Model& model, PromptSource& prompts, TrainEval eval)
    : cfg_(cfg), model_(model), prompts_(prompts), eval_(std::move(eval)) {
  const mpi::World& world = mpi::world();
  if (world.size > 1) {
    if (model.parameters().cuda())
      fail("data-parallel training over MPI runs on the CPU (--device cpu); {} ranks were started",
           world.size);
    if (cfg.micro_batches > 1)
      fail(
          "train.micro_batches: with {} MPI ranks each rank computes its part whole (ranks are "
          "the micro-batches); got {}",
          world.size, cfg.micro_batches);
    if (cfg.batch_size % world.size != 0)
      fail("train.batch_size: {} prompts do not split evenly over {} MPI ranks", cfg.batch_size,
           world.size);
  }
  if (CudaContext* ctx = model.parameters().cuda()) {
    // The GPU step is one captured graph over the whole batch.
    if (cfg.micro_batches > 1)
      fail(
          "train.micro_batches: gradient accumulation runs on the CPU only for now (--device "
          "cpu), got {}",
          cfg.micro_batches);
    arena_ = std::make_unique<Arena>(*ctx);
    gpu_ = std::make_unique<Gpu>(*ctx);
  } else {
    arena_ = std::make_unique<Arena>();
  }
  blocks_ = layer_stats_blocks(cfg.layer_stats_every, model);
  if (blocks_ > 0) {  // Its own arena: the statistics' forward pass leaves the step's memory (and,
                      // on a GPU, its
    // captured graph) as it was.
    CudaContext* ctx = model.parameters().cuda();
    stats_arena_ = ctx ? std::make_unique<Arena>(*ctx) : std::make_unique<Arena>();
  }
}

Trainer::~Trainer() = default;

// Copies vector and history prompts into pb's existing xs and ys buffers, so that their addresses
// stay put while the shapes do (a captured step re-reads them); token batches run eagerly.
void Trainer::sample_into(PromptBatch& pb, int64_t s) {
  PromptBatch fresh = prompts_.batch(s);
  fresh.visit([&](auto& f) {
    using P = std::remove_cvref_t<decltype(f)>;
    if constexpr (!std::is_same_v<P, TokenPrompts>) {
      P* old = pb.get<P>();
      if (!old) return;
      std::vector<float> xs = std::move(old->xs), ys = std::move(old->ys);
      xs.assign(f.xs.begin(), f.xs.end());
      ys.assign(f.ys.begin(), f.ys.end());
      f.xs = std::move(xs);
      f.ys = std::move(ys);
    }
  });
  pb = std::move(fresh);
  if (gpu_) gpu_->staged_step = s;
}

Var Trainer::record_loss(Graph& g, const PromptBatch& pb) {
  return batch_loss(g, model_.forward(g, pb), pb, mask_);
}

double Trainer::step(int64_t s, double* grad_norm) {
  if (!gpu_) return cpu_step(s, grad_norm);
  if (gpu_->staged_step != s) sample_into(gpu_->staged, s);
  gpu_launch(s);
  // The CPU samples the next step's prompts while the GPU runs this one: this step's prompts were
  // copied to pinned memory before the launch, so the host buffers are free.
  if (s + 1 < cfg_.steps) sample_into(gpu_->staged, s + 1);
  return gpu_finish(s, grad_norm);
}

double Trainer::cpu_step(int64_t s, double* grad_norm) {
  const TrainConfig& tc = cfg_;
  const PromptBatch pb = prompts_.batch(s);
  ParameterStore& store = model_.parameters();
  double value = 0;
  if (mpi::world().size > 1) {
    value = data_parallel_gradients(model_, *arena_, pb, mask_);
  } else if (tc.micro_batches > 1) {
    value = accumulate_gradients(model_, *arena_, pb, tc.micro_batches, mask_);
  } else {
    arena_->reset();
    Graph g(*arena_, true);
    const Var loss = record_loss(g, pb);
    value = loss.f()[0];
    store.zero_grad();
    g.backward(loss);
  }
  const double norm =
      tc.grad_clip > 0 ? clip_grad_norm(store, tc.grad_clip) : global_grad_norm(store);
  if (grad_norm) *grad_norm = norm;
  check_step(s, value, norm);
  AdamW opt;
  opt.beta1 = tc.beta1;
  opt.beta2 = tc.beta2;
  opt.eps = tc.eps;
  opt.weight_decay = tc.weight_decay;
  adamw_step(store, opt, tc.schedule.at(s), s + 1);
  return value;
}

void Trainer::run(TrainState& st, int64_t until, const std::function<void(const TrainState&)>& save,
                  bool progress, const std::function<void(int64_t)>& on_step) {
  const TrainConfig& tc = cfg_;
  Progress bar("train", until, "steps");
  const double offset = st.log.seconds.empty() ? 0.0 : st.log.seconds.back();
  const auto t0 = std::chrono::steady_clock::now();
  double last_eval = st.log.eval_error.empty() ? NAN : st.log.eval_error.back();
  while (st.step < until) {
    double norm = 0;
    // Step s + 1 (1-based) is recorded when it is 1 or a multiple of layer_stats_every: the hidden
    // states under the weights its loss sees, then its gradient.
    const bool stats =
        tc.layer_stats_every > 0 && (st.step == 0 || (st.step + 1) % tc.layer_stats_every == 0);
    std::vector<double> variance;
    if (stats) variance = hidden_variances(model_, *stats_arena_, prompts_.batch(st.step), blocks_);
    const double loss = step(st.step, &norm);
    if (stats) {
      const std::vector<double> grads =
          block_grad_norms(model_.parameters(), blocks_, clip_scale(norm, tc.grad_clip));
      st.log.layer_step.push_back(st.step + 1);
      st.log.layer_grad_norm.insert(st.log.layer_grad_norm.end(), grads.begin(), grads.end());
      st.log.layer_variance.insert(st.log.layer_variance.end(), variance.begin(), variance.end());
    }
    ++st.step;
    const double secs =
        offset + std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    st.log.step.push_back(st.step);
    st.log.loss.push_back(loss);
    st.log.lr.push_back(tc.schedule.at(st.step - 1));
    st.log.seconds.push_back(secs);
    st.log.grad_norm.push_back(norm);
    if (st.step % tc.eval_every == 0 || st.step == until) {
      last_eval = eval_.run();
      st.log.eval_step.push_back(st.step);
      st.log.eval_error.push_back(last_eval);
    }
    if (progress) {
      // "-" until the first evaluation.
      const std::string ev = std::isnan(last_eval) ? "-" : fmt::format("{:.4f}", last_eval);
      const std::string line = fmt::format("loss {:.4f}  {} {}  {}", loss, eval_.label, ev,
                                           prompts_.describe(st.step - 1));
      bar.update(st.step, line);
    }
    if (on_step) on_step(st.step);
    // A deferred SIGINT/SIGTERM (core/interrupt.h) stops here, after a checkpoint of this step.
    const bool stop = interrupt::requested() != 0;
    if (st.step % tc.checkpoint_every == 0 || st.step == until || stop) save(st);
    if (stop) break;
  }
  if (progress) {
    const std::string ev = std::isnan(last_eval) ? "-" : fmt::format("{:.4f}", last_eval);
    if (st.step < until)
      bar.finish_at(st.step, fmt::format("stopped, {} {}", eval_.label, ev));
    else
      bar.finish(fmt::format("{} {}", eval_.label, ev));
  }
}

}  // namespace icl

#include "train/trainer.h"

#include <chrono>
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "core/interrupt.h"
#include "core/progress.h"
#include "eval/benchmark.h"
#include "eval/evaluate.h"
#include "models/model_predictor.h"
#include "tasks/check_finite.h"
#include "tasks/token_task.h"
#include "train/adamw.h"
#include "train/batch_loss.h"

namespace icl {

// The CUDA path's state: prompts in host buffers that keep their addresses (a captured graph
// reads them through Graph::restage), a pinned block for the per-step scalars and the values read
// back, device scratch for the gradient norm, and the captured step.
struct Trainer::Gpu {
  struct Pinned {
    cuda::StepScalars scalars;
    double norm;
    float loss;
  };
  CudaContext& ctx;
  PromptBatch staged;        // prompts of step staged_step
  int64_t staged_step = -1;  // -1: none yet
  Pinned* pinned = nullptr;
  void* dev = nullptr;  // StepScalars, norm and kNormBlocks partials
  cuda::StepScalars* d_scalars = nullptr;
  double* d_norm = nullptr;
  double* d_partials = nullptr;
  CudaGraph graph;
  std::vector<Graph::Input> inputs;  // the captured step's host → pinned copies
  int64_t graph_K = -1, warm_K = -1;
  const void* graph_xs = nullptr;  // staged buffers at capture time
  const void* graph_ys = nullptr;
  const float* graph_mask = nullptr;  // mask_ at capture time, or null without a loss mask

  explicit Gpu(CudaContext& c) : ctx(c) {
    pinned = static_cast<Pinned*>(pinned_alloc(sizeof(Pinned)));
    dev = device_alloc(sizeof(cuda::StepScalars) + sizeof(double) * (1 + cuda::kNormBlocks));
    d_scalars = static_cast<cuda::StepScalars*>(dev);
    d_norm = reinterpret_cast<double*>(d_scalars + 1);
    d_partials = d_norm + 1;
  }
  ~Gpu() {
    graph.reset();
    device_free(dev);
    pinned_free(pinned);
  }
  Gpu(const Gpu&) = delete;
  Gpu& operator=(const Gpu&) = delete;
};

Trainer::Trainer(const BenchmarkConfig& cfg, Model& model)
    : cfg_(cfg),
      model_(model),
      ramps_dims_(make_task(cfg.task.name, cfg.task.params)->params().has("active_dims")),
      tokens_(make_task(cfg.task.name, cfg.task.params)->encoding() == Encoding::Token) {
  if (CudaContext* ctx = model.parameters().cuda()) {
    arena_ = std::make_unique<Arena>(*ctx);
    gpu_ = std::make_unique<Gpu>(*ctx);
  } else {
    arena_ = std::make_unique<Arena>();
  }
}

Trainer::~Trainer() = default;

const Task& Trainer::task_at(int64_t step) {
  std::vector<int64_t> values;
  if (ramps_dims_) values.push_back(cfg_.train.dims.at(step));
  for (const auto& [name, ramp] : cfg_.train.task_ramps) values.push_back(ramp.at(step));
  if (!task_ || values != task_values_) {
    RawParams p = cfg_.task.params;
    size_t i = 0;
    if (ramps_dims_) p["active_dims"] = std::to_string(values[i++]);
    for (const auto& [name, ramp] : cfg_.train.task_ramps) p[name] = std::to_string(values[i++]);
    task_ = make_task(cfg_.task.name, p);
    task_values_ = std::move(values);
  }
  return *task_;
}

namespace {
// A non-finite loss or gradient norm stops training; the caller has not saved the bad step.
void check_finite(int64_t s, double loss, double norm) {
  if (!std::isfinite(loss) || !std::isfinite(norm))
    fail("training diverged at step {}: loss {}, gradient norm {}; the last checkpoint is kept",
         s + 1, loss, norm);
}
}  // namespace

PromptBatch Trainer::train_prompts(int64_t s) {
  const int64_t B = cfg_.train.batch_size;
  const RngKey key{cfg_.seed, stream_id("train")};
  const Task& task = task_at(s);
  if (const TokenTask* tt = as_token_task(task)) return tt->sample_mixed(key, s * B, B);
  PromptBatch pb = task.sample(key, s * B, B, cfg_.train.points.at(s));
  // Finite settings can still overflow fp32 together (two scales near their bounds): one line
  // naming the suspects, not a diverged loss. One pass over the batch, small beside the step.
  check_finite(pb, task, fmt::format("train step {}", s + 1));
  return pb;
}

// Copies into pb's existing buffers, so that their addresses stay put while the shapes do.
void Trainer::sample_into(PromptBatch& pb, int64_t s) {
  PromptBatch fresh = train_prompts(s);
  auto keep = [](auto& dst, const auto& src) { dst.assign(src.begin(), src.end()); };
  std::vector<float> xs = std::move(pb.xs), ys = std::move(pb.ys);
  keep(xs, fresh.xs);
  keep(ys, fresh.ys);
  pb = std::move(fresh);
  pb.xs = std::move(xs);
  pb.ys = std::move(ys);
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
  if (s + 1 < cfg_.train.steps) sample_into(gpu_->staged, s + 1);
  return gpu_finish(s, grad_norm);
}

double Trainer::cpu_step(int64_t s, double* grad_norm) {
  const TrainConfig& tc = cfg_.train;
  const PromptBatch pb = train_prompts(s);
  arena_->reset();
  Graph g(*arena_, true);
  const Var loss = record_loss(g, pb);
  const double value = loss.f()[0];
  ParameterStore& store = model_.parameters();
  store.zero_grad();
  g.backward(loss);
  const double norm =
      tc.grad_clip > 0 ? clip_grad_norm(store, tc.grad_clip) : global_grad_norm(store);
  if (grad_norm) *grad_norm = norm;
  check_finite(s, value, norm);
  AdamW opt;
  opt.beta1 = tc.beta1;
  opt.beta2 = tc.beta2;
  opt.eps = tc.eps;
  opt.weight_decay = tc.weight_decay;
  adamw_step(store, opt, tc.schedule.at(s), s + 1);
  return value;
}

void Trainer::gpu_launch(int64_t s) {
  if constexpr (kCudaBuilt) {
    Gpu& G = *gpu_;
    const TrainConfig& tc = cfg_.train;
    const PromptBatch& pb = G.staged;
    ICL_ASSERT(G.staged_step == s);
    G.pinned->scalars = {tc.schedule.at(s), double(s + 1), tc.grad_clip};
    // The captured loss re-reads mask_: refresh it for this step's prompts (same size, same
    // address, or the step is captured anew).
    const float* mask = expand_loss_mask(pb, mask_) ? mask_.data() : nullptr;
    const bool same = G.graph.ready() && G.graph_K == pb.n_examples && G.graph_xs == pb.xs.data() &&
                      G.graph_ys == pb.ys.data() && G.graph_mask == mask;
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
    const bool capture = !tokens_ && G.warm_K == pb.n_examples;
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
      G.graph_K = pb.n_examples;
      G.graph_xs = pb.xs.data();
      G.graph_ys = pb.ys.data();
      G.graph_mask = mask;
      G.graph.launch(G.ctx);
    } else {
      G.warm_K = pb.n_examples;
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
  check_finite(s, value, norm);
  return value;
}

double Trainer::eval_error() {
  const auto task = make_task(cfg_.task.name, cfg_.task.params);
  // One predictor for the whole run: its memory (a device arena on the GPU) is made once.
  if (!eval_predictor_) eval_predictor_ = std::make_unique<ModelPredictor>(model_, model_.name());
  const ModelPredictor& pred = *eval_predictor_;
  EvalOptions opt;
  opt.prompts = cfg_.train.eval_prompts;
  opt.examples = cfg_.train.points.end;
  if (const TokenTask* tt = as_token_task(*task)) {
    // In-distribution accuracy: up to 8 lengths spread over the training range.
    const int64_t lo = tt->min_length(), hi = tt->max_length();
    const int64_t n = std::min<int64_t>(8, hi - lo + 1);
    for (int64_t i = 0; i < n; ++i)
      opt.lengths.push_back(n == 1 ? hi : lo + (hi - lo) * i / (n - 1));
  }
  opt.batch_size = cfg_.batch_size;
  opt.bootstrap = 20;
  opt.progress = false;
  opt.path_metrics = false;
  const EvalResult r =
      evaluate("train_eval", *task, {&pred}, eval_stream(cfg_.seed, "train_eval"), opt);
  double s = 0;
  for (double v : r.curves[0].stats.mean) s += v;
  return s / double(r.curves[0].stats.mean.size());
}

void Trainer::run(TrainState& st, int64_t until, const std::function<void(const TrainState&)>& save,
                  bool progress) {
  const TrainConfig& tc = cfg_.train;
  Progress bar("train", until, "steps");
  const double offset = st.log.seconds.empty() ? 0.0 : st.log.seconds.back();
  const auto t0 = std::chrono::steady_clock::now();
  double last_eval = st.log.eval_error.empty() ? NAN : st.log.eval_error.back();
  while (st.step < until) {
    double norm = 0;
    const double loss = step(st.step, &norm);
    ++st.step;
    const double secs =
        offset + std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    st.log.step.push_back(st.step);
    st.log.loss.push_back(loss);
    st.log.lr.push_back(tc.schedule.at(st.step - 1));
    st.log.seconds.push_back(secs);
    st.log.grad_norm.push_back(norm);
    if (st.step % tc.eval_every == 0 || st.step == until) {
      last_eval = eval_error();
      st.log.eval_step.push_back(st.step);
      st.log.eval_error.push_back(last_eval);
    }
    if (progress) {
      std::string line;
      // "-" until the first evaluation.
      const std::string ev = std::isnan(last_eval) ? "-" : fmt::format("{:.4f}", last_eval);
      if (const TokenTask* tt = tokens_ ? as_token_task(task_at(st.step - 1)) : nullptr)
        line = fmt::format("loss {:.4f}  scaled acc {}  lengths {}-{}", loss, ev, tt->min_length(),
                           tt->max_length());
      else
        line = fmt::format("loss {:.4f}  eval {}  K={}", loss, ev, tc.points.at(st.step - 1));
      if (ramps_dims_) line.append(fmt::format(" dims={}", tc.dims.at(st.step - 1)));
      for (const auto& [name, ramp] : tc.task_ramps)
        line.append(fmt::format(" {}={}", name, ramp.at(st.step - 1)));
      bar.update(st.step, line);
    }
    // A deferred SIGINT/SIGTERM (core/interrupt.h) stops here, after a checkpoint of this step.
    const bool stop = interrupt::requested() != 0;
    if (st.step % tc.checkpoint_every == 0 || st.step == until || stop) save(st);
    if (stop) break;
  }
  if (progress) {
    const std::string ev = std::isnan(last_eval) ? "-" : fmt::format("{:.4f}", last_eval);
    if (st.step < until)
      bar.finish_at(st.step, "stopped, eval " + ev);
    else
      bar.finish("eval " + ev);
  }
}

}  // namespace icl

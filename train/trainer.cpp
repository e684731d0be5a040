#include "train/trainer.h"

#include <chrono>
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "core/progress.h"
#include "eval/benchmark.h"
#include "eval/evaluate.h"
#include "kernels/loss.h"
#include "models/model_predictor.h"
#include "train/adamw.h"

namespace icl {

Trainer::Trainer(const BenchmarkConfig& cfg, Model& model)
    : cfg_(cfg),
      model_(model),
      ramps_dims_(make_task(cfg.task.name, cfg.task.params)->params().has("active_dims")) {}

const Task& Trainer::task_at(int64_t step) {
  const int64_t dims = ramps_dims_ ? cfg_.train.dims.at(step) : 0;
  if (!task_ || dims != task_dims_) {
    RawParams p = cfg_.task.params;
    if (ramps_dims_) p["active_dims"] = std::to_string(dims);
    task_ = make_task(cfg_.task.name, p);
    task_dims_ = dims;
  }
  return *task_;
}

double Trainer::step(int64_t s, double* grad_norm) {
  const TrainConfig& tc = cfg_.train;
  const int64_t B = tc.batch_size, K = tc.points.at(s);
  const PromptBatch pb = task_at(s).sample({cfg_.seed, stream_id("train")}, s * B, B, K);
  arena_.reset();
  Graph g(arena_, true);
  const Var pred = model_.forward(g, pb);
  const Tensor target{const_cast<float*>(pb.ys.data()), {B * K * pb.dy}, DType::F32, Device::CPU};
  const Var loss = pb.loss == LossKind::Logistic ? ops::logistic_loss(g, pred, target, {})
                                                 : ops::mse_loss(g, pred, target, {});
  const double value = loss.f()[0];
  ParameterStore& store = model_.parameters();
  store.zero_grad();
  g.backward(loss);
  const double norm =
      tc.grad_clip > 0 ? clip_grad_norm(store, tc.grad_clip) : global_grad_norm(store);
  if (grad_norm) *grad_norm = norm;
  if (!std::isfinite(value) || !std::isfinite(norm))
    fail("training diverged at step {}: loss {}, gradient norm {}; the last checkpoint is kept",
         s + 1, value, norm);
  AdamW opt;
  opt.beta1 = tc.beta1;
  opt.beta2 = tc.beta2;
  opt.eps = tc.eps;
  opt.weight_decay = tc.weight_decay;
  adamw_step(store, opt, tc.schedule.at(s), s + 1);
  return value;
}

double Trainer::eval_error() {
  const auto task = make_task(cfg_.task.name, cfg_.task.params);
  ModelPredictor pred(model_, model_.name());
  EvalOptions opt;
  opt.prompts = cfg_.train.eval_prompts;
  opt.examples = cfg_.train.points.end;
  opt.batch_size = cfg_.batch_size;
  opt.bootstrap = 20;
  opt.progress = false;
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
    if (progress)
      bar.update(st.step, fmt::format("loss {:.4f}  eval {:.4f}  K={} dims={}", loss, last_eval,
                                      tc.points.at(st.step - 1), tc.dims.at(st.step - 1)));
    if (st.step % tc.checkpoint_every == 0 || st.step == until) save(st);
  }
  if (progress) bar.finish(fmt::format("eval {:.4f}", last_eval));
}

}  // namespace icl

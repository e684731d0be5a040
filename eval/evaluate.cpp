#include "eval/evaluate.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "core/parallel.h"
#include "core/progress.h"
#include "eval/memory_estimate.h"
#include "tasks/check_finite.h"
#include "tasks/token_task.h"

namespace icl {

double metric_value(Metric m, double pred, double y) {
  switch (m) {
    case Metric::SquaredError:
      return (pred - y) * (pred - y);
    case Metric::Accuracy:
      // sign(ŷ) == y with sign(0) = 0, as the reference's accuracy (satwik77/incontext-bool,
      // src/bool_tasks.py: ys == ys_pred.sign()): a prediction of exactly 0 (or NaN) is wrong.
      return (pred > 0.0 && y > 0.0) || (pred < 0.0 && y < 0.0) ? 1.0 : 0.0;
    case Metric::ScaledAccuracy:
      fail("metric scaled_accuracy: computed per prompt over its token positions, not per value");
  }
  return 0.0;
}

const char* to_string(Difference d) {
  switch (d) {
    case Difference::None:
      return "none";
    case Difference::SquaredDifference:
      return "squared_difference";
    case Difference::SignDisagreement:
      return "sign_disagreement";
  }
  return "?";
}

double difference_value(Difference d, double a, double b) {
  switch (d) {
    case Difference::SquaredDifference:
      return (a - b) * (a - b);
    case Difference::SignDisagreement: {
      const auto sign = [](double v) { return v > 0.0 ? 1 : v < 0.0 ? -1 : 0; };
      return sign(a) != sign(b) ? 1.0 : 0.0;
    }
    case Difference::None:
      break;
  }
  fail("difference_value: no difference measure chosen");
}

double scaled_accuracy(const TokenPrompts& pb, int64_t b, const float* logits, int64_t V,
                       int64_t answers) {
  const int64_t T = pb.seq_len;
  int64_t scored = 0, right = 0;
  for (int64_t t = 0; t < T; ++t) {
    const size_t i = size_t(b * T + t);
    if (!pb.loss_mask[i]) continue;
    const float* z = logits + t * V;
    ++scored;
    right += std::max_element(z, z + V) - z == pb.targets[i];
  }
  ICL_ASSERT(scored > 0 && answers >= 2);
  const double chance = 1.0 / double(answers);
  return (double(right) / double(scored) - chance) / (1.0 - chance);
}

// History prompts: whether the most likely class (lowest index on ties) is step k's target, scaled
// as scaled_accuracy with the dy classes as the answers.
static double class_score(const HistoryPrompts& pb, int64_t b, int64_t k, const float* logits) {
  const int64_t V = pb.dy, i = b * pb.n_examples + k;
  const float* z = logits + i * V;
  const double right = std::max_element(z, z + V) - z == pb.targets[size_t(i)] ? 1.0 : 0.0;
  const double chance = 1.0 / double(V);
  return (right - chance) / (1.0 - chance);
}

CurveStats summarise(const std::vector<double>& e, int64_t P, int64_t K, int64_t R,
                     const RngKey& key) {
  ICL_ASSERT(int64_t(e.size()) == P * K && P > 0);
  CurveStats s;
  s.mean.assign(size_t(K), 0.0);
  for (int64_t p = 0; p < P; ++p)
    for (int64_t k = 0; k < K; ++k) s.mean[size_t(k)] += e[size_t(p * K + k)];
  for (auto& m : s.mean) m /= double(P);

  std::vector<double> means(size_t(R * K));  // [R, K]
  parallel_for(R, [&](int64_t r) {
    Rng rng(key, uint64_t(r));
    double* m = means.data() + r * K;
    for (int64_t i = 0; i < P; ++i) {
      const double* row = e.data() + int64_t(rng.below(uint64_t(P))) * K;
      for (int64_t k = 0; k < K; ++k) m[k] += row[k];
    }
    for (int64_t k = 0; k < K; ++k) m[k] /= double(P);
  });
  s.lo.resize(size_t(K));
  s.hi.resize(size_t(K));
  std::vector<double> col(static_cast<size_t>(R));
  for (int64_t k = 0; k < K; ++k) {
    for (int64_t r = 0; r < R; ++r) col[size_t(r)] = means[size_t(r * K + k)];
    std::sort(col.begin(), col.end());
    s.lo[size_t(k)] = col[size_t(0.05 * double(R))];
    s.hi[size_t(k)] = col[size_t(0.95 * double(R))];
  }
  return s;
}

namespace {

// A non-finite point on a curve from finite prompts (check_finite ran on every batch): a
// predictor's error overflowed or it predicted NaN. One line naming the set, the predictor and the
// task's settings, instead of NaN written into the results.
void check_curve(const std::string& set, const Task& task, const std::string& predictor,
                 const std::string& metric, const CurveStats& s, const std::vector<int64_t>& x) {
  for (size_t k = 0; k < s.mean.size(); ++k) {
    if (std::isfinite(s.mean[k]) && std::isfinite(s.lo[k]) && std::isfinite(s.hi[k])) continue;
    const std::string suspects = suspect_params(task);
    fail("eval {}: predictor {} has a non-finite {} ({}) at {} {} on finite prompts of task {}; {}",
         set, predictor, metric, s.mean[k], x.empty() ? "example" : "length",
         x.empty() ? int64_t(k) : x[k], task.name(),
         suspects.empty() ? "every real-valued task parameter has its default"
                          : fmt::format("reduce the scale of {}", suspects));
  }
}

EvalResult evaluate_lengths(const std::string& name, const TokenTask& task,
                            const std::vector<const Predictor*>& predictors, const RngKey& key,
                            const EvalOptions& opt) {
  const int64_t P = opt.prompts, nL = int64_t(opt.lengths.size()), V = task.vocab();
  if (nL == 0) fail("eval {}: task {} has token prompts and needs lengths", name, task.name());
  for (int64_t L : opt.lengths) task.check_examples(L);
  check_evaluation_memory(task, int64_t(predictors.size()), opt,
                          fmt::format("eval {}: {} prompts x {} lengths", name, P, nL));
  EvalResult res;
  res.name = name;
  res.task = task.name();
  res.task_params = task.params();
  res.metric = task.metric();
  res.prompts = P;
  res.lengths = opt.lengths;
  res.examples = nL;
  res.answers = task.answers();

  std::vector<std::vector<double>> scores(predictors.size(), std::vector<double>(size_t(P * nL)));
  // The task's own further metrics (the maze's decoded paths): [predictor][metric][P, nL].
  const std::vector<ExtraMetric> extras =
      opt.extra_metrics ? task.extra_metrics() : std::vector<ExtraMetric>{};
  res.length_label = task.length_label();
  res.extra_metrics = extras;
  std::vector<std::vector<std::vector<double>>> extra(
      predictors.size(),
      std::vector<std::vector<double>>(extras.size(), std::vector<double>(size_t(P * nL))));
  Progress progress(fmt::format("eval {}", name), P * nL, "prompts");
  for (int64_t j = 0; j < nL; ++j) {
    const int64_t L = opt.lengths[size_t(j)];
    const RngKey stream = key.sub(fmt::format("length{}", L));
    for (int64_t first = 0; first < P; first += opt.batch_size) {
      const int64_t B = std::min(opt.batch_size, P - first);
      const PromptBatch batch = task.sample(stream, first, B, L);
      const TokenPrompts& pb = batch.as<TokenPrompts>("eval " + name);
      for (size_t i = 0; i < predictors.size(); ++i) {
        const std::vector<float> logits = predictors[i]->predict(batch);
        ICL_ASSERT(int64_t(logits.size()) == B * pb.seq_len * V);
        for (int64_t b = 0; b < B; ++b)
          scores[i][size_t((first + b) * nL + j)] =
              scaled_accuracy(pb, b, logits.data() + b * pb.seq_len * V, V, res.answers);
        if (extras.empty()) continue;
        const std::vector<std::vector<double>> sc = task.score_extra(*predictors[i], batch);
        ICL_ASSERT(sc.size() == extras.size());
        for (size_t m = 0; m < extras.size(); ++m)
          for (int64_t b = 0; b < B; ++b)
            extra[i][m][size_t((first + b) * nL + j)] = sc[m][size_t(b)];
      }
      if (opt.progress) progress.update(j * P + first + B);
    }
  }
  for (size_t i = 0; i < predictors.size(); ++i) {
    const Predictor& p = *predictors[i];
    res.curves.push_back({p.label(),
                          p.name(),
                          p.kind(),
                          p.params(),
                          summarise(scores[i], P, nL, opt.bootstrap, key.sub("bootstrap")),
                          {},
                          {},
                          {}});
    check_curve(name, task, p.label(), to_string(res.metric), res.curves.back().stats, opt.lengths);
    if (opt.per_prompt) res.curves.back().stats.per_prompt = std::move(scores[i]);
    for (size_t m = 0; m < extras.size(); ++m) {
      res.curves.back().extra.emplace_back(
          extras[m].name, summarise(extra[i][m], P, nL, opt.bootstrap, key.sub("bootstrap")));
      if (opt.per_prompt) res.curves.back().extra.back().second.per_prompt = std::move(extra[i][m]);
    }
  }
  if (opt.progress) progress.finish();
  return res;
}

}  // namespace

EvalResult evaluate(const std::string& name, const Task& task,
                    const std::vector<const Predictor*>& predictors, const RngKey& key,
                    const EvalOptions& opt) {
  if (opt.prediction_difference && task.prompt_kind() != PromptKind::Vector)
    fail("eval {}: prediction differences need vector prompts; {} has {} prompts", name,
         task.name(), to_string(task.prompt_kind()));
  if (const TokenTask* tt = as_token_task(task))
    return evaluate_lengths(name, *tt, predictors, key, opt);
  if (!opt.lengths.empty())
    fail("eval {}: lengths are for token tasks; {} has vector prompts (use examples)", name,
         task.name());
  const int64_t P = opt.prompts, K = opt.examples;
  task.check_examples(K);
  // A net for every caller (icl eval and icl run check first, naming their settings).
  check_evaluation_memory(task, int64_t(predictors.size()), opt,
                          fmt::format("eval {}: {} prompts x {} examples", name, P, K));
  EvalResult res;
  res.name = name;
  res.task = task.name();
  res.task_params = task.params();
  res.metric = task.metric();
  res.normalisation = task.normalisation();
  res.prompts = P;
  res.examples = K;

  const size_t N = predictors.size();
  std::vector<std::vector<double>> errors(N, std::vector<double>(size_t(P * K)));
  // Prediction differences: [i * N + j] for i < j, each [P, K]; the batch's predictions are kept
  // until every predictor has made them.
  if (opt.prediction_difference) {
    res.difference = res.metric == Metric::Accuracy ? Difference::SignDisagreement
                                                    : Difference::SquaredDifference;
  }
  std::vector<std::vector<double>> diffs;
  if (res.difference != Difference::None) {
    diffs.resize(N * N);
    for (size_t i = 0; i < N; ++i)
      for (size_t j = i + 1; j < N; ++j) diffs[i * N + j].resize(size_t(P * K));
  }
  std::vector<std::vector<float>> preds(N);
  Progress progress(fmt::format("eval {}", name), P, "prompts");
  for (int64_t first = 0; first < P; first += opt.batch_size) {
    const int64_t B = std::min(opt.batch_size, P - first);
    const PromptBatch batch = task.sample(key, first, B, K);
    check_finite(batch, task, fmt::format("eval {}", name));
    for (size_t j = 0; j < N; ++j) {
      preds[j] = predictors[j]->predict(batch);
      const std::vector<float>& pred = preds[j];
      if (const auto* h = batch.get<HistoryPrompts>()) {  // class logits: scaled accuracy per step
        ICL_ASSERT(int64_t(pred.size()) == B * K * h->dy);
        for (int64_t b = 0; b < B; ++b)
          for (int64_t k = 0; k < K; ++k)
            errors[j][size_t((first + b) * K + k)] = class_score(*h, b, k, pred.data());
        continue;
      }
      const VectorPrompts& pb = batch.as<VectorPrompts>("eval " + name);
      ICL_ASSERT(int64_t(pred.size()) == B * K * pb.dy);
      for (int64_t b = 0; b < B; ++b)
        for (int64_t k = 0; k < K; ++k)
          errors[j][size_t((first + b) * K + k)] =
              metric_value(res.metric, pred[size_t(b * K + k)], *pb.query_y(b, k)) /
              (res.metric == Metric::SquaredError ? res.normalisation : 1.0);
    }
    if (res.difference != Difference::None)
      for (size_t i = 0; i < N; ++i)
        for (size_t j = i + 1; j < N; ++j)
          for (int64_t n = 0; n < B * K; ++n)
            diffs[i * N + j][size_t(first * K + n)] =
                difference_value(res.difference, preds[i][size_t(n)], preds[j][size_t(n)]);
    if (opt.progress) progress.update(first + B);
  }
  for (size_t j = 0; j < predictors.size(); ++j) {
    const Predictor& p = *predictors[j];
    res.curves.push_back({p.label(),
                          p.name(),
                          p.kind(),
                          p.params(),
                          summarise(errors[j], P, K, opt.bootstrap, key.sub("bootstrap")),
                          {},
                          {},
                          {}});
    check_curve(name, task, p.label(), to_string(res.metric), res.curves.back().stats, {});
    if (opt.per_prompt) res.curves.back().stats.per_prompt = std::move(errors[j]);
  }
  // Symmetric, so each pair is summarised once and stored under both predictors.
  if (res.difference != Difference::None) {
    for (auto& c : res.curves) c.difference.resize(N);
    for (size_t i = 0; i < N; ++i) {
      res.curves[i].difference[i] = {std::vector<double>(size_t(K), 0.0),
                                     std::vector<double>(size_t(K), 0.0),
                                     std::vector<double>(size_t(K), 0.0)};
      if (opt.per_prompt) res.curves[i].difference[i].per_prompt.assign(size_t(P * K), 0.0);
      for (size_t j = i + 1; j < N; ++j) {
        CurveStats st = summarise(diffs[i * N + j], P, K, opt.bootstrap, key.sub("bootstrap"));
        if (opt.per_prompt) st.per_prompt = diffs[i * N + j];
        check_curve(name, task,
                    fmt::format("{} against {}", res.curves[i].label, res.curves[j].label),
                    to_string(res.difference), st, {});
        res.curves[j].difference[i] = st;
        res.curves[i].difference[j] = std::move(st);
      }
    }
  }
  if (opt.progress) progress.finish();
  return res;
}

}  // namespace icl

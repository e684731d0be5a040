#pragma once
// The evaluation harness: the same prompts for every predictor, a metric per context length, and
// its mean with a 90% bootstrap interval over prompts (Garg et al.: 1000 resamples, 5th and 95th
// percentile of the resampled means).
#include <string>
#include <utility>
#include <vector>

#include "core/rng.h"
#include "tasks/predictor.h"
#include "tasks/task.h"

namespace icl {

struct CurveStats {
  std::vector<double> mean, lo, hi;  // [K]
  // EvalOptions::per_prompt: every prompt's score the mean averages, [P, K] row-major (prompt i of
  // the set's stream first); empty otherwise.
  std::vector<double> per_prompt = {};
};

// per_prompt: [P, K] row-major. Resample r draws P prompt indices from Rng(key, r).
CurveStats summarise(const std::vector<double>& per_prompt, int64_t prompts, int64_t K,
                     int64_t resamples, const RngKey& key);

// Metric of prediction `pred` for label `y`, before normalisation (vector prompts). Accuracy: 1
// when pred and the ±1 label y have the same sign; a prediction of 0 is wrong (sign(0) = 0).
double metric_value(Metric m, double pred, double y);

// Token prompts: the scaled accuracy (acc − 1/|Y|)/(1 − 1/|Y|) of one prompt, acc being the
// fraction of its scored positions where the largest logit (the first, on ties) is the target.
// logits [T, V] for the prompt's row b.
double scaled_accuracy(const TokenPrompts& pb, int64_t b, const float* logits, int64_t V,
                       int64_t answers);

struct PredictorCurve {
  std::string label, name, kind;
  ParamSet params;
  CurveStats stats;
  std::vector<double> spectrum;  // [points/2 + 1] (eval/spectrum.h), empty unless asked for
  // Further metrics of the same prompts by name (Task::extra_metrics), each per length with its
  // bootstrap interval: the maze task's path metrics (tasks/maze_decode.h); empty otherwise.
  std::vector<std::pair<std::string, CurveStats>> extra;
  // EvalOptions::prediction_difference: [j] the difference from predictor j's predictions
  // (EvalResult::difference says which), one per predictor of the evaluation, j = itself all 0.
  std::vector<CurveStats> difference;
};

// How two predictors' predictions for the same query are compared: the squared difference
// (a − b)² (Akyürek et al. 2023's SPD, not divided by the set's normalisation, as their reference
// plots it), or for ±1 accuracy tasks whether their signs differ (sign(0) = 0).
enum class Difference { None, SquaredDifference, SignDisagreement };
const char* to_string(Difference d);
double difference_value(Difference d, double a, double b);

// An evaluation set's optional spectrum measurement (config key eval.sets.<set>.spectrum).
struct SpectrumConfig {  // points = 0: none
  int64_t points = 0, context = 0, prompts = 0;
  double lo = 0.0, hi = 0.0;
};

struct EvalResult {
  std::string name;      // evaluation set
  std::string task;      // task registry name
  ParamSet task_params;  // as used, defaults included
  Metric metric = Metric::SquaredError;
  double normalisation = 1.0;
  int64_t prompts = 0, examples = 0;
  // Token tasks: the curve's x-axis is the prompt length, one point per entry (then examples is
  // unused), and answers is |Y|.
  std::vector<int64_t> lengths;
  int64_t answers = 0;
  std::string length_label;                // what the lengths are (Task::length_label)
  std::vector<ExtraMetric> extra_metrics;  // names and labels of PredictorCurve::extra
  std::vector<PredictorCurve> curves;
  Difference difference = Difference::None;  // what PredictorCurve::difference holds
  SpectrumConfig spectrum;  // what the curves' spectra were measured with (points = 0: none)
};

struct EvalOptions {
  int64_t prompts = 1280, examples = 40, batch_size = 256, bootstrap = 1000;
  std::vector<int64_t> lengths;  // token tasks only: the prompt lengths to evaluate at
  bool progress = true;
  // The task's further metrics (Task::extra_metrics: the maze decodes every path for exact_path,
  // valid_path, token_path and first_move, several forward passes per prompt, so training's
  // periodic evaluation turns them off).
  bool extra_metrics = true;
  // Vector tasks: every pair of predictors' difference per k, mean and 90% interval over prompts
  // (the same bootstrap resamples as the curves).
  bool prediction_difference = false;
  // Keep every prompt's score beside the curves (CurveStats::per_prompt): the curve, the further
  // metrics, the prediction differences. For analyses by prompt (which mazes a model fails).
  bool per_prompt = false;
};

// Prompts come from stream `key` (prompt i = Rng(key, i)); bootstrap from key.sub("bootstrap").
// Token tasks are evaluated at each of opt.lengths on `prompts` prompts of that length, prompt i
// of length L being prompt i of key.sub("length<L>") (independent prompts per length); predictors
// return logits [B, T, vocab] and each prompt scores its scaled accuracy. A task with further
// metrics scores them per prompt itself (Task::score_extra; the maze decodes its paths), kept in
// PredictorCurve::extra.
EvalResult evaluate(const std::string& name, const Task& task,
                    const std::vector<const Predictor*>& predictors, const RngKey& key,
                    const EvalOptions& opt);

}  // namespace icl

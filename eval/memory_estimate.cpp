#include "eval/memory_estimate.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"
#include "core/memory.h"
#include "tasks/check_finite.h"
#include "tasks/token_task.h"

namespace icl {

namespace {

template <class V>
int64_t bytes_of(const V& v) {
  return int64_t(v.size() * sizeof(typename V::value_type));
}

// The covariance a vector batch shares between its prompts (0 bytes for other kinds).
int64_t shared_bytes(const PromptBatch& pb) {
  const auto* v = pb.get<VectorPrompts>();
  return v ? bytes_of(v->x_cov) : 0;
}

}  // namespace

int64_t batch_bytes(const PromptBatch& pb) {
  int64_t n = bytes_of(pb.common().truth);
  if (const auto* v = pb.get<VectorPrompts>())
    n += bytes_of(v->xs) + bytes_of(v->ys) + bytes_of(v->xq) + bytes_of(v->yq) +
         bytes_of(v->x_cov) + bytes_of(v->loss_mask);
  else if (const auto* t = pb.get<TokenPrompts>())
    n += bytes_of(t->tokens) + bytes_of(t->targets) + bytes_of(t->loss_mask);
  else if (const auto* h = pb.get<HistoryPrompts>())
    n += bytes_of(h->xs) + bytes_of(h->ys) + bytes_of(h->targets);
  return n;
}

PromptFootprint prompt_footprint(const Task& task, int64_t K, const std::string& what) {
  task.check_examples(K);
  PromptFootprint f;
  if (const TokenTask* tt = as_token_task(task)) {
    f.seq_len = tt->seq_len(K);
    f.vocab = tt->vocab();
    // tokens and targets (int32) and loss_mask (uint8) per position.
    f.per_prompt = memory::checked_product({f.seq_len, 9}, what);
    return f;
  }
  // One prompt at K = 1 and (when K allows) K = 2: a vector task's buffers are affine in K.
  const PromptBatch one = task.sample({0, 0}, 0, 1, 1);
  const ExampleDims d = example_dims(one);
  f.dx = d.dx;
  f.dy = d.dy;
  if (const auto* v = one.get<VectorPrompts>()) f.queries = v->has_queries();
  f.shared = shared_bytes(one);
  const int64_t b1 = batch_bytes(one) - f.shared;
  int64_t slope = 0;
  if (K >= 2) {
    const PromptBatch two = task.sample({0, 0}, 0, 1, 2);
    slope = std::max<int64_t>(0, batch_bytes(two) - shared_bytes(two) - b1);
  }
  f.per_prompt = memory::checked_sum({b1, memory::checked_product({slope, K - 1}, what)}, what);
  return f;
}

std::string describe_prompts(const Task& task, const PromptFootprint& f) {
  if (f.seq_len > 0) return fmt::format("{} ({} tokens each)", task.name(), f.seq_len);
  return fmt::format("{} (x of width {})", task.name(), f.dx);
}

void check_generate_memory(const Task& task, int64_t prompts, int64_t K,
                           const std::string& settings) {
  const PromptFootprint f = prompt_footprint(task, K, settings);
  int64_t bytes = memory::checked_sum(
      {memory::checked_product({prompts, f.per_prompt}, settings), f.shared}, settings);
  // What the task writes beside its prompts (the maze's raw mazes); K passed check_examples.
  bytes = memory::checked_sum(
      {bytes, memory::checked_product({prompts, task.export_bytes_per_prompt(K)}, settings)},
      settings);
  memory::check_fits(bytes, fmt::format("{} of {}", settings, describe_prompts(task, f)));
}

namespace {

// The longest prompt an evaluation samples: its K, or a token task's longest length.
int64_t longest_prompt(const Task& task, const EvalOptions& opt) {
  if (!as_token_task(task)) return opt.examples;
  return opt.lengths.empty() ? 1 : *std::max_element(opt.lengths.begin(), opt.lengths.end());
}

// evaluate(): what it allocates for `predictors` predictors under `opt`, prompts of footprint f.
int64_t evaluation_bytes(const Task& task, const PromptFootprint& f, int64_t predictors,
                         const EvalOptions& opt, const std::string& what) {
  using memory::checked_product;
  using memory::checked_sum;
  const int64_t P = opt.prompts, R = opt.bootstrap, B = std::min(opt.batch_size, P);
  const TokenTask* tt = as_token_task(task);
  // Points on the curve: the lengths of a token task, K of a vector task.
  const int64_t points = tt ? int64_t(opt.lengths.size()) : opt.examples;
  // Per predictor: scores [P, points] (and the task's further metrics), mean/lo/hi [points].
  const int64_t per_score =
      1 + (opt.extra_metrics ? int64_t(task.extra_metrics().size()) : int64_t(0));
  const int64_t scores =
      checked_product({predictors, P, points, per_score, int64_t(sizeof(double))}, what);
  const int64_t curves = checked_product({predictors, points, per_score, 3 * 8}, what);
  // Prediction differences: [P, K] per pair, mean/lo/hi per ordered pair, and every predictor's
  // outputs for the batch at once.
  int64_t differences = 0;
  if (opt.prediction_difference && !tt) {
    const int64_t pairs = predictors * (predictors - 1) / 2;
    differences = checked_sum({checked_product({pairs, P, points, 8}, what),
                               checked_product({predictors, predictors, points, 3 * 8}, what),
                               checked_product({predictors, B, opt.examples, f.dy, 4}, what)},
                              what);
  }
  // summarise(): the resampled means [R, points] and one column [R], one predictor at a time.
  const int64_t bootstrap = checked_product({R, checked_sum({points, 1}, what), 8}, what);
  // One batch of prompts and one predictor's outputs for it: [B, K, dy] or logits [B, T, vocab].
  const int64_t batch = checked_sum({checked_product({B, f.per_prompt}, what), f.shared}, what);
  const int64_t outputs = tt ? checked_product({B, f.seq_len, f.vocab, 4}, what)
                             : checked_product({B, opt.examples, f.dy, 4}, what);
  return checked_sum({scores, curves, differences, bootstrap, batch, outputs}, what);
}

}  // namespace

std::string describe_parts(const std::vector<MemoryPart>& parts) {
  std::string text;
  for (size_t i = 0; i < parts.size(); ++i)
    text += fmt::format("{}{} ({})",
                        i == 0                  ? ""
                        : i + 1 == parts.size() ? " and "
                                                : ", ",
                        parts[i].what, memory::format_bytes(parts[i].bytes));
  return text;
}

void check_evaluation_memory(const Task& task, int64_t predictors, const EvalOptions& opt,
                             const std::string& settings, const std::vector<MemoryPart>& also) {
  const PromptFootprint f = prompt_footprint(task, longest_prompt(task, opt), settings);
  double bytes = double(evaluation_bytes(task, f, predictors, opt, settings));
  for (const MemoryPart& p : also) bytes += p.bytes;
  memory::check_fits(
      memory::to_bytes(bytes),
      fmt::format("{} with {} predictor{}{} on {}{}{}", settings, predictors,
                  predictors == 1 ? "" : "s",
                  opt.prediction_difference && !as_token_task(task)
                      ? " and their pairwise prediction differences"
                      : "",
                  describe_prompts(task, f), also.empty() ? "" : ", with ", describe_parts(also)));
}

int64_t evaluation_bytes(const Task& task, int64_t predictors, const EvalOptions& opt,
                         const std::string& what) {
  const PromptFootprint f = prompt_footprint(task, longest_prompt(task, opt), what);
  return evaluation_bytes(task, f, predictors, opt, what);
}

StepShape evaluation_pass(const Task& task, const EvalOptions& opt) {
  const int64_t longest = longest_prompt(task, opt);
  StepShape s;
  s.kind = task.prompt_kind();
  s.batch = std::min(opt.batch_size, opt.prompts);
  if (const TokenTask* tt = as_token_task(task)) {
    s.length = tt->seq_len(longest);
  } else {
    s.length = longest;
    if (prompt_footprint(task, longest, "eval").queries) s.batch = longest;
  }
  return s;
}

}  // namespace icl

// Every registered task (tasks/registry.cpp, so families added later are covered too): shapes at
// batch sizes 1 and 7 and an odd K, finite values in the metric's range, prompt i the same in a
// batch of 1 and a batch of 7, and no parameter silently ignored.
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <sstream>
#include <type_traits>

#include "core/error.h"
#include "tasks/task.h"
#include "tasks/token_task.h"

namespace icl {
namespace {

const RngKey kKey{2024, stream_id("all-tasks")};
constexpr int64_t kK = 9;  // odd, and small enough for every family's defaults
using Raw = std::map<std::string, std::string>;

// Parameters whose other values legitimately leave the default prompts unchanged; "task.param" ->
// why.
const std::map<std::string, std::string> kExceptions = {
    // Slots 3 and 4 are empty ("none") by default, so their weights are unused.
    {"mixture.weight3", "only used when component3 names a task"},
    {"mixture.weight4", "only used when component4 names a task"},
    // How many answer slots the mlm_u decoder commits per pass: evaluation only, not the prompts.
    {"maze.unmask_per_step", "a decoding setting of objective mlm_u"},
    {"maze.unmask_order", "a decoding setting of objective mlm_u"},
};
// Parameters that only take effect together with another setting: both the reference and the
// changed prompts use these extra settings; "task.param" -> settings.
const std::map<std::string, Raw> kContext = {
    // The paper's DNF teaching sequence exists for monotone terms only (refused otherwise).
    {"dnf3.teaching", {{"monotone", "true"}}},
    // How the expert's pulls are perturbed matters only when some are (expert_noise > 0).
    {"bandit_imitation.perturbation", {{"expert_noise", "0.5"}}},
    // The covariance's rotation exists only for a non-isotropic covariance.
    {"linear_regression.x_cov_seed", {{"x_cov", "skewed"}}},
    {"sparse_linear_regression.x_cov_seed", {{"x_cov", "skewed"}}},
    {"noisy_linear_regression.x_cov_seed", {{"x_cov", "skewed"}}},
};
// Choice parameters where some other choices are refused for the default settings (every accepted
// choice must still change the prompts; any other refused choice is a failure).
const std::map<std::string, std::string> kRefusalsAllowed = {
    {"mixture.component1", "tasks whose dx, dy, loss or metric differ from linear regression's"},
    {"mixture.component2", "as component1"},
    {"mixture.component3", "as component1"},
    {"mixture.component4", "as component1"},
};

std::string fmt_value(double v) {
  std::ostringstream s;
  s.precision(17);
  s << v;
  return s.str();
}

// Other valid values of a parameter, in the order they are tried.
std::vector<std::string> alternatives(const ParamSpec& s) {
  std::vector<std::string> out;
  switch (s.type) {
    case ParamType::Int: {
      const int64_t d = std::get<int64_t>(s.def);
      for (int64_t v : {d + 1, d - 1, d + 2, d * 2, d + 5, d + 10})
        if (v != d && double(v) >= s.min && double(v) <= s.max) out.push_back(std::to_string(v));
      break;
    }
    case ParamType::Real: {
      const double d = std::get<double>(s.def);
      std::vector<double> c = {d * 2, d / 2, d + 0.5, d - 0.5, d + 0.1, d - 0.1};
      if (std::isfinite(s.min) && std::isfinite(s.max)) c.push_back((s.min + s.max) / 2);
      for (double v : c)
        if (v != d && v >= s.min && v <= s.max) out.push_back(fmt_value(v));
      break;
    }
    case ParamType::Bool:
      out.push_back(std::get<bool>(s.def) ? "false" : "true");
      break;
    case ParamType::Choice:
      for (const auto& c : s.choices)
        if (c != std::get<std::string>(s.def)) out.push_back(c);
      break;
  }
  return out;
}

bool same_prompts(const PromptBatch& a, const PromptBatch& b) { return a == b; }

// Rows i*per .. (i+1)*per of v (empty stays empty).
template <class V>
V rows(const V& v, int64_t i, int64_t per) {
  if (v.empty()) return V{};
  return V(v.begin() + i * per, v.begin() + (i + 1) * per);
}

// Prompt i of `all` as a batch of one. The input covariance is left out (a batch shares one only
// when all its prompts have it: mixtures of classes), as is anything else batch-wide.
PromptBatch prompt_of(const PromptBatch& all, int64_t i) {
  return all.visit([&](const auto& p) {
    auto one = p;
    one.batch = 1;
    one.truth = rows(p.truth, i, p.truth_dim);
    using P = std::remove_cvref_t<decltype(p)>;
    if constexpr (std::is_same_v<P, TokenPrompts>) {
      one.tokens = rows(p.tokens, i, p.seq_len);
      one.targets = rows(p.targets, i, p.seq_len);
      one.loss_mask = rows(p.loss_mask, i, p.seq_len);
    } else {
      const int64_t nx = p.n_examples * p.dx, ny = p.n_examples * p.dy;
      one.xs = rows(p.xs, i, nx);
      one.ys = rows(p.ys, i, ny);
      if constexpr (std::is_same_v<P, VectorPrompts>) {
        one.xq = rows(p.xq, i, nx);
        one.yq = rows(p.yq, i, ny);
        one.loss_mask = rows(p.loss_mask, i, p.n_examples);
        one.x_cov.clear();
      } else {
        one.targets = rows(p.targets, i, p.n_examples);
      }
    }
    return PromptBatch(std::move(one));
  });
}

PromptBatch without_cov(PromptBatch pb) {
  if (auto* v = pb.get<VectorPrompts>()) v->x_cov.clear();
  return pb;
}

// Token tasks' training prompts (TokenTask::sample_mixed), which their length range shapes; empty
// for vector tasks.
PromptBatch training_prompts(const Task& task, int64_t batch) {
  const TokenTask* tt = as_token_task(task);
  return tt ? tt->sample_mixed(kKey, 0, batch) : PromptBatch{};
}

TEST(AllTasks, NamesAreUnique) {
  std::set<std::string> names;
  for (const auto& info : task_registry())
    EXPECT_TRUE(names.insert(info.name).second) << "task " << info.name << " registered twice";
}

void check_tokens(const Task& task, const TokenPrompts& pb, int64_t B) {
  const TokenTask* tt = as_token_task(task);
  ASSERT_NE(tt, nullptr) << "token prompts from a task that is no TokenTask";
  EXPECT_GT(pb.seq_len, 0);
  EXPECT_EQ(pb.tokens.size(), size_t(B * pb.seq_len));
  EXPECT_EQ(pb.targets.size(), size_t(B * pb.seq_len));
  EXPECT_EQ(pb.loss_mask.size(), size_t(B * pb.seq_len));
  for (int64_t b = 0; b < B; ++b) {
    int64_t scored = 0;
    for (int64_t t = 0; t < pb.seq_len; ++t) {
      const size_t i = size_t(b * pb.seq_len + t);
      EXPECT_TRUE(pb.tokens[i] >= 0 && pb.tokens[i] < tt->vocab()) << "token " << pb.tokens[i];
      if (!pb.loss_mask[i]) continue;
      ++scored;
      EXPECT_TRUE(pb.targets[i] >= 0 && pb.targets[i] < tt->vocab()) << "target " << pb.targets[i];
    }
    EXPECT_GT(scored, 0) << "prompt " << b << " has no scored position";
  }
}

// One token per step; labels are classes: ys one-hot at the target.
void check_history(const HistoryPrompts& pb, int64_t B) {
  EXPECT_GE(pb.dx, 1);
  EXPECT_GE(pb.dy, 2);
  EXPECT_EQ(pb.xs.size(), size_t(B * kK * pb.dx));
  EXPECT_EQ(pb.ys.size(), size_t(B * kK * pb.dy));
  ASSERT_EQ(pb.targets.size(), size_t(B * kK));
  for (float f : pb.xs) ASSERT_TRUE(std::isfinite(f)) << "non-finite value";
  for (int64_t i = 0; i < B * kK; ++i) {
    const int32_t c = pb.targets[size_t(i)];
    ASSERT_TRUE(c >= 0 && c < pb.dy) << "class " << c;
    for (int64_t j = 0; j < pb.dy; ++j)
      ASSERT_EQ(pb.ys[size_t(i * pb.dy + j)], j == c ? 1.f : 0.f)
          << "ys is not one-hot at the target";
  }
}

void check_vector(const Task& task, const VectorPrompts& pb, int64_t B) {
  EXPECT_GE(pb.dx, 1);
  EXPECT_GE(pb.dy, 1);
  EXPECT_NE(pb.loss, LossKind::CrossEntropy) << "class labels are history or token prompts";
  EXPECT_EQ(pb.xs.size(), size_t(B * kK * pb.dx));
  EXPECT_EQ(pb.ys.size(), size_t(B * kK * pb.dy));
  if (!pb.loss_mask.empty()) {  // [B, K], 0 or 1
    EXPECT_EQ(pb.loss_mask.size(), size_t(B * kK));
    for (const uint8_t m : pb.loss_mask) EXPECT_LE(m, 1);
  }
  if (pb.has_queries()) {
    EXPECT_EQ(pb.xq.size(), pb.xs.size());
    EXPECT_EQ(pb.yq.size(), pb.ys.size());
  } else {
    EXPECT_TRUE(pb.yq.empty());
  }
  EXPECT_TRUE(pb.x_cov.empty() || pb.x_cov.size() == size_t(pb.dx * pb.dx));
  for (const auto* v : {&pb.xs, &pb.ys, &pb.xq, &pb.yq})
    for (float f : *v) ASSERT_TRUE(std::isfinite(f)) << "non-finite value";
  if (task.metric() == Metric::Accuracy) {
    EXPECT_EQ(pb.loss, LossKind::Logistic);
    for (const auto* v : {&pb.ys, &pb.yq})
      for (float f : *v) ASSERT_TRUE(f == 1.f || f == -1.f) << "label " << f << " is not ±1";
  }
}

void check_batch(const TaskInfo& info, const Task& task, const PromptBatch& pb, int64_t B) {
  SCOPED_TRACE(info.name + " B=" + std::to_string(B));
  EXPECT_EQ(pb.batch(), B);
  EXPECT_EQ(pb.n_examples(), kK);
  EXPECT_EQ(pb.kind(), task.prompt_kind()) << "sample() gives another kind than prompt_kind()";
  EXPECT_EQ(pb.common().truth.size(), size_t(B * pb.common().truth_dim));
  for (float f : pb.common().truth) ASSERT_TRUE(std::isfinite(f)) << "non-finite truth";
  if (pb.kind() != PromptKind::Vector) {
    EXPECT_EQ(pb.loss(), LossKind::CrossEntropy);
  }
  if (const auto* t = pb.get<TokenPrompts>()) check_tokens(task, *t, B);
  if (const auto* h = pb.get<HistoryPrompts>()) check_history(*h, B);
  if (const auto* v = pb.get<VectorPrompts>()) check_vector(task, *v, B);
  EXPECT_GT(task.normalisation(), 0.0);
}

TEST(AllTasks, ShapesRangesAndBatchIndependence) {
  for (const auto& info : task_registry()) {
    const auto task = make_task(info.name, {});
    const PromptBatch one7 = task->sample(kKey, 0, 7, kK);
    check_batch(info, *task, one7, 7);
    for (int64_t i = 0; i < 7; ++i) {
      const PromptBatch one = task->sample(kKey, i, 1, kK);
      check_batch(info, *task, one, 1);
      EXPECT_TRUE(prompt_of(one7, i) == without_cov(one))
          << info.name << ": prompt " << i << " differs between a batch of 1 and a batch of 7";
    }
  }
}

// Each parameter is changed to another valid value: for numbers the first candidate the task
// accepts (a value refused for the defaults, e.g. active_dims below sparsity, is skipped), for
// choices every other choice, for booleans the flip. The prompts (xs, ys, xq, yq, truth, tokens)
// must change at K = 9 or, for parameters that act late in a prompt (e.g. a random prefix
// longer than 9), at K = 41; for token tasks the training prompts may change instead (the length
// range only shapes those). 32 prompts, so that a weight moving a class probability changes some.
TEST(AllTasks, NoParameterIsSilentlyIgnored) {
  constexpr int64_t B = 32, kLong = 41;
  for (const auto& info : task_registry()) {
    for (const auto& spec : info.params) {
      const std::string id = info.name + "." + spec.name;
      if (kExceptions.count(id)) continue;
      const Raw base = kContext.count(id) ? kContext.at(id) : Raw{};
      const auto ref_task = make_task(info.name, base);
      int accepted = 0;
      std::string refused;
      for (const auto& v : alternatives(spec)) {
        Raw raw = base;
        raw[spec.name] = v;
        std::unique_ptr<Task> task;
        PromptBatch alt;
        try {
          task = make_task(info.name, raw);
          alt = task->sample(kKey, 0, B, kK);
        } catch (const Error& e) {
          if (spec.type == ParamType::Choice || spec.type == ParamType::Bool) {
            if (!kRefusalsAllowed.count(id))
              ADD_FAILURE() << id << "=" << v << " refused for the default K=" << kK << ": "
                            << e.what();
          }
          refused += " " + v;
          continue;
        }
        ++accepted;
        bool differs = !same_prompts(ref_task->sample(kKey, 0, B, kK), alt) ||
                       !same_prompts(training_prompts(*ref_task, B), training_prompts(*task, B));
        if (!differs) {
          try {
            differs =
                !same_prompts(ref_task->sample(kKey, 0, B, kLong), task->sample(kKey, 0, B, kLong));
          } catch (const Error&) {
          }
        }
        EXPECT_TRUE(differs) << id << "=" << v << " (default " << to_string(spec.def)
                             << ") had no effect at K=" << kK << " or K=" << kLong;
        if (spec.type == ParamType::Int || spec.type == ParamType::Real) break;
      }
      EXPECT_GT(accepted, 0) << id
                             << ": no alternative value tried was accepted (refused:" << refused
                             << ")";
    }
  }
}

// Every exception names a parameter that exists, so a stale entry cannot hide a new parameter.
TEST(AllTasks, ExceptionListsNameRealParameters) {
  std::vector<std::string> ids;
  for (const auto& e : kExceptions) ids.push_back(e.first);
  for (const auto& e : kRefusalsAllowed) ids.push_back(e.first);
  for (const auto& e : kContext) ids.push_back(e.first);
  for (const auto& id : ids) {
    const auto dot = id.find('.');
    bool found = false;
    for (const auto& info : task_registry())
      if (info.name == id.substr(0, dot))
        for (const auto& s : info.params) found |= s.name == id.substr(dot + 1);
    EXPECT_TRUE(found) << id << " is not a registered parameter";
  }
}

}  // namespace
}  // namespace icl

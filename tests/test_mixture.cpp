// Task mixtures: each prompt's class is drawn with the configured weights, a prompt is exactly its
// component's prompt from the component's sub-stream, and bad specifications are one-line errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "core/error.h"
#include "tasks/task.h"
#include "tests/prompts.h"

namespace icl {
namespace {

using testing::HasSubstr;
using Raw = std::map<std::string, std::string>;
const RngKey kKey{5, stream_id("mixture-test")};

const Raw kThree = {{"d", "5"},         {"component1", "linear_regression"},
                    {"weight1", "0.2"}, {"component2", "sparse_linear_regression"},
                    {"weight2", "0.5"}, {"component3", "sliding_window_regression"},
                    {"weight3", "0.3"}};

TEST(MixtureTask, ClassFrequenciesMatchTheWeights) {
  const int64_t B = 3000;
  const VectorPrompts pb = test::take(make_task("mixture", kThree)->sample(kKey, 0, B, 4));
  std::map<int, int64_t> count;
  for (int64_t b = 0; b < B; ++b) ++count[int(pb.truth[size_t(b * pb.truth_dim)])];
  const std::map<int, double> want = {{1, 0.2}, {2, 0.5}, {3, 0.3}};
  EXPECT_EQ(count.size(), 3u);
  for (const auto& [slot, p] : want) {
    const double f = double(count[slot]) / double(B);
    EXPECT_NEAR(f, p, 5 * std::sqrt(p * (1 - p) / double(B))) << "component" << slot;
  }
}

TEST(MixtureTask, EachPromptIsItsComponentsPromptFromTheSubStream) {
  const int64_t B = 60, K = 7, first = 100;
  const VectorPrompts pb = test::take(make_task("mixture", kThree)->sample(kKey, first, B, K));
  const char* names[] = {"", "linear_regression", "sparse_linear_regression",
                         "sliding_window_regression"};
  ASSERT_EQ(pb.dx, 5);
  std::set<int> seen;
  for (int64_t b = 0; b < B; ++b) {
    const int slot = int(pb.truth[size_t(b * pb.truth_dim)]);
    ASSERT_GE(slot, 1);
    ASSERT_LE(slot, 3);
    seen.insert(slot);
    const RngKey sub = kKey.sub("mixture").sub("component" + std::to_string(slot));
    const VectorPrompts one =
        test::take(make_task(names[slot], {{"d", "5"}})->sample(sub, first + b, 1, K));
    for (int64_t k = 0; k < K; ++k) {
      for (int64_t i = 0; i < 5; ++i) ASSERT_EQ(pb.x(b, k)[i], one.x(0, k)[i]);
      ASSERT_EQ(*pb.y(b, k), *one.y(0, k));
    }
    for (int64_t i = 0; i < one.truth_dim; ++i)
      ASSERT_EQ(pb.truth[size_t(b * pb.truth_dim + 1 + i)], one.truth[size_t(i)]);
    for (int64_t i = one.truth_dim + 1; i < pb.truth_dim; ++i)
      ASSERT_EQ(pb.truth[size_t(b * pb.truth_dim + i)], 0.f);
  }
  EXPECT_EQ(seen.size(), 3u);
}

TEST(MixtureTask, NormalisationIsTheWeightedMeanOfTheComponents) {
  const double want = 0.2 * 5 + 0.5 * 3 + 0.3 * 15;  // d, sparsity 3, d·window
  EXPECT_DOUBLE_EQ(make_task("mixture", kThree)->normalisation(), want);
}

// The message of the icl::Error that making `raw` throws.
std::string error_of(const Raw& raw) {
  try {
    make_task("mixture", raw);
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "accepted";
  return "";
}

TEST(MixtureTask, BadSpecificationsAreErrors) {
  Raw r = kThree;
  r["component2"] = "frobnicate";
  EXPECT_THAT(error_of(r), AllOf(HasSubstr("component2"), HasSubstr("frobnicate")));
  r = kThree;
  r["weight3"] = "0";
  EXPECT_THAT(error_of(r), AllOf(HasSubstr("weight3"), HasSubstr("> 0")));
  r = kThree;
  r["weight1"] = "-1";
  EXPECT_THAT(error_of(r), HasSubstr("weight1"));
  EXPECT_THAT(error_of({{"component1", "none"}, {"component2", "none"}}),
              HasSubstr("at least one"));
}

// A registered task whose prompts differ from linear regression's in dx, dy, loss or metric must
// be refused, with both components named. Which tasks exist depends on the registry; with none
// that differs there is nothing to refuse.
TEST(MixtureTask, MismatchedComponentsAreErrors) {
  const VectorPrompts ref =
      test::take(make_task("linear_regression", {{"d", "5"}})->sample(kKey, 0, 1, 1));
  std::vector<std::string> names;
  for (const auto& spec : find_task("mixture").params)
    if (spec.name == "component2") names = spec.choices;
  int tried = 0;
  for (const auto& name : names) {
    if (name == "none") continue;
    Raw raw;
    for (const auto& spec : find_task(name).params)
      if (spec.name == "d") raw["d"] = "5";
    const auto task = make_task(name, raw);
    PromptBatch batch;
    try {
      batch = task->sample(kKey, 0, 1, 1);
    } catch (const Error&) {
      continue;  // K = 1 not allowed: the mixture checks it on the first batch instead
    }
    const VectorPrompts* pb = batch.get<VectorPrompts>();
    if (pb && pb->dx == ref.dx && pb->dy == ref.dy && pb->loss == ref.loss &&
        task->metric() == Metric::SquaredError)
      continue;
    ++tried;
    const std::string msg =
        error_of({{"d", "5"}, {"component1", "linear_regression"}, {"component2", name}});
    // A token or history task is refused for what it is, whatever the other components.
    if (!pb)
      EXPECT_THAT(msg, AllOf(HasSubstr(name),
                             HasSubstr(std::string(to_string(batch.kind())) + " prompts")));
    else
      EXPECT_THAT(msg, AllOf(HasSubstr("linear_regression"), HasSubstr(name)));
  }
  if (tried == 0) GTEST_SKIP() << "no registered task differs from linear_regression's format";
}

// A component's unscored examples (the nearest-neighbour random prefix, 20 by default) stay
// unscored in the mixture; the other component's examples are all scored.
TEST(MixtureTask, ComponentLossMasksAreKept) {
  const Raw raw = {{"component1", "conjunction"},
                   {"weight1", "1"},
                   {"component2", "nearest_neighbour"},
                   {"weight2", "1"}};
  const int64_t B = 40, K = 25;
  const VectorPrompts pb = test::take(make_task("mixture", raw)->sample(kKey, 0, B, K));
  ASSERT_EQ(pb.loss_mask.size(), size_t(B * K));
  std::set<int> seen;
  for (int64_t b = 0; b < B; ++b) {
    const int slot = int(pb.truth[size_t(b * pb.truth_dim)]);
    seen.insert(slot);
    for (int64_t k = 0; k < K; ++k)
      EXPECT_EQ(pb.loss_mask[size_t(b * K + k)], slot == 1 || k >= 20) << b << " " << k;
  }
  EXPECT_EQ(seen.size(), 2u);
}

// The mixture can only offer the tasks registered before it (tasks/registry.cpp): it must be last.
TEST(MixtureTask, EveryOtherTaskCanBeAComponent) {
  std::vector<std::string> choices;
  for (const auto& spec : find_task("mixture").params)
    if (spec.name == "component1") choices = spec.choices;
  for (const auto& info : task_registry()) {
    if (info.name == "mixture") continue;
    EXPECT_NE(std::find(choices.begin(), choices.end(), info.name), choices.end())
        << info.name << " is registered after `mixture` in tasks/registry.cpp";
  }
}

}  // namespace
}  // namespace icl

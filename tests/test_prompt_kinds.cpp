// The three kinds of prompts are separate types (tasks/prompt_batch.h): code written for one kind
// cannot be handed another. At compile time the kinds do not convert into each other and a batch
// is never made implicitly (a model keeps pointers into it until the backward); at run time every
// consumer that needs one kind refuses the others with one line naming itself and both kinds.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <type_traits>

#include "baselines/baseline.h"
#include "core/arena.h"
#include "core/graph.h"
#include "models/model.h"
#include "tasks/bandit_imitation.h"
#include "tasks/task.h"
#include "tests/errors.h"

namespace icl {
namespace {

using test::error_of;
using ::testing::AllOf;
using ::testing::HasSubstr;

static_assert(!std::is_convertible_v<VectorPrompts, TokenPrompts>);
static_assert(!std::is_convertible_v<VectorPrompts, HistoryPrompts>);
static_assert(!std::is_convertible_v<HistoryPrompts, VectorPrompts>);
static_assert(!std::is_convertible_v<TokenPrompts, HistoryPrompts>);
static_assert(!std::is_convertible_v<VectorPrompts, PromptBatch>, "batches are made explicitly");
static_assert(std::is_constructible_v<PromptBatch, VectorPrompts>);

const RngKey kKey{3, stream_id("prompt_kinds")};

PromptBatch history() { return make_task(kBanditHistoryTask, {})->sample(kKey, 0, 2, 5); }
PromptBatch tokens() { return make_task("parity_check", {})->sample(kKey, 0, 2, 5); }
PromptBatch vectors() {
  return make_task("linear_regression", {{"d", "3"}})->sample(kKey, 0, 2, 5);
}

TEST(PromptKinds, EachBatchIsTheKindItsTaskDeclares) {
  EXPECT_EQ(history().kind(), PromptKind::History);
  EXPECT_EQ(tokens().kind(), PromptKind::Token);
  EXPECT_EQ(vectors().kind(), PromptKind::Vector);
  EXPECT_EQ(history().loss(), LossKind::CrossEntropy);
  EXPECT_EQ(tokens().loss(), LossKind::CrossEntropy);
  EXPECT_EQ(vectors().loss(), LossKind::SquaredError);
  EXPECT_EQ(example_dims(tokens()).dx, 0);
  EXPECT_EQ(example_dims(vectors()).dx, 3);
  EXPECT_GT(example_dims(history()).dx, 0);
}

TEST(PromptKinds, AsNamesTheConsumerAndBothKinds) {
  const PromptBatch h = history();
  EXPECT_EQ(error_of([&] { (void)h.as<VectorPrompts>("spectrum"); }),
            "spectrum: needs vector prompts, given history prompts");
  EXPECT_EQ(h.get<VectorPrompts>(), nullptr);
  EXPECT_NE(h.get<HistoryPrompts>(), nullptr);
}

// A regression baseline reads vector prompts with scalar labels: bandit histories (whose dy is the
// number of arms, and whose xs encode past rewards) and token prompts are refused, not misread.
TEST(PromptKinds, RegressionBaselinesRefuseOtherKinds) {
  for (const std::string name : {"least_squares", "knn", "averaging", "optimal_one_step_gd"}) {
    const auto b = make_baseline(name, {});
    for (const PromptBatch& pb : {history(), tokens()}) {
      const std::string msg = error_of([&] { b->predict(pb); });
      EXPECT_THAT(msg, AllOf(HasSubstr("baseline " + name), HasSubstr("needs vector prompts"),
                             HasSubstr(std::string(to_string(pb.kind())) + " prompts")));
      EXPECT_EQ(msg.find('\n'), std::string::npos);
    }
  }
  EXPECT_THAT(error_of([] { make_baseline("maze_bfs", {})->predict(history()); }),
              HasSubstr("token prompts of the maze task only"));
}

TEST(PromptKinds, ModelsRefuseOtherKinds) {
  const auto lsa = make_model("lsa", {}, ModelIO{3, 1, 5});
  Arena arena;
  Graph g(arena, false);
  EXPECT_EQ(error_of([&] { lsa->forward(g, tokens()); }),
            "model lsa: needs vector prompts, given token prompts");
  const auto tf = make_model("transformer", {{"n_layer", "1"}, {"n_embd", "8"}, {"n_head", "2"}},
                             ModelIO{3, 1, 5});
  EXPECT_THAT(error_of([&] { tf->forward(g, tokens()); }),
              HasSubstr("built for vector prompts, given token prompts"));
}

TEST(PromptKinds, MixturesTakeVectorComponentsOnly) {
  EXPECT_THAT(error_of([] {
                make_task("mixture", {{"component1", "linear_regression"},
                                      {"component2", kBanditHistoryTask}});
              }),
              AllOf(HasSubstr(kBanditHistoryTask), HasSubstr("has history prompts")));
}

}  // namespace
}  // namespace icl

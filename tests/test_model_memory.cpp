// The memory a model declares before it is built (models/footprint.h) against what it really
// takes: its parameter count exactly, and the arena of a forward pass and of a training step
// (forward, loss, backward) for every model, placement and mixer, in both recurrence forms. The
// declared bytes must never fall below the arena's and stay within a small factor of it. Then the
// estimate's scaling, and the run check that uses it (run/run_checks.h): paper-scale maze configs
// are refused on a 24 GiB budget with one line naming the setting, everything else passes.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/arena.h"
#include "core/graph.h"
#include "core/memory.h"
#include "models/mixer.h"
#include "models/model.h"
#include "run/config_file.h"
#include "run/resolved_run.h"
#include "run/run_checks.h"
#include "tasks/task.h"
#include "tasks/token_task.h"
#include "tests/errors.h"
#include "train/batch_loss.h"

namespace icl {
namespace {

using Raw = std::map<std::string, std::string>;

class ScopedMaxMemory {
 public:
  explicit ScopedMaxMemory(const char* value) {
    if (const char* old = std::getenv("ICL_MAX_MEMORY")) old_ = old;
    ::setenv("ICL_MAX_MEMORY", value, 1);
  }
  ~ScopedMaxMemory() {
    if (old_)
      ::setenv("ICL_MAX_MEMORY", old_->c_str(), 1);
    else
      ::unsetenv("ICL_MAX_MEMORY");
  }
  ScopedMaxMemory(const ScopedMaxMemory&) = delete;
  ScopedMaxMemory& operator=(const ScopedMaxMemory&) = delete;

 private:
  std::optional<std::string> old_;
};

struct Case {
  std::string model;
  Raw raw;
  bool tokens = false;  // token prompts (parity_check) instead of vector prompts
};

// Arena bytes of one pass of m on pb: forward only, or a training step (forward, loss, backward),
// with the trainer's expanded loss mask beside it.
double measured_bytes(Model& m, const PromptBatch& pb, bool training) {
  Arena arena;
  Graph g(arena, training);
  const Var out = m.forward(g, pb);
  if (!training) return double(arena.used());
  std::vector<float> mask;
  const Var loss = batch_loss(g, out, pb, mask);
  m.parameters().zero_grad();
  g.backward(loss);
  return double(arena.used() + mask.size() * sizeof(float));
}

std::vector<Case> cases() {
  std::vector<Case> c = {
      {"transformer", {{"n_embd", "32"}, {"n_head", "4"}}},
      {"transformer", {{"n_embd", "32"}, {"pos", "rope"}, {"norm", "rmsnorm"}}},
      {"transformer", {{"n_embd", "32"}, {"placement", "post"}}},
      {"transformer", {{"n_embd", "32"}, {"placement", "peri"}, {"ln_scaling", "true"}}},
      {"transformer", {{"n_embd", "32"}, {"n_layer", "4"}, {"placement", "mix"}}},
      {"transformer", {{"n_embd", "32"}, {"attention", "relu"}, {"causal", "false"}}},
      {"transformer", {{"n_embd", "16"}, {"mlp_ratio", "1"}, {"pos", "none"}}},
      {"transformer", {{"n_embd", "32"}, {"pos", "rope"}}, true},
      {"lsa", {}},
      {"recurrent", {{"mixer", "deltanet"}, {"n_embd", "32"}}, true},
      {"recurrent", {{"mixer", "lstm"}, {"n_embd", "32"}, {"mlp_ratio", "0"}, {"pos", "learned"}}},
  };
  for (const MixerInfo& mixer : mixer_registry())
    for (const char* form : {"chunked", "recurrent"})
      c.push_back(
          {"recurrent", {{"mixer", mixer.name}, {"n_embd", "32"}, {"form", form}, {"chunk", "4"}}});
  return c;
}

std::string label(const Case& c) {
  std::string s = c.model;
  for (const auto& [k, v] : c.raw) s += fmt::format(" {}={}", k, v);
  return s + (c.tokens ? " (tokens)" : "");
}

// Model c built for io, its parameters counted, and one pass over pb measured against its declared
// footprint, forward only and as a training step.
void expect_footprint_bounds(const Case& c, const ModelIO& io, const PromptBatch& pb) {
  SCOPED_TRACE(label(c));
  const auto m = make_model(c.model, c.raw, io);
  m->init(1);
  const ParamSet params = resolve_params(find_model(c.model).params, c.raw, "model");
  StepShape s{pb.kind(), pb.batch(),
              c.tokens ? pb.as<TokenPrompts>("footprint").seq_len : pb.n_examples(), false};
  EXPECT_EQ(model_footprint(c.model, params, io, s).parameter_count(),
            double(m->parameters().count()));
  for (const bool training : {false, true}) {
    SCOPED_TRACE(training ? "training step" : "forward");
    s.training = training;
    const double declared = model_footprint(c.model, params, io, s).step_bytes();
    const double used = measured_bytes(*m, pb, training);
    if (std::getenv("ICL_PRINT_RATIOS"))
      fmt::print("{} {}: declared {:.0f} used {:.0f} ratio {:.2f}\n", label(c),
                 training ? "train" : "forward", declared, used, declared / used);
    EXPECT_GE(declared, used);
    EXPECT_LE(declared, 3.0 * used);
  }
}

// Every case of cases(), on 8 prompts.
TEST(ModelMemory, FootprintBoundsTheArenaOfEveryModel) {
  const auto vector_task = make_task("linear_regression", {{"d", "20"}});
  const auto token_task = make_task("parity_check", {});
  const TokenTask& tt = *as_token_task(*token_task);
  const int64_t B = 8, K = 24, length = 12;
  for (const Case& c : cases()) {
    const PromptBatch pb =
        c.tokens ? tt.sample({3, 4}, 0, B, length) : vector_task->sample({3, 4}, 0, B, K);
    expect_footprint_bounds(
        c, c.tokens ? ModelIO{0, 1, length, tt.vocab(), tt.seq_len(length)} : ModelIO{20, 1, K},
        pb);
  }
}

// The same for the past model, which needs prompts that hide slots (maze, objective mlm_u).
TEST(ModelMemory, FootprintBoundsTheArenaOfPast) {
  const auto task = make_task(
      "maze", {{"min_length", "4"}, {"max_length", "4"}, {"max_n", "5"}, {"objective", "mlm_u"}});
  const TokenTask& tt = *as_token_task(*task);
  const int64_t n = 4;
  const PromptBatch pb = tt.sample({3, 4}, 0, 8, n);
  const ModelIO io{0, 1, n, tt.vocab(), tt.seq_len(n), tt.hidden_tokens()};
  for (const Raw& raw :
       {Raw{{"n_embd", "32"}},
        Raw{{"n_layer", "3"}, {"n_head", "2"}, {"n_embd", "16"}, {"mlp_ratio", "2"}}})
    expect_footprint_bounds({"past", raw, true}, io, pb);
}

// The footprint grows with every size it is counted from, linearly in the batch, and a training
// step holds more than a forward pass of the same shape.
TEST(ModelMemory, FootprintScalesWithTheModelAndThePass) {
  const ModelIO io{0, 1, 30, 909, 3605};
  const auto bytes = [&](const Raw& raw, int64_t batch, int64_t T, bool training,
                         const std::string& model = "transformer") {
    const ParamSet p = resolve_params(find_model(model).params, raw, "model");
    return model_footprint(model, p, io, {PromptKind::Token, batch, T, training}).step_bytes();
  };
  const Raw base = {{"n_layer", "8"}, {"n_embd", "128"}, {"n_head", "4"}, {"pos", "rope"}};
  const double b = bytes(base, 16, 1000, true);
  EXPECT_GT(b, bytes(base, 16, 1000, false));
  EXPECT_NEAR(bytes(base, 32, 1000, true) / b, 2.0, 1e-3);
  // Attention keeps no T × T matrix (kernels/attention.h): the arena is linear in T.
  EXPECT_NEAR(bytes(base, 16, 2000, true) / b, 2.0, 1e-3);
  EXPECT_NEAR(bytes({{"n_layer", "16"}, {"n_embd", "128"}, {"n_head", "4"}, {"pos", "rope"}}, 16,
                    1000, true) /
                  b,
              2.0, 0.15);
  EXPECT_GT(bytes({{"n_layer", "8"}, {"n_embd", "256"}, {"n_head", "4"}, {"pos", "rope"}}, 16, 1000,
                  true),
            1.9 * b);
  EXPECT_GT(bytes(base, 16, 1000, true), bytes(base, 15, 1000, true));
  EXPECT_GT(bytes(base, 16, 1001, true), bytes(base, 16, 1000, true));
  // Recurrent stacks: more blocks, a wider state or smaller chunks (more saved states) cost more.
  const Raw rec = {{"mixer", "deltanet"}, {"n_embd", "64"}};
  const double r = bytes(rec, 8, 500, true, "recurrent");
  EXPECT_GT(
      bytes({{"mixer", "deltanet"}, {"n_embd", "64"}, {"n_layer", "4"}}, 8, 500, true, "recurrent"),
      1.5 * r);
  EXPECT_GT(
      bytes({{"mixer", "deltanet"}, {"n_embd", "64"}, {"chunk", "8"}}, 8, 500, true, "recurrent"),
      r);
  EXPECT_EQ(
      bytes({{"mixer", "deltanet"}, {"n_embd", "64"}, {"chunk", "8"}}, 8, 500, false, "recurrent"),
      bytes(rec, 8, 500, false, "recurrent"));
}

// The maze paper configs (40 blocks of width 128, past 20 + 20, batch 16, prompts of 3605 tokens)
// need more than a 24 GiB machine has, and say so in one line naming the setting before any work:
// a training step's arena alone is about 50 GB. With eval.batch_size 64, training's periodic
// evaluation adds a forward pass of 64 such prompts (about 100 GB, the arena keeps every block's
// activations), more than a 128 GB machine has; at eval.batch_size 16 they fit one.
TEST(ModelMemory, MazePaperConfigsAreRefusedOn24GiB) {
  for (const auto& config_model :
       {std::pair<const char*, const char*>{"nolte2024/dfs_mazes_paper", "transformer"},
        {"nolte2024/dfs_mazes_mlmu_paper", "past"},
        {"nolte2024/dfs_mazes_mlmu_single_stack_paper", "transformer"}}) {
    const std::string name = config_model.first, model = config_model.second;
    SCOPED_TRACE(name);
    {
      const ScopedMaxMemory budget("24G");
      const std::string msg = test::error_of([&] { check_run_memory(load_run(name)); });
      EXPECT_NE(msg.find("train.batch_size 16 x task.max_length 30 of maze (3605 tokens each)"),
                std::string::npos)
          << msg;
      EXPECT_NE(msg.find(fmt::format("model {}'s training step", model)), std::string::npos) << msg;
      EXPECT_NE(msg.find("is available (ICL_MAX_MEMORY)"), std::string::npos) << msg;
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
      // Shrinking the training does not help: the step's size does not depend on train.steps.
      EXPECT_NE(test::error_of([&] {
                  check_run_memory(load_run(name, {"train.steps=2"}));
                }).find("train.batch_size 16"),
                std::string::npos);
    }
    // The configs evaluate 16 prompts at a time; at 64 the periodic evaluation alone is ~100 GB.
    const ScopedMaxMemory budget("110G");
    const std::string msg =
        test::error_of([&] { check_run_memory(load_run(name, {"eval.batch_size=64"})); });
    EXPECT_NE(msg.find("the periodic evaluation of train.eval_prompts 64 at eval.batch_size 64"),
              std::string::npos)
        << msg;
    EXPECT_NO_THROW(check_run_memory(load_run(name)));
  }
}

// A transformer too wide is refused as it is built (its parameters are allocated then), too large
// a training batch or evaluation batch at the run's check; the quickstart passes.
TEST(ModelMemory, HugeTransformersAreRefusedNamingTheSetting) {
  const ScopedMaxMemory budget("1G");
  EXPECT_NO_THROW(check_run_memory(load_run("quickstart")));
  std::string msg = test::error_of([] {
    load_run("quickstart", {"model.n_embd=16384", "model.n_layer=24"});
  });
  EXPECT_NE(msg.find("model transformer (n_layer 24, n_embd 16384)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("parameters (value, gradient and two AdamW moments each) need about"),
            std::string::npos)
      << msg;
  msg =
      test::error_of([] { check_run_memory(load_run("quickstart", {"train.batch_size=200000"})); });
  EXPECT_NE(msg.find("train.batch_size 200000 x "), std::string::npos) << msg;
  EXPECT_NE(msg.find("model transformer's training step"), std::string::npos) << msg;
  msg = test::error_of([] {
    check_run_memory(
        load_run("quickstart", {"eval.sets.standard.prompts=1000000", "eval.batch_size=1000000"}));
  });
  EXPECT_NE(msg.find("eval.sets.standard.prompts 1000000 x eval.sets.standard.examples 15"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("model transformer's forward passes of eval.batch_size 1000000 prompts"),
            std::string::npos)
      << msg;
}

}  // namespace
}  // namespace icl

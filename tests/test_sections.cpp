// Config sections declared once (core/section.h): parsing, defaults, errors, the resolved YAML,
// `icl list -v` and the resume rules all come from the one declaration.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <set>
#include <string>

#include "core/section.h"
#include "run/resolved_run.h"
#include "run/run_file.h"
#include "run/sections.h"
#include "tests/errors.h"
#include "train/train_config.h"

namespace icl {
namespace {

using testing::HasSubstr;

struct Inner {
  double rate = 0.5;
};
struct Toy {
  int64_t count = 3;
  bool on = true;
  std::string mode = "a";
  Inner inner;
};

const Section<Toy>& toy() {
  static const Section<Toy> s = Section<Toy>("toy")
                                    .integer("count", &Toy::count, 1, 10, "how many")
                                    .boolean("on", &Toy::on, "switch", Effect::Measures)
                                    .custom("ramp", "parsed by the owner")
                                    .choice("mode", &Toy::mode, {"a", "b"}, "which")
                                    .real(
                                        "rate", [](auto& t) -> auto& { return t.inner.rate; }, 0.0,
                                        1.0, "nested member", Effect::Extends);
  return s;
}

TEST(Section, DefaultsComeFromTheStruct) {
  const auto specs = toy().specs();
  ASSERT_EQ(specs.size(), 5u);
  EXPECT_EQ(std::get<int64_t>(specs[0].def), 3);
  EXPECT_EQ(std::get<bool>(specs[1].def), true);
  EXPECT_EQ(std::get<std::string>(specs[3].def), "a");
  EXPECT_EQ(std::get<double>(specs[4].def), 0.5);
  EXPECT_EQ(describe(specs[0]), "count (integer in [1, 10], default 3): how many");
}

TEST(Section, ParsesGivenKeysOverTheDefaults) {
  const Toy t = toy().parse({{"count", "7"}, {"rate", "0.25"}, {"ramp", "ignored"}}, "toy");
  EXPECT_EQ(t.count, 7);
  EXPECT_EQ(t.inner.rate, 0.25);
  EXPECT_EQ(t.on, true);
  EXPECT_EQ(t.mode, "a");
  Toy preset;
  preset.count = 9;  // a default that depends on context, filled before parsing
  toy().parse({{"mode", "b"}}, "toy", preset);
  EXPECT_EQ(preset.count, 9);
  EXPECT_EQ(preset.mode, "b");
}

TEST(Section, ErrorsNameTheKeyAndWhatIsAllowed) {
  using test::error_of;
  EXPECT_EQ(error_of([] {
              toy().parse({{"cout", "1"}}, "x.toy");
            }),
            "x.toy: unknown key 'cout' (allowed: count, on, ramp, mode, rate)");
  EXPECT_THAT(error_of([] { toy().parse({{"count", "11"}}, "toy"); }), HasSubstr("toy.count"));
  EXPECT_THAT(error_of([] {
                toy().parse({{"count", "x"}}, "toy");
              }),
              HasSubstr("toy.count: expected an integer"));
  EXPECT_THAT(error_of([] { toy().parse({{"mode", "c"}}, "toy"); }), HasSubstr("a|b"));
  EXPECT_THAT(error_of([] {
                toy().parse({{"on", "maybe"}}, "toy");
              }),
              HasSubstr("toy.on: expected true|false"));
}

TEST(Section, ResolvedKeepsTheDeclaredOrderAndLeavesCustomKeysEmpty) {
  Toy t;
  t.inner.rate = 0.75;
  const auto r = toy().resolved(t);
  ASSERT_EQ(r.size(), 5u);
  EXPECT_EQ(r[0].first, "count");
  EXPECT_EQ(r[2].first, "ramp");
  EXPECT_FALSE(r[2].second.has_value());
  EXPECT_EQ(std::get<double>(*r[4].second), 0.75);
  EXPECT_EQ(toy().find("rate")->effect, Effect::Extends);
  EXPECT_EQ(toy().custom_keys(), std::vector<std::string>{"ramp"});
}

// Every train key round-trips: given in a config, it is in the resolved YAML with its value, and
// the resolved YAML resolves to the same run. The replica keys are never in it: a config with
// replicas resolves into one single run per replica (run/replicas.h), whose file records that run.
TEST(TrainSection, EveryKeyRoundTripsThroughTheResolvedConfig) {
  const ResolvedRun run = load_run(
      "quickstart",
      {"train.steps=12", "train.batch_size=5", "train.lr=0.002", "train.schedule=constant",
       "train.warmup=3", "train.min_lr_ratio=0.1", "train.weight_decay=0.01", "train.beta1=0.8",
       "train.beta2=0.99", "train.eps=1e-7", "train.grad_clip=0.5", "train.eval_every=4",
       "train.eval_prompts=9", "train.checkpoint_every=6", "train.precision=fp32"});
  const TrainConfig& t = run.train;
  EXPECT_EQ(t.steps, 12);
  EXPECT_EQ(t.schedule.total, 12) << "the schedule spans the run";
  EXPECT_EQ(t.batch_size, 5);
  EXPECT_EQ(t.schedule.lr, 0.002);
  EXPECT_EQ(t.schedule.warmup, 3);
  EXPECT_EQ(t.schedule.min_ratio, 0.1);
  EXPECT_EQ(t.beta1, 0.8);
  EXPECT_EQ(t.eps, 1e-7);
  EXPECT_EQ(t.precision, "fp32");
  YAML::Node y = YAML::Load(run.yaml());
  const std::set<std::string> replica_keys = {"replicas", "replica_seeds", "replica_lrs"};
  for (const auto& f : train_section().fields())
    EXPECT_EQ(bool(y["train"][f.spec.name]), !replica_keys.count(f.spec.name))
        << f.spec.name << (replica_keys.count(f.spec.name) ? " in" : " missing from")
        << " the resolved config";
  y.remove("benchmark");  // as `icl eval` does: the name is the run's, not a key
  const ResolvedRun again = resolve_run(y, "quickstart", "resolved");
  EXPECT_EQ(again.yaml(), run.yaml());
}

// What --resume allows follows each key's declared effect.
TEST(TrainSection, ResumeRulesFollowTheDeclaredEffects) {
  const YAML::Node a = YAML::Load(load_run("quickstart").yaml());
  const auto kind = [&](const std::string& o) {
    const auto c = config_changes(a, YAML::Load(load_run("quickstart", {o}).yaml()));
    EXPECT_EQ(c.size(), 1u) << o;
    return c.empty() ? ConfigChange::Training : c[0].kind;
  };
  EXPECT_EQ(kind("train.lr=0.01"), ConfigChange::Training);
  EXPECT_EQ(kind("train.steps=9000"), ConfigChange::Extension);
  EXPECT_EQ(kind("train.eval_prompts=9"), ConfigChange::Evaluation);
  EXPECT_EQ(kind("train.checkpoint_every=7"), ConfigChange::Evaluation);
  EXPECT_EQ(kind("eval.bootstrap=30"), ConfigChange::Evaluation);
  for (const auto& f : train_section().fields()) {
    if (f.effect == Effect::Measures && !f.custom) {
      EXPECT_NE(f.spec.name, "lr") << "the learning rate changes the weights";
    }
  }
}

// A file written before a train key existed lacks it: the key at its declared default is no
// change (resuming such a run is allowed), any other value is.
TEST(TrainSection, AKeyNewerThanTheFileIsNoChangeAtItsDefault) {
  YAML::Node old_file = YAML::Load(load_run("quickstart").yaml());
  old_file["train"].remove("data_seed");
  EXPECT_TRUE(config_changes(old_file, YAML::Load(load_run("quickstart").yaml())).empty());
  const auto c =
      config_changes(old_file, YAML::Load(load_run("quickstart", {"train.data_seed=3"}).yaml()));
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].key, "train.data_seed");
  EXPECT_EQ(c[0].before, "(absent)");
  EXPECT_EQ(c[0].kind, ConfigChange::Training);
}

// `icl list -v` shows every declared key of every section with its type, default and range.
TEST(ListSections, ListsEveryDeclaredKey) {
  std::unique_ptr<FILE, int (*)(FILE*)> p(popen(ICL_BINARY " list -v", "r"), pclose);
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p.get())) > 0;) out.append(buf, n);
  EXPECT_THAT(out, HasSubstr("config sections:"));
  EXPECT_THAT(out, HasSubstr("steps (integer in [1, "));
  EXPECT_THAT(out, HasSubstr("default 1000): optimiser updates"));
  EXPECT_THAT(out, HasSubstr("curriculum: ramps"));
  EXPECT_THAT(out, HasSubstr("model_actions (one of greedy|sample, default greedy)"));
  for (const auto& f : eval_section().fields())
    EXPECT_THAT(out, HasSubstr("      " + f.spec.name + (f.custom ? ":" : " (")));
  for (const auto& f : spectrum_section().fields())
    EXPECT_THAT(out, HasSubstr("      " + f.spec.name + " ("));
}

}  // namespace
}  // namespace icl

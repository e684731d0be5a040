// Benchmark configs: every config in the tree loads and validates (each evaluation set's task is
// constructed and accepts its K, each baseline is constructed), `--set` overrides edit the YAML
// tree as documented in run/config_file.h, and malformed configs are icl::Errors naming what is
// wrong.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>
#include <set>
#include <string>

#include "baselines/bandit_policy.h"
#include "baselines/baseline.h"
#include "core/error.h"
#include "eval/streams.h"
#include "run/config_file.h"
#include "run/resolved_run.h"
#include "run/run_benchmark.h"
#include "run/training.h"
#include "tasks/linear_bandit.h"
#include "tasks/task.h"
#include "tests/errors.h"

namespace icl {
namespace {

namespace fs = std::filesystem;
using testing::HasSubstr;
using testing::Not;

using test::error_of;

// Points config_dir() at the source tree for the duration of a test (unsets ICL_CONFIGS), so the
// tree is what gets checked whatever the environment says.
class SourceTreeConfigs {
 public:
  SourceTreeConfigs() {
    if (const char* v = std::getenv("ICL_CONFIGS")) saved_ = v;
    ::unsetenv("ICL_CONFIGS");
  }
  ~SourceTreeConfigs() {
    if (saved_) ::setenv("ICL_CONFIGS", saved_->c_str(), 1);
  }

 private:
  std::optional<std::string> saved_;
};

// ------------------------------------------------------------------------------------------------
// Every config in the tree.

TEST(ConfigTree, DefaultDirectoryIsTheSourceTree) {
  SourceTreeConfigs guard;
  std::error_code ec;
  EXPECT_TRUE(fs::equivalent(config_dir(), fs::path(ICL_SOURCE_DIR) / "configs", ec))
      << config_dir();
}

TEST(ConfigTree, ListsEveryYamlFile) {
  SourceTreeConfigs guard;
  const fs::path root = fs::path(ICL_SOURCE_DIR) / "configs";
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file() && e.path().extension() == ".yaml" &&
        e.path().parent_path().filename() != "figures")  // figure files: icl reproduce
      files.push_back(fs::relative(e.path(), root).replace_extension().generic_string());
  std::sort(files.begin(), files.end());
  EXPECT_EQ(list_benchmarks(), files);
}

TEST(ConfigTree, EveryBenchmarkLoadsAndValidates) {
  SourceTreeConfigs guard;
  const std::vector<std::string> names = list_benchmarks();
  ASSERT_FALSE(names.empty());
  EXPECT_THAT(names, testing::Contains("quickstart"));
  EXPECT_THAT(names, testing::Contains("garg2022/linear_regression_baselines"));
  for (const auto& name : names) {
    SCOPED_TRACE(name);
    ResolvedRun cfg;
    try {
      cfg = load_run(name);
    } catch (const std::exception& e) {
      // A baseline this build lacks (xgboost without libxgboost-dev) says so, and only that.
      const std::string what = e.what();
      const auto& r = baseline_registry();
      if (std::any_of(r.begin(), r.end(), [&](const BaselineInfo& b) {
            return !b.not_built.empty() && what.find(b.not_built) != std::string::npos;
          }))
        continue;
      ADD_FAILURE() << "does not load: " << what;
      continue;
    }
    EXPECT_EQ(cfg.name, name);
    EXPECT_FALSE(cfg.description.empty()) << "no description (icl list shows it)";
    EXPECT_EQ(cfg.description.find('\n'), std::string::npos) << "description is not one line";
    if (cfg.bandit) {  // policies instead of a task: each is constructed, labels are distinct
      ASSERT_FALSE(cfg.bandit->policies.empty());
      std::set<std::string> labels;
      for (const auto& p : cfg.bandit->policies) {
        EXPECT_NO_THROW(p.make());
        EXPECT_TRUE(labels.insert(p.label).second);
      }
      continue;
    }
    ASSERT_NE(cfg.task, nullptr);
    ASSERT_FALSE(cfg.evals.empty());
    std::set<std::string> set_names;
    for (const auto& es : cfg.evals) {
      SCOPED_TRACE("eval set " + es.name);
      EXPECT_TRUE(set_names.insert(es.name).second);
      EXPECT_GE(es.prompts, 1);
      EXPECT_GE(es.examples, 1);
      try {
        const auto& task = es.task;
        ASSERT_NE(task, nullptr);
        // Token sets are evaluated at their lengths; their `examples` is unused.
        if (es.lengths.empty()) task->check_examples(es.examples);
        for (int64_t L : es.lengths) task->check_examples(L);
      } catch (const std::exception& e) {
        ADD_FAILURE() << e.what();
      }
    }
    std::set<std::string> labels;
    for (size_t i = 0; i < cfg.baselines.size(); ++i) {
      const auto& baseline = cfg.baselines[i];
      SCOPED_TRACE("baseline " + std::to_string(i) + " " + baseline->name());
      try {
        ASSERT_NE(baseline, nullptr);
        EXPECT_TRUE(labels.insert(baseline->label()).second) << "duplicate label";
      } catch (const std::exception& e) {
        ADD_FAILURE() << e.what();
      }
    }
  }
}

// ------------------------------------------------------------------------------------------------
// apply_override.

YAML::Node sample_tree() {
  return YAML::Load(
      "seed: 0\n"
      "task: {name: linear_regression, d: 5}\n"
      "eval: {prompts: 8, examples: 5}\n"
      "baselines: [least_squares, {name: ridge, lambda: 0.1}]\n");
}

TEST(ConfigOverride, NestedMapKey) {
  YAML::Node root = sample_tree();
  apply_override(root, "task.d=7");
  EXPECT_EQ(root["task"]["d"].as<int>(), 7);
  EXPECT_EQ(root["task"]["name"].as<std::string>(), "linear_regression");
  apply_override(root, "eval.prompts=64");
  EXPECT_EQ(root["eval"]["prompts"].as<int>(), 64);
  EXPECT_EQ(root["eval"]["examples"].as<int>(), 5);
  const ResolvedRun cfg = resolve_run(root, "t", "test");
  EXPECT_EQ(cfg.task->params().i("d"), 7);
  EXPECT_EQ(cfg.evals.at(0).prompts, 64);
}

TEST(ConfigOverride, CreatesMissingMaps) {
  YAML::Node root = sample_tree();
  apply_override(root, "eval.sets.skewed.task.x_cov=skewed");
  ASSERT_TRUE(root["eval"]["sets"]["skewed"]["task"].IsMap());
  EXPECT_EQ(root["eval"]["sets"]["skewed"]["task"]["x_cov"].as<std::string>(), "skewed");
  const ResolvedRun cfg = resolve_run(root, "t", "test");
  ASSERT_EQ(cfg.evals.size(), 1u);
  EXPECT_EQ(cfg.evals[0].name, "skewed");
  EXPECT_EQ(cfg.evals[0].task->params().s("x_cov"), "skewed");
  EXPECT_EQ(cfg.evals[0].task->params().i("d"), 5);
}

TEST(ConfigOverride, ListIndexIntoMapEntry) {
  YAML::Node root = sample_tree();
  apply_override(root, "baselines.1.lambda=2");
  ASSERT_EQ(root["baselines"].size(), 2u);
  EXPECT_EQ(root["baselines"][1]["name"].as<std::string>(), "ridge");
  EXPECT_EQ(root["baselines"][1]["lambda"].as<double>(), 2.0);
  EXPECT_TRUE(root["baselines"][0].IsScalar()) << "entry 0 must be left alone";
  const ResolvedRun cfg = resolve_run(root, "t", "test");
  ASSERT_EQ(cfg.baselines.size(), 2u);
  EXPECT_EQ(cfg.baselines[1]->params().r("lambda"), 2.0);
}

TEST(ConfigOverride, ListIndexIntoBareNameMakesAMap) {
  YAML::Node root = sample_tree();
  apply_override(root, "baselines.0.rcond=1e-5");
  const YAML::Node b0 = root["baselines"][0];
  ASSERT_TRUE(b0.IsMap());
  EXPECT_EQ(b0.size(), 2u);
  EXPECT_EQ(b0["name"].as<std::string>(), "least_squares");
  EXPECT_EQ(b0["rcond"].as<double>(), 1e-5);
  EXPECT_EQ(root["baselines"][1]["name"].as<std::string>(), "ridge");
  const ResolvedRun cfg = resolve_run(root, "t", "test");
  ASSERT_EQ(cfg.baselines.size(), 2u);
  EXPECT_EQ(cfg.baselines[0]->name(), "least_squares");
  EXPECT_EQ(cfg.baselines[0]->params().r("rcond"), 1e-5);
}

TEST(ConfigOverride, ReplacesWholeListEntry) {
  YAML::Node root = sample_tree();
  apply_override(root, "baselines.0=averaging");
  EXPECT_EQ(root["baselines"][0].as<std::string>(), "averaging");
  EXPECT_EQ(root["baselines"].size(), 2u);
}

TEST(ConfigOverride, ListIndexOutOfRange) {
  YAML::Node root = sample_tree();
  std::string msg = error_of([&] { apply_override(root, "baselines.5.lambda=2"); });
  EXPECT_THAT(msg, HasSubstr("baselines.5.lambda=2"));
  EXPECT_THAT(msg, HasSubstr("'5'"));
  EXPECT_THAT(msg, HasSubstr("list of 2 entries"));
  msg = error_of([&] { apply_override(root, "baselines.2=zero"); });
  EXPECT_THAT(msg, HasSubstr("'2'"));
  msg = error_of([&] { apply_override(root, "baselines.-1.lambda=2"); });
  EXPECT_THAT(msg, HasSubstr("'-1'"));
  msg = error_of([&] { apply_override(root, "baselines.one.lambda=2"); });
  EXPECT_THAT(msg, HasSubstr("'one'"));
  EXPECT_EQ(YAML::Dump(root), YAML::Dump(sample_tree())) << "a failed override changed the tree";
}

TEST(ConfigOverride, MalformedAssignment) {
  YAML::Node root = sample_tree();
  for (const char* bad : {"task.d", "=5", ""}) {
    SCOPED_TRACE(bad);
    const std::string msg = error_of([&] { apply_override(root, bad); });
    EXPECT_THAT(msg, HasSubstr("expected key=value"));
  }
  EXPECT_THAT(error_of([&] { apply_override(root, "task..d=1"); }), HasSubstr("empty key"));
  EXPECT_THAT(error_of([&] { apply_override(root, "task.d={"); }), HasSubstr("not valid YAML"));
}

TEST(ConfigOverride, IntoAScalar) {
  YAML::Node root = sample_tree();
  const std::string msg = error_of([&] { apply_override(root, "seed.x=1"); });
  EXPECT_THAT(msg, HasSubstr("seed.x=1"));
  EXPECT_THAT(msg, HasSubstr("seed is a scalar, not a map"));
  EXPECT_EQ(root["seed"].as<int>(), 0);
  EXPECT_THAT(error_of([&] { apply_override(root, "task.name.x=1"); }),
              HasSubstr("task.name is a scalar"));
}

// ------------------------------------------------------------------------------------------------
// parse_benchmark errors (and a valid config, so that the errors are not simply "everything
// fails").

ResolvedRun parse(const std::string& yaml) {
  return resolve_run(YAML::Load(yaml), "test", "test.yaml");
}

TEST(ConfigParse, ValidConfig) {
  const ResolvedRun cfg = parse(
      "description: a test\n"
      "seed: 3\n"
      "task: {name: linear_regression, d: 4}\n"
      "eval: {prompts: 8, examples: 5, sets: {standard: {}, wide: {task: {x_scale: 2}, examples: "
      "3}}}\n"
      "baselines: [least_squares, {name: least_squares, rcond: 1e-3, label: ls2}, averaging]\n");
  EXPECT_EQ(cfg.description, "a test");
  EXPECT_EQ(cfg.seed, 3u);
  EXPECT_EQ(cfg.task->name(), "linear_regression");
  ASSERT_EQ(cfg.evals.size(), 2u);
  for (const auto& es : cfg.evals) {
    EXPECT_EQ(es.prompts, 8);
    EXPECT_EQ(es.examples, es.name == "wide" ? 3 : 5);
    EXPECT_EQ(es.task->params().i("d"), 4);
    if (es.name == "wide") {
      EXPECT_EQ(es.task->params().r("x_scale"), 2.0);
    }
  }
  ASSERT_EQ(cfg.baselines.size(), 3u);
  EXPECT_EQ(cfg.baselines[0]->label(), "least_squares");
  EXPECT_EQ(cfg.baselines[1]->label(), "ls2");
  EXPECT_EQ(cfg.baselines[2]->label(), "averaging");
}

TEST(ConfigParse, MissingTask) {
  const std::string msg = error_of([] { parse("eval: {prompts: 8, examples: 5}\n"); });
  EXPECT_THAT(msg, HasSubstr("test.yaml"));
  EXPECT_THAT(msg, HasSubstr("missing 'task'"));
}

TEST(ConfigParse, MissingEval) {
  const std::string msg = error_of([] { parse("task: {name: linear_regression}\n"); });
  EXPECT_THAT(msg, HasSubstr("missing 'eval'"));
}

TEST(ConfigParse, EvalSetWithUnknownKey) {
  const std::string msg = error_of([] {
    parse(
        "task: {name: linear_regression, d: 4}\n"
        "eval: {prompts: 8, examples: 5, sets: {standard: {}, odd: {bogus: 1}}}\n");
  });
  EXPECT_THAT(msg, HasSubstr("eval.sets.odd"));
  EXPECT_THAT(msg, HasSubstr("unknown key 'bogus'"));
  EXPECT_THAT(msg, HasSubstr("allowed: task, prompts, examples"));
}

TEST(ConfigParse, EvalSetWithUnknownTaskParameter) {
  const std::string msg = error_of([] {
    parse(
        "task: {name: linear_regression, d: 4}\n"
        "eval: {prompts: 8, examples: 5, sets: {odd: {task: {bogus: 1}}}}\n");
  });
  EXPECT_THAT(msg, HasSubstr("eval.sets.odd.task"));
  EXPECT_THAT(msg, HasSubstr("unknown parameter 'bogus'"));
}

// A set of another task inherits the run task's parameters that task declares (Garg et al.
// evaluate the ReLU-net model on linear regression of the same d); what the set gives is checked.
TEST(ConfigParse, EvalSetOfAnotherTaskInheritsOnlyItsParameters) {
  const ResolvedRun cfg = parse(
      "task: {name: relu_2nn_regression, d: 3, hidden: 7}\n"
      "eval: {prompts: 8, examples: 5, sets: {standard: {}, lin: {task: {name: "
      "linear_regression}}}}\n");
  ASSERT_EQ(cfg.evals.size(), 2u);
  EXPECT_EQ(cfg.evals[0].task->params().i("hidden"), 7);
  EXPECT_EQ(cfg.evals[1].task->name(), "linear_regression");
  EXPECT_EQ(cfg.evals[1].task->params().i("d"), 3);
  EXPECT_FALSE(cfg.evals[1].task->params().has("hidden"));
  const std::string msg = error_of([] {
    parse(
        "task: {name: relu_2nn_regression, d: 3}\n"
        "eval: {prompts: 8, examples: 5, sets: {lin: {task: {name: linear_regression, hidden: "
        "7}}}}\n");
  });
  EXPECT_THAT(msg, HasSubstr("eval.sets.lin.task"));
  EXPECT_THAT(msg, HasSubstr("unknown parameter 'hidden'"));
}

TEST(ConfigParse, EvalSetWithTooManyExamplesForItsTask) {
  const std::string msg = error_of([] {
    parse(
        "task: {name: linear_regression, d: 4}\n"
        "eval: {prompts: 8, examples: 5, sets: {orth: {task: {query: orthogonal}}}}\n");
  });
  EXPECT_THAT(msg, HasSubstr("orthogonal"));
  EXPECT_THAT(msg, HasSubstr("n_examples <= 4"));
}

TEST(ConfigParse, DuplicateBaselineLabels) {
  const std::string msg = error_of([] {
    parse(
        "task: {name: linear_regression, d: 4}\n"
        "eval: {prompts: 8, examples: 5}\n"
        "baselines: [least_squares, averaging, least_squares]\n");
  });
  EXPECT_THAT(msg, HasSubstr("baselines.2"));
  EXPECT_THAT(msg, HasSubstr("share the label 'least_squares'"));
  EXPECT_THAT(msg, HasSubstr("label"));
}

TEST(ConfigParse, UnknownBaselineAndBadBaselineParameter) {
  std::string msg = error_of([] {
    parse(
        "task: {name: linear_regression, d: 4}\n"
        "eval: {prompts: 8, examples: 5}\n"
        "baselines: [least_squares, no_such_baseline]\n");
  });
  EXPECT_THAT(msg, HasSubstr("unknown baseline 'no_such_baseline'"));
  EXPECT_THAT(msg, HasSubstr("known baselines:"));
  msg = error_of([] {
    parse(
        "task: {name: linear_regression, d: 4}\n"
        "eval: {prompts: 8, examples: 5}\n"
        "baselines: [{name: knn, k: 0}]\n");
  });
  EXPECT_THAT(msg, HasSubstr("baselines.0.k"));
  EXPECT_THAT(msg, HasSubstr("got 0"));
}

TEST(ConfigParse, CurriculumOnAnyIntegerTaskParameter) {
  const std::string head =
      "task: {name: fourier_series, N: 4}\n"
      "eval: {prompts: 8, examples: 9}\n"
      "model: {name: transformer, n_layer: 1, n_embd: 8, n_head: 2}\n";
  const ResolvedRun cfg =
      parse(head + "train: {curriculum: {N: {start: 1, end: 4, inc: 1, every: 10}}}\n");
  ASSERT_EQ(cfg.train.task_ramps.count("N"), 1u);
  EXPECT_EQ(cfg.train.task_ramps.at("N").at(0), 1);
  EXPECT_EQ(cfg.train.task_ramps.at("N").at(25), 3);
  EXPECT_EQ(cfg.train.task_ramps.at("N").at(1000), 4);
  // Only integer task parameters ramp; the error lists them.
  std::string msg = error_of([&] { parse(head + "train: {curriculum: {L: {start: 1}}}\n"); });
  EXPECT_THAT(msg, HasSubstr("train.curriculum"));
  EXPECT_THAT(msg, HasSubstr("unknown key 'L'"));
  EXPECT_THAT(msg, HasSubstr("N"));
  // Every value the ramp takes must be a valid parameter value.
  msg = error_of([&] {
    parse(head + "train: {curriculum: {N: {start: 1, end: 100000, inc: 1, every: 10}}}\n");
  });
  EXPECT_THAT(msg, HasSubstr("train.curriculum.N"));
  msg = error_of([&] { parse(head + "train: {curriculum: {N: {start: 5, end: 1, inc: 1}}}\n"); });
  EXPECT_THAT(msg, HasSubstr("never reaches end"));
}

// Issue 19, item 3: Boolean label noise goes on training prompts only and evaluation is on clean
// labels, as the reference (satwik77/incontext-bool: src/train.py flips training labels with
// -noise_rate, src/eval.py never does). The training stream is noisy at the set rate; every
// evaluation set, and training's periodic evaluation, draws the noiseless twins of its prompts;
// a set that gives label_noise itself keeps it, and the resolved config reloads to the same sets.
TEST(ConfigParse, BooleanLabelNoiseOnTrainingPromptsOnly) {
  const std::string yaml =
      "task: {name: conjunction, n: 10, label_noise: 0.2}\n"
      "eval: {prompts: 64, examples: 40, sets: {standard: {}, shifted: {task: {n: 10}},\n"
      "       noisy_context: {task: {label_noise: 0.3}}}}\n"
      "model: {name: transformer, n_layer: 1, n_embd: 8, n_head: 2}\n"
      "train: {steps: 10, batch_size: 500}\n";
  const ResolvedRun run = parse(yaml);
  const auto clean = make_task("conjunction", {{"n", "10"}});
  const auto flipped = [](const PromptBatch& a, const PromptBatch& b) {
    const auto& ya = a.get<VectorPrompts>()->ys;
    const auto& yb = b.get<VectorPrompts>()->ys;
    EXPECT_EQ(a.get<VectorPrompts>()->xs, b.get<VectorPrompts>()->xs);
    double n = 0;
    for (size_t i = 0; i < ya.size(); ++i) n += ya[i] != yb[i];
    return n / double(ya.size());
  };
  // Training: 500 prompts x 40 labels, the flip rate 0.2 within 4 standard errors (0.0028 each).
  EXPECT_EQ(run.task->params().r("label_noise"), 0.2);
  CurriculumPrompts train(*run.task, run.train, training_stream(run));
  const RngKey tk = training_stream(run);
  EXPECT_NEAR(flipped(train.batch(0), clean->sample(tk, 0, 500, 40)), 0.2, 0.012);
  // Evaluation sets: clean unless the set gives the noise.
  ASSERT_EQ(run.evals.size(), 3u);
  for (const auto& es : run.evals) {
    const RngKey ek = eval_stream(run.seed, es.name);
    const double want = es.name == "noisy_context" ? 0.3 : 0.0;
    EXPECT_EQ(es.task->params().r("label_noise"), want) << es.name;
    const double got = flipped(es.task->sample(ek, 0, 64, 40), clean->sample(ek, 0, 64, 40));
    if (want == 0.0) {
      EXPECT_EQ(got, 0.0) << es.name;
    } else {
      EXPECT_NEAR(got, want, 0.04) << es.name;  // 2560 coins: standard error 0.009
    }
  }
  // Training's periodic evaluation scores the same clean task.
  EXPECT_EQ(evaluation_task(run.task)->params().r("label_noise"), 0.0);
  // The resolved config (results.h5's `config`) resolves to the same tasks.
  YAML::Node again = YAML::Load(run.yaml());
  again.remove("benchmark");
  const ResolvedRun reloaded = resolve_run(again, "test", "results.h5");
  EXPECT_EQ(reloaded.task->params().r("label_noise"), 0.2);
  for (size_t i = 0; i < run.evals.size(); ++i)
    EXPECT_EQ(reloaded.evals[i].task->params().r("label_noise"),
              run.evals[i].task->params().r("label_noise"));
}

TEST(ConfigParse, BanditBenchmarks) {
  const ResolvedRun cfg = parse(
      "description: b\n"
      "bandit: {setup: dpt, horizon: 30}\n"
      "rollout: {environments: 20}\n"
      "policies: [linucb, {name: thompson, noise_std: 0.3, label: ts}, random]\n");
  EXPECT_TRUE(cfg.bandit);
  EXPECT_EQ(cfg.bandit->rollout.environments, 20);
  ASSERT_EQ(cfg.bandit->policies.size(), 3u);
  EXPECT_EQ(cfg.bandit->policies[0].label, "linucb");
  EXPECT_EQ(cfg.bandit->policies[1].label, "ts");
  EXPECT_EQ(cfg.bandit->setup.dim, 2);
  const std::string resolved = cfg.yaml();
  EXPECT_THAT(resolved, HasSubstr("horizon: 30"));
  EXPECT_THAT(resolved, HasSubstr("dim: 2"));  // DPT's default, filled in
  struct Case {
    const char* yaml;
    const char* says;
  };
  for (const Case& c : {
           Case{"bandit: {}\npolicies: [linucb]\ntask: {name: linear_regression}\n",
                "unknown key 'task'"},
           Case{"bandit: {arms: 0}\npolicies: [linucb]\n", "bandit.arms"},
           Case{"bandit: {horizon: 0}\npolicies: [linucb]\n", "bandit.horizon"},
           Case{"bandit: {noise_std: -1}\npolicies: [linucb]\n", "bandit.noise_std"},
           Case{"bandit: {}\npolicies: []\n", "known: linucb"},
           Case{"bandit: {}\npolicies: [ucb]\n", "unknown policy 'ucb'"},
           Case{"bandit: {}\npolicies: [{name: linucb, alpha: -2}]\n", "policies.0.alpha"},
           Case{"bandit: {}\npolicies: [random, random]\n", "used twice"},
           Case{"bandit: {}\nrollout: {environments: 1}\npolicies: [random]\n",
                "rollout.environments"},
       }) {
    SCOPED_TRACE(c.yaml);
    const std::string msg = error_of([&] { parse(c.yaml); });
    EXPECT_THAT(msg, HasSubstr(c.says));
    EXPECT_THAT(msg, Not(HasSubstr("\n")));
  }
}

TEST(ConfigParse, ErrorsAreOneLine) {
  for (const char* yaml : {
           "eval: {prompts: 8}\n",
           "foo: 1\ntask: {name: linear_regression}\neval: {}\n",
           "task: {name: nope}\neval: {}\n",
           "task: {name: linear_regression, d: 0}\neval: {}\n",
           "task: {name: linear_regression}\neval: {prompts: 0}\n",
           "task: {name: linear_regression}\neval: {sets: [a, b]}\n",
           "task: {name: linear_regression}\neval: {}\nbaselines: {a: 1}\n",
           "task: {name: linear_regression, d: [1, 2]}\neval: {}\n",
       }) {
    SCOPED_TRACE(yaml);
    const std::string msg = error_of([&] { parse(yaml); });
    EXPECT_FALSE(msg.empty());
    EXPECT_THAT(msg, Not(HasSubstr("\n")));
  }
}

}  // namespace
}  // namespace icl

// Pretraining on bandit trajectories (tasks/bandit_imitation.h) and the trained model as a policy
// (eval/bandit_model_policy.h): the labels are the expert's actions as rollout() records them on
// the same environments and noise (an independent code path), every token is the encoding of the
// step before it, prompts do not depend on the batch or the prompt length; the model's rollout is
// reproducible, independent of the batch size and acts on the same logits as the offline
// evaluation of its own trajectory; bad parameters are one-line errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "eval/bandit_model_policy.h"
#include "eval/streams.h"
#include "models/model_predictor.h"
#include "run/config_file.h"
#include "run/resolved_run.h"
#include "run/run_benchmark.h"
#include "tasks/bandit_imitation.h"
#include "tasks/task.h"
#include "tests/errors.h"
#include "tests/prompts.h"

namespace icl {
namespace {

using Raw = std::map<std::string, std::string>;
const RngKey kKey{11, stream_id("bandit-pretraining-test")};

// Environments [0, E) played by `policy` for T steps through rollout().
Trajectories logged(const Raw& setup_raw, const std::string& policy, const Raw& policy_raw,
                    int64_t E, int64_t T) {
  Raw s = setup_raw;
  s["horizon"] = std::to_string(T);
  Trajectories rec;
  rollout(make_bandit_setup(s), kKey, make_bandit_policy(policy, policy_raw, policy), {E, 3}, &rec);
  return rec;
}

TEST(BanditImitation, LabelsAreTheExpertsActionsAndTokensTheStepBefore) {
  const int64_t E = 12, T = 40, A = 10, d = 5, W = bandit_token_width(A, d, BanditEncoding::Raw);
  const auto task = make_task("bandit_imitation", {});
  const HistoryPrompts pb = test::take<HistoryPrompts>(task->sample(kKey, 0, E, T));
  EXPECT_EQ(task->prompt_kind(), PromptKind::History);
  EXPECT_EQ(pb.dx, W);
  EXPECT_EQ(pb.dy, A);
  const Trajectories rec = logged({}, "linucb", {{"lambda", "1"}, {"alpha", "2"}}, E, T);
  const BanditSetup setup = make_bandit_setup({});
  for (int64_t i = 0; i < E; ++i) {
    const BanditEnv env = make_bandit_env(setup, kKey, i);
    for (int64_t t = 0; t < T; ++t) {
      const size_t o = size_t(i * T + t);
      ASSERT_EQ(pb.targets[o], rec.actions[o]) << "environment " << i << " step " << t;
      for (int64_t a = 0; a < A; ++a)
        ASSERT_EQ(pb.ys[o * A + size_t(a)], a == rec.actions[o] ? 1.f : 0.f);
      // Token t: the arms, then the pull and reward of step t − 1, written out by hand.
      const float* x = pb.xs.data() + o * size_t(W);
      for (int64_t a = 0; a < A; ++a)
        for (int64_t j = 0; j < d; ++j) ASSERT_EQ(x[a * d + j], float(env.arms(a, j)));
      const int prev = t > 0 ? rec.actions[o - 1] : -1;
      const double r = t > 0 ? double(rec.rewards[o - 1]) : 0.0;
      for (int64_t a = 0; a < A; ++a) ASSERT_EQ(x[A * d + a], a == prev ? 1.f : 0.f);
      ASSERT_NEAR(x[A * d + A], r, 1e-5 * (1 + std::abs(r)));
      for (int64_t j = 0; j < d; ++j) {
        const double f = prev < 0 ? 0.0 : env.arms(prev, j);
        ASSERT_EQ(x[A * d + A + 1 + j], float(f));
        ASSERT_NEAR(x[A * d + A + 1 + d + j], r * f, 1e-5 * (1 + std::abs(r)));
      }
    }
    for (int64_t j = 0; j < d; ++j) EXPECT_EQ(pb.truth[size_t(i * d + j)], float(env.theta(j)));
  }
}

TEST(BanditImitation, ProjectedEncodingAppendsPerArmProducts) {
  const int64_t E = 4, T = 20, A = 10, d = 5, W = bandit_token_width(A, d, BanditEncoding::Raw);
  const HistoryPrompts raw =
      test::take<HistoryPrompts>(make_task("bandit_imitation", {})->sample(kKey, 0, E, T));
  const HistoryPrompts pro = test::take<HistoryPrompts>(
      make_task("bandit_imitation", {{"encoding", "projected"}})->sample(kKey, 0, E, T));
  ASSERT_EQ(pro.dx, W + 3 * A);
  EXPECT_EQ(pro.targets, raw.targets);
  const BanditSetup setup = make_bandit_setup({});
  for (int64_t i = 0; i < E; ++i) {
    const BanditEnv env = make_bandit_env(setup, kKey, i);
    for (int64_t t = 0; t < T; ++t) {
      const size_t o = size_t(i * T + t);
      const float* x = pro.xs.data() + o * size_t(pro.dx);
      ASSERT_TRUE(std::equal(x, x + W, raw.xs.begin() + int64_t(o) * W));
      const int prev = t > 0 ? raw.targets[o - 1] : -1;  // imitation labels are the actions
      const double r = t > 0 ? double(x[A * d + A]) : 0.0;
      for (int64_t a = 0; a < A; ++a) {
        const double overlap = prev < 0 ? 0.0 : env.arms.row(a).dot(env.arms.row(prev));
        ASSERT_EQ(x[W + a], a == prev ? float(r) : 0.f);
        ASSERT_NEAR(x[W + A + a], overlap, 1e-6);
        ASSERT_NEAR(x[W + 2 * A + a], r * overlap, 1e-5 * (1 + std::abs(r)));
      }
    }
  }
}

TEST(BanditImitation, DptEncodingIsTheReferencesTransitionTuple) {
  // [state 1, one-hot a_{t-1}, next state 1, r_{t-1}]; token 0 the query state alone.
  const int64_t E = 3, T = 6, A = 10;
  const auto task = make_task("bandit_imitation", {{"setup", "dpt"},
                                                   {"dim", "2"},
                                                   {"noise_std", "0.3"},
                                                   {"encoding", "dpt"},
                                                   {"expert", "thompson_arms"}});
  const HistoryPrompts h = test::take<HistoryPrompts>(task->sample(kKey, 0, E, T));
  ASSERT_EQ(h.dx, A + 3);
  EXPECT_EQ(bandit_token_width(A, 2, BanditEncoding::Dpt), A + 3);
  Trajectories rec;
  rollout(make_bandit_setup({{"setup", "dpt"}, {"horizon", std::to_string(T)}}), kKey,
          make_bandit_policy("thompson_arms", {{"noise_std", "0.3"}}, "thompson_arms"), {E, E},
          &rec);
  for (int64_t i = 0; i < E; ++i)
    for (int64_t t = 0; t < T; ++t) {
      const float* x = h.xs.data() + (i * T + t) * h.dx;
      std::vector<float> want(size_t(A + 3), 0.f);
      want[0] = 1.f;
      if (t > 0) {
        const size_t o = size_t(i * T + t - 1);
        want[size_t(1 + rec.actions[o])] = 1.f;
        want[size_t(1 + A)] = 1.f;
        want[size_t(2 + A)] = float(rec.rewards[o]);
      }
      EXPECT_EQ(std::vector<float>(x, x + h.dx), want) << "env " << i << " t " << t;
    }
  EXPECT_EQ(bandit_encoding_of_width(A, 2, A + 3, "m"), BanditEncoding::Dpt);
  EXPECT_EQ(
      bandit_encoding_of_width(A, 2, bandit_token_width(A, 2, BanditEncoding::Projected), "m"),
      BanditEncoding::Projected);
  const std::string e = test::error_of([&] { bandit_encoding_of_width(A, 2, 7, "policy m"); });
  EXPECT_NE(e.find("policy m: tokens of width 7 fit no encoding"), std::string::npos) << e;
}

TEST(BanditBenchmark, PaperConfigsFollowTheReferences) {
  // Lin et al.'s evaluation samples the model's action from its softmax, and its linear Thompson
  // sampling has λ = σ²/prior variance = 1.5²/1; DPT's "Thompson" is per-arm Gaussian TS, linear
  // TS its own series, and its model reads the reference's transition tuples.
  for (const char* name : {"lin2024/linear_bandit_quick", "lin2024/linear_bandit_paper"}) {
    const ResolvedRun r = load_run(name);
    EXPECT_EQ(r.bandit->rollout.model_actions, "sample") << name;
    for (const auto& p : r.bandit->policies)
      if (p.name == "thompson") {
        EXPECT_EQ(p.params.r("lambda"), 2.25) << name;
      }
  }
  for (const char* name : {"lee2023/linear_bandit_quick", "lee2023/linear_bandit_paper",
                           "lee2023/linear_bandit_baselines"}) {
    const ResolvedRun r = load_run(name);
    std::map<std::string, std::string> by_label;
    for (const auto& p : r.bandit->policies) by_label[p.label] = p.name;
    EXPECT_EQ(by_label["thompson"], "thompson_arms") << name;
    EXPECT_EQ(by_label["linear_thompson"], "thompson") << name;
    if (r.has_model()) {
      EXPECT_EQ(r.task->params().s("encoding"), "dpt") << name;
    }
  }
}

TEST(BanditImitation, OptimalLabelsThompsonAndMixtureExperts) {
  const int64_t E = 16, T = 25;
  const Raw dpt{{"setup", "dpt"}, {"dim", "2"}, {"noise_std", "0.3"}};
  Raw raw = dpt;
  raw["label"] = "optimal";
  raw["expert"] = "thompson";
  const HistoryPrompts opt =
      test::take<HistoryPrompts>(make_task("bandit_imitation", raw)->sample(kKey, 0, E, T));
  raw["label"] = "expert";
  const HistoryPrompts ts =
      test::take<HistoryPrompts>(make_task("bandit_imitation", raw)->sample(kKey, 0, E, T));
  EXPECT_EQ(opt.xs, ts.xs) << "the label does not change the trajectories";
  const Trajectories rec = logged(dpt, "thompson", {{"lambda", "1"}, {"noise_std", "0.3"}}, E, T);
  const BanditSetup setup = make_bandit_setup(dpt);
  for (int64_t i = 0; i < E; ++i)
    for (int64_t t = 0; t < T; ++t) {
      const size_t o = size_t(i * T + t);
      ASSERT_EQ(opt.targets[o], make_bandit_env(setup, kKey, i).best);
      ASSERT_EQ(ts.targets[o], rec.actions[o]);
    }
  // A mixture plays each environment with LinUCB or Thompson sampling, both in a batch.
  raw["expert"] = "mixture";
  const HistoryPrompts mix =
      test::take<HistoryPrompts>(make_task("bandit_imitation", raw)->sample(kKey, 0, E, T));
  const Trajectories ucb = logged(dpt, "linucb", {{"lambda", "1"}, {"alpha", "2"}}, E, T);
  int as_ucb = 0, as_ts = 0;
  for (int64_t i = 0; i < E; ++i) {
    const auto row = [&](const std::vector<int>& v) {
      return std::vector<int>(v.begin() + i * T, v.begin() + (i + 1) * T);
    };
    const std::vector<int> m = row(mix.targets);
    const bool u = m == row(ucb.actions), s = m == row(rec.actions);
    EXPECT_TRUE(u || s) << "environment " << i << " follows neither expert";
    as_ucb += u;
    as_ts += s;
  }
  EXPECT_GT(as_ucb, 0);
  EXPECT_GT(as_ts, 0);
}

TEST(BanditImitation, PerturbedRolloutsKeepTheCleanExpertsLabels) {
  // With expert_noise, some pulls are perturbed (a random arm, or the previous arm again), and
  // every label is still LinUCB's action on the recorded history: recomputed here from the tokens
  // alone (V = λI + Σ aaᵀ, b = Σ r a, argmax θ̂·a + α√(aᵀV⁻¹a), written out independently of
  // baselines/linucb.h).
  const int64_t E = 24, T = 60, A = 10, d = 5;
  const double lambda = 1.0, alpha = 2.0;
  const HistoryPrompts clean =
      test::take<HistoryPrompts>(make_task("bandit_imitation", {})->sample(kKey, 0, E, T));
  for (const std::string kind : {"random", "repeat"}) {
    SCOPED_TRACE(kind);
    const auto task =
        make_task("bandit_imitation", {{"expert_noise", "0.5"}, {"perturbation", kind}});
    const HistoryPrompts pb = test::take<HistoryPrompts>(task->sample(kKey, 0, E, T));
    int64_t off_expert = 0, perturbed_envs = 0;
    for (int64_t i = 0; i < E; ++i) {
      Eigen::MatrixXd arms(A, d);
      const float* x0 = pb.xs.data() + i * T * pb.dx;
      for (int64_t a = 0; a < A; ++a)
        for (int64_t j = 0; j < d; ++j) arms(a, j) = x0[a * d + j];
      Eigen::MatrixXd V = lambda * Eigen::MatrixXd::Identity(d, d);
      Eigen::VectorXd bvec = Eigen::VectorXd::Zero(d);
      bool left_clean = false;
      int before = -1;  // the pull of step t − 2
      for (int64_t t = 0; t < T; ++t) {
        const size_t o = size_t(i * T + t);
        const float* x = pb.xs.data() + o * size_t(pb.dx);
        if (t > 0) {
          const int pulled = int(std::max_element(x + A * d, x + A * d + A) - (x + A * d));
          ASSERT_EQ(x[A * d + pulled], 1.f);
          const double r = x[A * d + A];
          const Eigen::VectorXd f = arms.row(pulled).transpose();
          V += f * f.transpose();
          bvec += r * f;
          if (pulled != pb.targets[o - 1]) {
            ++off_expert;
            left_clean = true;
            // A sticky expert deviates only by pulling its previous arm again.
            if (kind == "repeat") {
              ASSERT_EQ(pulled, before) << "environment " << i;
            }
          }
          before = pulled;
        }
        if (t == 0) continue;  // LinUCB's first pull is a uniformly random arm
        const Eigen::MatrixXd Vinv = V.inverse();
        const Eigen::VectorXd theta = Vinv * bvec;
        std::vector<double> score(static_cast<size_t>(A));
        for (int64_t a = 0; a < A; ++a) {
          const Eigen::VectorXd f = arms.row(a).transpose();
          score[size_t(a)] = theta.dot(f) + alpha * std::sqrt(f.dot(Vinv * f));
        }
        const int64_t best = std::max_element(score.begin(), score.end()) - score.begin();
        // Rewards pass through float tokens: skip near-ties that rounding could flip.
        std::vector<double> sorted = score;
        std::sort(sorted.rbegin(), sorted.rend());
        if (sorted[0] - sorted[1] < 1e-4) continue;
        ASSERT_EQ(pb.targets[o], best) << "environment " << i << " step " << t;
      }
      perturbed_envs += left_clean;
    }
    const double frac = double(off_expert) / double(E * (T - 1));
    // ε ~ U[0, 0.5] and a random arm is the expert's 1 time in 10: about 22% of pulls off-expert;
    // a repeated arm is off-expert only where LinUCB switches.
    EXPECT_GT(frac, kind == "random" ? 0.1 : 0.02);
    EXPECT_LT(frac, 0.35);
    EXPECT_GT(perturbed_envs, E / 2);
    EXPECT_NE(pb.xs, clean.xs);
    // Environment, noise and the first token do not change; the first label is LinUCB's.
    for (int64_t i = 0; i < E; ++i) {
      const size_t o = size_t(i * T);
      EXPECT_EQ(pb.targets[o], clean.targets[o]);
      EXPECT_TRUE(std::equal(pb.xs.begin() + int64_t(o) * pb.dx,
                             pb.xs.begin() + int64_t(o + 1) * pb.dx,
                             clean.xs.begin() + int64_t(o) * pb.dx));
    }
  }
}

TEST(BanditImitation, DeterministicAndIndependentOfBatchAndLength) {
  const auto task = make_task("bandit_imitation", {{"expert", "thompson"}});
  const HistoryPrompts all = test::take<HistoryPrompts>(task->sample(kKey, 0, 6, 30));
  EXPECT_EQ(all.xs, test::take<HistoryPrompts>(task->sample(kKey, 0, 6, 30)).xs);
  const int64_t W = all.dx;
  for (int64_t i = 0; i < 6; ++i) {
    const HistoryPrompts one = test::take<HistoryPrompts>(task->sample(kKey, i, 1, 30));
    EXPECT_TRUE(std::equal(one.xs.begin(), one.xs.end(), all.xs.begin() + i * 30 * W));
    EXPECT_TRUE(std::equal(one.targets.begin(), one.targets.end(), all.targets.begin() + i * 30));
    // A shorter prompt is a prefix: nothing at step t depends on later steps.
    const HistoryPrompts head = test::take<HistoryPrompts>(task->sample(kKey, i, 1, 7));
    EXPECT_TRUE(std::equal(head.xs.begin(), head.xs.end(), one.xs.begin()));
    EXPECT_TRUE(std::equal(head.targets.begin(), head.targets.end(), one.targets.begin()));
  }
  EXPECT_NE(all.xs, test::take<HistoryPrompts>(task->sample({12, kKey.stream}, 0, 6, 30)).xs);
}

TEST(BanditImitation, BadParameters) {
  using test::error_of;
  const auto msg = [](const Raw& raw) {
    return error_of([&] { make_task("bandit_imitation", raw)->sample(kKey, 0, 1, 3); });
  };
  EXPECT_NE(msg({{"arms", "1"}}).find("arms"), std::string::npos);
  EXPECT_NE(msg({{"dim", "0"}}).find("dim"), std::string::npos);
  EXPECT_NE(msg({{"noise_std", "-1"}}).find("noise_std"), std::string::npos);
  EXPECT_NE(msg({{"expert", "ucb"}}).find("expert"), std::string::npos);
  EXPECT_NE(msg({{"label", "best"}}).find("label"), std::string::npos);
  EXPECT_NE(msg({{"alpha", "-1"}}).find("alpha"), std::string::npos);
  EXPECT_NE(msg({{"expert_noise", "1.5"}}).find("expert_noise"), std::string::npos);
  EXPECT_NE(msg({{"expert_noise", "-0.1"}}).find("expert_noise"), std::string::npos);
  EXPECT_NE(msg({{"perturbation", "sticky"}}).find("perturbation"), std::string::npos);
  EXPECT_NE(msg({{"expert", "thompson"}, {"noise_std", "0"}}).find("noise_std"), std::string::npos);
  for (const Raw& r : {Raw{{"arms", "1"}}, Raw{{"expert", "ucb"}}})
    EXPECT_EQ(msg(r).find('\n'), std::string::npos);
}

// A tiny untrained transformer: its choices are arbitrary but must be reproducible.
std::unique_ptr<Model> tiny_model(int64_t horizon) {
  const auto task = make_task("bandit_imitation", {});
  const HistoryPrompts probe = test::take<HistoryPrompts>(task->sample(kKey, 0, 1, 1));
  auto m = make_model("transformer", {{"n_layer", "2"}, {"n_embd", "16"}, {"n_head", "2"}},
                      {probe.dx, probe.dy, horizon});
  m->init(5);
  return m;
}

TEST(BanditModelPolicy, ReproducibleAndIndependentOfBatchSize) {
  const int64_t E = 7, T = 15;
  const auto model = tiny_model(T);
  const BanditSetup setup = make_bandit_setup({{"horizon", std::to_string(T)}});
  for (const bool sample : {false, true}) {
    SCOPED_TRACE(sample ? "sampling" : "greedy");
    Trajectories a, b, c;
    ModelPolicy p(*model, "m", sample, kKey);
    const RegretCurve ca = rollout(setup, kKey, p, {E, E}, &a);
    const RegretCurve cb = rollout(setup, kKey, p, {E, 3}, &b);
    ModelPolicy q(*model, "m", sample, kKey);
    const RegretCurve cc = rollout(setup, kKey, q, {E, 1}, &c);
    EXPECT_EQ(a.actions, b.actions);
    EXPECT_EQ(a.actions, c.actions);
    EXPECT_EQ(ca.mean, cb.mean);
    EXPECT_EQ(ca.mean, cc.mean);
    std::set<int> used(a.actions.begin(), a.actions.end());
    if (sample) {
      EXPECT_GT(used.size(), 3u) << "sampling from the softmax pulls many arms";
    }
  }
}

TEST(BanditModelPolicy, ActsOnTheLogitsOfItsOwnHistory) {
  // Greedy: the arm at step t is the argmax of the logits the offline predictor gives at token t
  // of the recorded trajectory, encoded by the task's encoder.
  const int64_t E = 5, T = 12, A = 10;
  const auto model = tiny_model(T);
  const BanditSetup setup = make_bandit_setup({{"horizon", std::to_string(T)}});
  Trajectories rec;
  ModelPolicy p(*model, "m", false, kKey);
  rollout(setup, kKey, p, {E, E}, &rec);
  HistoryPrompts pb;
  pb.allocate(E, T, bandit_token_width(A, 5, BanditEncoding::Raw), A);
  for (int64_t i = 0; i < E; ++i) {
    const BanditEnv env = make_bandit_env(setup, kKey, i);
    for (int64_t t = 0; t < T; ++t) {
      const size_t o = size_t(i * T + t);
      encode_bandit_step(pb.xs.data() + o * size_t(pb.dx), env.arms, t ? rec.actions[o - 1] : -1,
                         t ? rec.rewards[o - 1] : 0.0, BanditEncoding::Raw);
    }
  }
  const std::vector<float> logits = ModelPredictor(*model, "m").predict(PromptBatch(pb));
  for (int64_t o = 0; o < E * T; ++o) {
    const float* z = logits.data() + o * A;
    EXPECT_EQ(std::max_element(z, z + A) - z, rec.actions[size_t(o)]) << "row " << o;
  }
}

ResolvedRun bandit_config(const std::string& extra) {
  return resolve_run(YAML::Load("description: b\n"
                                "bandit: {setup: lin, horizon: 12}\n"
                                "rollout: {environments: 6}\n"
                                "policies: [linucb, random]\n"
                                "model: {name: transformer, n_layer: 1, n_embd: 8, n_head: 2}\n"
                                "train: {steps: 3, batch_size: 4, eval_every: 3, "
                                "eval_prompts: 4, warmup: 1}\n" +
                                extra),
                     "b", "test");
}

TEST(BanditBenchmark, ConfigWithAModel) {
  const ResolvedRun cfg = bandit_config("task: {expert: thompson}\n");
  EXPECT_TRUE(cfg.has_model());
  EXPECT_EQ(cfg.task->name(), "bandit_imitation");
  EXPECT_EQ(cfg.task->params().s("expert"), "thompson");
  EXPECT_EQ(cfg.task->params().i("arms"), 10);
  EXPECT_EQ(cfg.model->io.max_examples, 12);
  const std::string resolved = cfg.yaml();
  for (const char* line : {"name: bandit_imitation", "expert: thompson", "arms: 10",
                           "model_actions: greedy", "n_embd: 8"})
    EXPECT_NE(resolved.find(line), std::string::npos) << line;
  using test::error_of;
  const auto msg = [](const std::string& extra) { return error_of([&] { bandit_config(extra); }); };
  EXPECT_NE(msg("task: {arms: 5}\n").find("task.arms: comes from the bandit section"),
            std::string::npos);
  EXPECT_NE(msg("task: {name: linear_regression}\n").find("does not make bandit histories"),
            std::string::npos);
  EXPECT_NE(msg("task: {expert: ucb}\n").find("task.expert"), std::string::npos);
  EXPECT_NE(error_of([] {
              resolve_run(YAML::Load("bandit: {}\nrollout: {model_actions: best}\n"
                                     "policies: [linucb]\n"),
                          "b", "t");
            }).find("rollout.model_actions"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              resolve_run(YAML::Load("bandit: {}\npolicies: [linucb]\ntrain: {steps: 3}\n"), "b",
                          "t");
            }).find("without a 'model'"),
            std::string::npos);
}

TEST(BanditBenchmark, TrainsRollsOutAndScoresOffline) {
  ResolvedRun cfg = bandit_config("");
  const std::string path =
      (std::filesystem::temp_directory_path() / fmt::format("icl_bandit_{}.h5", ::getpid()))
          .string();
  const auto run = [&] {
    AtomicH5Output out(path);
    RunOptions ro;
    ro.progress = false;
    return run_benchmark(cfg, out, ro);
  };
  const BenchmarkResult r = run();
  std::filesystem::remove(path);
  EXPECT_EQ(r.trained_steps, 3);
  ASSERT_EQ(r.regret.size(), 3u);
  EXPECT_EQ(r.regret[2].label, "transformer");
  ASSERT_EQ(r.evals.size(), 2u);
  EXPECT_EQ(r.evals[0].name, "offline");
  EXPECT_EQ(r.evals[1].name, "offline_optimal");
  EXPECT_EQ(r.evals[0].curves[0].stats.mean.size(), 12u);
  const BenchmarkResult again = run();
  std::filesystem::remove(path);
  EXPECT_EQ(again.regret[2].mean, r.regret[2].mean) << "same config and seed, same rollout";
  EXPECT_EQ(again.final_loss, r.final_loss);
}

TEST(BanditBenchmark, OfflineSetsLogTheCleanExpert) {
  // Trained on perturbed trajectories, scored on the expert's own.
  ResolvedRun cfg = bandit_config("task: {expert_noise: 0.5, perturbation: repeat}\n");
  EXPECT_EQ(cfg.task->params().r("expert_noise"), 0.5);
  const std::string path =
      (std::filesystem::temp_directory_path() / fmt::format("icl_bandit_clean_{}.h5", ::getpid()))
          .string();
  AtomicH5Output out(path);
  RunOptions ro;
  ro.progress = false;
  const BenchmarkResult r = run_benchmark(cfg, out, ro);
  std::filesystem::remove(path);
  ASSERT_EQ(r.evals.size(), 2u);
  for (const auto& e : r.evals) EXPECT_EQ(e.task_params.r("expert_noise"), 0.0) << e.name;
  EXPECT_EQ(r.evals[0].task_params.s("label"), "expert");
  EXPECT_EQ(r.evals[1].task_params.s("label"), "optimal");
}

}  // namespace
}  // namespace icl

// train.replicas (run/replicas.h) through the real binary (ICL_BINARY): replicas trained side by
// side on two threads write, replica for replica, the file of the same run made alone (every
// dataset and attribute but the time stamps and the thread count: the training log, the
// checkpoint's parameters and AdamW moments, every evaluation and baseline curve), for a
// transformer, a recurrent mixer and replicas that differ by learning rate; the files' names; the
// rules of one run's output per file; a failing replica that stops only itself; --until with each
// replica then continued alone by the command the run prints; SIGINT. The config keys' one-line
// errors are rows of tests/test_bad_inputs.cpp; `icl reproduce`'s seeds side by side are in
// tests/test_reproduce.cpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/device.h"
#include "io/h5.h"
#include "run/replicas.h"
#include "run/resolved_run.h"
#include "tests/cli_helpers.h"
#include "tests/h5_diff.h"

namespace {

namespace fs = std::filesystem;
using icl::test::listing;
using icl::test::Result;
using icl::test::shell_quote;
using icl::test::slurp;
using testing::HasSubstr;
using testing::Not;

// A transformer that trains 30 steps in well under a second, with checkpoints along the way,
// periodic evaluations and two baselines.
constexpr const char* kTiny =
    "description: tiny\n"
    "seed: 5\n"
    "task: {name: linear_regression, d: 3}\n"
    "eval: {prompts: 16, examples: 6, bootstrap: 20}\n"
    "model: {name: transformer, n_layer: 2, n_head: 2, n_embd: 16}\n"
    "train: {steps: 30, batch_size: 8, lr: 1.0e-3, eval_every: 10, eval_prompts: 16, "
    "checkpoint_every: 7}\n"
    "baselines: [least_squares, averaging]\n";

class Replicas : public testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           fmt::format("icl_replicas_{}_{}_{}", info->name(), ::getpid(), counter++);
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "work");
    std::ofstream(dir_ / "work" / "tiny.yaml") << kTiny;
  }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(work(), fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(dir_, ec);
  }

  fs::path work() const { return dir_ / "work"; }

  // `icl args...` in work/, stdout and stderr captured outside it.
  Result icl(const std::vector<std::string>& args) const {
    std::string cmd =
        fmt::format("cd {} && {}", shell_quote(work().string()), shell_quote(ICL_BINARY));
    for (const auto& a : args) cmd += fmt::format(" {}", shell_quote(a));
    return shell(cmd);
  }
  Result shell(std::string cmd) const {
    const fs::path out = dir_ / "stdout", err = dir_ / "stderr";
    cmd +=
        fmt::format(" >{} 2>{} </dev/null", shell_quote(out.string()), shell_quote(err.string()));
    const int status = std::system(cmd.c_str());
    Result r;
    r.code = status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
  }

  // The run alone at `seed` (with `sets`) into `out`, on this process's thread count.
  void alone(const std::string& config, uint64_t seed, const std::string& out,
             const std::vector<std::string>& sets = {}) const {
    std::vector<std::string> args = {"run",   config, "--seed",       std::to_string(seed),
                                     "--out", out,    "--no-figures", "--device",
                                     "cpu"};
    for (const auto& s : sets) args.insert(args.end(), {"--set", s});
    const Result r = icl(args);
    ASSERT_EQ(r.code, 0) << r.err;
  }

  // Replica file `a` holds what the run alone wrote to `b`: every dataset and attribute, but when
  // it was made, how long its steps took and on how many threads.
  void expect_same_run(const std::string& a, const std::string& b,
                       std::set<std::string> ignore = {}) const {
    ignore.insert({"/@created", "/train/seconds", "/@cpu_threads"});
    const std::string fa = (work() / a).string(), fb = (work() / b).string();
    ASSERT_TRUE(fs::exists(fa)) << a;
    ASSERT_TRUE(fs::exists(fb)) << b;
    EXPECT_EQ(icl::test::h5_differences(fa, fb, ignore), std::vector<std::string>{})
        << a << " against " << b;
    // What was compared: the training log, the checkpoint, the curves of model and baselines.
    const icl::h5::Handle f = icl::h5::open_file(fa);
    for (const char* p : {"train/loss", "train/grad_norm", "train/lr", "train/eval_error",
                          "checkpoint/params", "checkpoint/adam_m", "checkpoint/adam_v",
                          "eval/standard/least_squares/mean", "eval/standard/averaging/mean"})
      EXPECT_TRUE(icl::h5::exists(f.id(), p)) << a << ": " << p;
    EXPECT_GT(icl::test::h5_item_count(fa), 100u);
  }

  fs::path dir_;
};

// ------------------------------------------------------------------------------------------------

TEST(ReplicaConfig, EachReplicaIsItsSingleRun) {
  const fs::path cfg = fs::temp_directory_path() / fmt::format("icl_rc_{}.yaml", ::getpid());
  std::ofstream(cfg) << kTiny;
  const std::vector<icl::ResolvedRun> runs = icl::replica_runs(
      cfg.string(), {"train.replicas=3", "train.replica_lrs=[1e-3, 3.0e-3, 1e-3]"});
  ASSERT_EQ(runs.size(), 3u);
  const icl::ResolvedRun all =
      icl::load_run(cfg.string(), {"train.replicas=3", "train.replica_lrs=[1e-3, 3.0e-3, 1e-3]"});
  ASSERT_EQ(all.replicas.runs.size(), 3u);
  EXPECT_TRUE(all.replicas.by_lr());
  EXPECT_EQ(all.replicas.keys, (std::vector<std::string>{"replicas", "replica_lrs"}));
  const std::vector<std::pair<uint64_t, std::string>> expected = {
      {5, "1e-3"}, {6, "3.0e-3"}, {7, "1e-3"}};  // seeds from the config's seed on
  for (size_t i = 0; i < runs.size(); ++i) {
    const auto& [seed, lr] = expected[i];
    EXPECT_EQ(all.replicas.runs[i].seed, seed);
    EXPECT_EQ(all.replicas.runs[i].lr_text, lr);
    // Exactly the run `icl run CONFIG --seed S --set train.lr=LR` resolves.
    const icl::ResolvedRun one =
        icl::load_run(cfg.string(), {fmt::format("seed={}", seed), fmt::format("train.lr={}", lr)});
    EXPECT_EQ(runs[i].yaml(), one.yaml());
    EXPECT_TRUE(runs[i].replicas.runs.empty());
    EXPECT_EQ(runs[i].train.replicas, 1);
    EXPECT_THAT(runs[i].yaml(), Not(HasSubstr("replica")));
  }
  EXPECT_EQ(icl::replica_path("out/x.h5", all.replicas.runs[1], true), "out/x.seed6.lr0.003.h5");
  EXPECT_EQ(icl::replica_path("x.h5", all.replicas.runs[0], false), "x.seed5.h5");
  EXPECT_EQ(icl::replica_path("x", all.replicas.runs[0], false), "x.seed5.h5");
  EXPECT_EQ(icl::replica_label(all.replicas.runs[1]), "seed 6, lr 0.003");
  // replicas: 1, the default, is one run; a list alone gives the count; null lists are absent.
  EXPECT_TRUE(icl::load_run(cfg.string(), {"train.replicas=1"}).replicas.runs.empty());
  EXPECT_TRUE(icl::load_run(cfg.string(), {"train.replicas=1", "train.replica_seeds=null"})
                  .replicas.runs.empty());
  EXPECT_EQ(icl::load_run(cfg.string(), {"train.replica_seeds=[8, 2]"}).replicas.runs.size(), 2u);
  EXPECT_TRUE(icl::replica_runs(cfg.string()).empty());
  fs::remove(cfg);
}

TEST_F(Replicas, AreBitIdenticalToTheirRunsAloneAndRunSideBySide) {
  const Result r = icl({"run", "tiny.yaml", "--set", "train.replica_seeds=[5, 9, 11]", "--out",
                        "rep.h5", "--no-figures", "--device", "cpu", "--threads", "2"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("icl run tiny: 3 replicas in one process, training transformer "
                               "for 30 steps each; seeds 5, 9, 11; lr 0.001 each; 2 at a time, "
                               "one CPU thread each"));
  EXPECT_THAT(r.err, HasSubstr("replicas  3/3 done"));
  EXPECT_THAT(r.out, HasSubstr("3 of 3 replicas written in one process"));
  for (const uint64_t seed : {5, 9, 11}) {
    const std::string file = fmt::format("rep.seed{}.h5", seed);
    EXPECT_THAT(r.out, HasSubstr(file));
    alone("tiny.yaml", seed, fmt::format("alone{}.h5", seed));
    expect_same_run(file, fmt::format("alone{}.h5", seed));
    // Each replica ran on its worker alone.
    const icl::h5::Handle f = icl::h5::open_file((work() / file).string());
    EXPECT_EQ(icl::h5::read_attr_int(f.id(), "cpu_threads"), 1);
    EXPECT_EQ(icl::h5::read_attr_int(f.id(), "seed"), int64_t(seed));
  }
  // Nothing else: no temporaries, no partial files.
  EXPECT_EQ(listing(work()),
            (std::set<std::string>{"tiny.yaml", "rep.seed5.h5", "rep.seed9.h5", "rep.seed11.h5",
                                   "alone5.h5", "alone9.h5", "alone11.h5"}));
}

TEST_F(Replicas, ThatDifferByLearningRateAreNamedByIt) {
  const Result r = icl({"run", "tiny.yaml", "--set", "train.replica_seeds=[5, 5]", "--set",
                        "train.replica_lrs=[1e-3, 3e-3]", "--out", "rep.h5", "--no-figures",
                        "--device", "cpu", "--threads", "2"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("seeds 5, 5; lrs 0.001, 0.003"));
  alone("tiny.yaml", 5, "lr1.h5");
  alone("tiny.yaml", 5, "lr3.h5", {"train.lr=3e-3"});
  expect_same_run("rep.seed5.lr0.001.h5", "lr1.h5");
  expect_same_run("rep.seed5.lr0.003.h5", "lr3.h5");
}

// A recurrent mixer (gated linear attention); train.replicas alone counts seeds from the config's
// seed on, and the files go where the run's would (results/<name>.h5) with the seed in the name.
TEST_F(Replicas, OfARecurrentMixerToo) {
  std::string text = kTiny;
  const std::string model = "{name: transformer, n_layer: 2, n_head: 2, n_embd: 16}";
  ASSERT_NE(text.find(model), std::string::npos);
  text.replace(text.find(model), model.size(),
               "{name: recurrent, mixer: gla, n_layer: 1, n_head: 2, n_embd: 16}");
  std::ofstream(work() / "rec.yaml") << text;
  const Result r = icl({"run", "rec.yaml", "--set", "train.replicas=2", "--no-figures", "--device",
                        "cpu", "--threads", "2"});
  ASSERT_EQ(r.code, 0) << r.err;
  alone("rec.yaml", 6, "alone6.h5");
  expect_same_run("results/rec.seed6.h5", "alone6.h5");
  EXPECT_TRUE(fs::exists(work() / "results" / "rec.seed5.h5"));
  const icl::h5::Handle f = icl::h5::open_file((work() / "results" / "rec.seed5.h5").string());
  EXPECT_THAT(icl::h5::read_attr_string(f.id(), "config"), HasSubstr("mixer: gla"));
}

// Every rule of one run's output holds per file: a destination that cannot be written is the only
// message, before any work, and nothing is left for any replica; a file holding another run is
// kept until its replica completes, then replaced.
TEST_F(Replicas, KeepTheOutputRulesOfOneRunPerFile) {
  std::ofstream(work() / "rep.seed9.h5") << "not ours";
  fs::permissions(work() / "rep.seed9.h5", fs::perms::owner_read, fs::perm_options::replace);
  const std::set<std::string> before = listing(work());
  Result r = icl({"run", "tiny.yaml", "--set", "train.replica_seeds=[5, 9]", "--out", "rep.h5",
                  "--no-figures", "--device", "cpu", "--threads", "2"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err,
            "icl: error: cannot write rep.seed9.h5: the file is read-only (mode 400); remove it or "
            "choose another --out\n");
  EXPECT_EQ(listing(work()), before);
  fs::remove(work() / "rep.seed9.h5");

  alone("tiny.yaml", 1, "rep.seed5.h5");  // another run where replica seed 5 goes
  r = icl({"run", "tiny.yaml", "--set", "train.replica_seeds=[5, 9]", "--out", "rep.h5",
           "--no-figures", "--device", "cpu", "--threads", "2"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("icl: note: rep.seed5.h5 already holds results, kept until this "
                               "run completes; checkpoints go to rep.seed5.partial.h5"));
  alone("tiny.yaml", 5, "alone5.h5");
  expect_same_run("rep.seed5.h5", "alone5.h5");
  EXPECT_FALSE(fs::exists(work() / "rep.seed5.partial.h5"));
}

// Where the device cannot be had, the replicas are one line before any work, as one run.
TEST_F(Replicas, OnCudaWithoutAGpuAreOneLine) {
  if (icl::cuda_device_count() > 0) GTEST_SKIP() << "a GPU is visible: --device cuda is no error";
  const std::set<std::string> before = listing(work());
  const Result r = icl({"run", "tiny.yaml", "--set", "train.replicas=2", "--device", "cuda",
                        "--out", "c.h5", "--no-figures"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, testing::StartsWith("icl: error: device cuda: "));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(listing(work()), before);
}

// A replica that fails (here its learning rate makes it diverge) leaves no file; the others run to
// their end and are exactly their runs alone; the command names the failed replica and exits 1.
TEST_F(Replicas, AFailingReplicaStopsOnlyItself) {
  const std::vector<std::string> sets = {"task.y_scale=1e17", "train.checkpoint_every=100"};
  std::vector<std::string> args = {"run",
                                   "tiny.yaml",
                                   "--set",
                                   "train.replica_lrs=[1e-3, 10, 2e-3]",
                                   "--out",
                                   "f.h5",
                                   "--no-figures",
                                   "--device",
                                   "cpu",
                                   "--threads",
                                   "2"};
  for (const auto& s : sets) args.insert(args.end(), {"--set", s});
  const Result r = icl(args);
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("icl: error: replica 1 (seed 6, lr 10): training diverged at step"));
  EXPECT_THAT(r.out, HasSubstr("2 of 3 replicas written"));
  EXPECT_FALSE(fs::exists(work() / "f.seed6.lr10.h5"));
  for (const auto& f : listing(work())) EXPECT_EQ(f.find(".tmp-"), std::string::npos) << f;
  std::vector<std::string> lr1 = sets, lr2 = sets;
  lr1.push_back("train.lr=1e-3");
  lr2.push_back("train.lr=2e-3");
  alone("tiny.yaml", 5, "a5.h5", lr1);
  alone("tiny.yaml", 7, "a7.h5", lr2);
  expect_same_run("f.seed5.lr0.001.h5", "a5.h5");
  expect_same_run("f.seed7.lr0.002.h5", "a7.h5");
}

// --until stops every replica with its checkpoint; a replica's file is an ordinary run file, so
// the command the run prints continues it alone, to the file an uninterrupted run writes.
TEST_F(Replicas, StopAtUntilAndContinueAloneByThePrintedCommand) {
  Result r = icl({"run", "tiny.yaml", "--set", "train.replicas=2", "--until", "10", "--out", "u.h5",
                  "--no-figures", "--device", "cpu", "--threads", "2"});
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* f : {"u.seed5.h5", "u.seed6.h5"}) {
    const icl::h5::Handle h = icl::h5::open_file((work() / f).string());
    EXPECT_EQ(icl::h5::read_attr_int(icl::h5::open_group(h.id(), "checkpoint").id(), "step"), 10)
        << f;
    EXPECT_FALSE(icl::h5::exists(h.id(), "eval")) << f;
  }
  const std::string prefix = "continue each replica alone, e.g.: icl run ";
  const size_t at = r.out.find(prefix);
  ASSERT_NE(at, std::string::npos) << r.out;
  const std::string args =
      r.out.substr(at + prefix.size(), r.out.find('\n', at) - at - prefix.size());
  EXPECT_EQ(args, "tiny.yaml --set train.replicas=1 --seed 5 --resume u.seed5.h5 --out u.seed5.h5");
  r = shell(fmt::format("cd {} && {} run {} --no-figures --device cpu",
                        shell_quote(work().string()), shell_quote(ICL_BINARY), args));
  ASSERT_EQ(r.code, 0) << r.err;
  alone("tiny.yaml", 5, "whole.h5");
  expect_same_run("u.seed5.h5", "whole.h5", {"/@resume_log"});
}

// SIGINT stops every replica training at its next step with its checkpoint saved; a replica not
// yet started is not started; the process ends by the signal, naming each replica.
TEST_F(Replicas, SigintStopsEachReplicaAtAStepWithItsCheckpoint) {
  const pid_t pid = icl::test::spawn_icl(
      work(), {"run", "tiny.yaml", "--set", "train.replicas=3", "--set", "train.steps=1000000",
               "--set", "train.checkpoint_every=200", "--out", "i.h5", "--no-figures", "--device",
               "cpu", "--threads", "2"});
  int status = 0;
  bool ended = false;
  for (int i = 0; i < 3000 && !ended; ++i) {  // up to a minute for both first checkpoints
    ended = icl::test::wait_for(pid, 0.02, &status);
    if (fs::exists(work() / "i.seed5.h5") && fs::exists(work() / "i.seed6.h5")) break;
  }
  ASSERT_FALSE(ended) << slurp(work() / "stderr");
  ::kill(pid, SIGINT);
  ASSERT_TRUE(icl::test::wait_for(pid, 60, &status));
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT) << status;
  const std::string err = slurp(work() / "stderr");
  for (const char* which : {"replica 0 (seed 5, lr 0.001)", "replica 1 (seed 6, lr 0.001)"})
    EXPECT_THAT(err, HasSubstr(fmt::format("icl: {}: interrupted by SIGINT at step", which)));
  EXPECT_THAT(err, HasSubstr("icl: 2 of 3 replicas interrupted, each with its checkpoint saved"));
  for (const char* f : {"i.seed5.h5", "i.seed6.h5"}) {
    const icl::h5::Handle h = icl::h5::open_file((work() / f).string());
    EXPECT_GT(icl::h5::read_attr_int(icl::h5::open_group(h.id(), "checkpoint").id(), "step"), 0)
        << f;
  }
  EXPECT_FALSE(fs::exists(work() / "i.seed7.h5"));
  for (const auto& f : listing(work())) EXPECT_EQ(f.find(".tmp-"), std::string::npos) << f;
}

}  // namespace

// icl sweep (sweep/): the file's expansion and names, its one-line errors, the share each MPI rank
// or Slurm task takes, the CPUs each local slot gets, runs started as real `icl run` processes
// (skipped when finished, resumed from a checkpoint, retried when they fail), the merged summary
// against numbers computed here from the runs' own files, and the sbatch script.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include <fmt/format.h>

#include "core/error.h"
#include "io/h5.h"
#include "sweep/collect.h"
#include "sweep/execute.h"
#include "sweep/slurm.h"
#include "sweep/spec.h"
#include "tests/cli_helpers.h"
#include "tests/errors.h"

namespace icl {
namespace {

namespace fs = std::filesystem;
using test::error_of;
using testing::HasSubstr;

class Sweep : public testing::Test {
 protected:
  void SetUp() override {
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / fmt::format("icl_sweep_{}_{}", info->name(), getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  // Writes a sweep file whose runs go under this test's directory.
  std::string file(const std::string& body, const std::string& name = "s.yaml") {
    const fs::path p = dir_ / name;
    std::ofstream(p) << fmt::format("out: {}\n{}", (dir_ / "out").string(), body);
    return p.string();
  }
  SweepOptions quiet() const {
    SweepOptions o;
    o.icl = ICL_BINARY;
    o.progress = false;
    o.device = "cpu";
    return o;
  }
  fs::path dir_;
};

// Baselines only, small: a run takes a fraction of a second.
constexpr const char* kBase =
    "base: linear_regression_baselines_small\n"
    "set: [eval.prompts=16, eval.bootstrap=20]\n";

TEST_F(Sweep, ExpandsTheGridTimesTheZipTimesSeedsWithStableNames) {
  const SweepSpec s = read_sweep(file(std::string(kBase) +
                                      "grid: {task.d: [2, 3]}\n"
                                      "zip: {eval.examples: [4, 6], task.noise_std: [0, 0.5]}\n"
                                      "seeds: [5, 9]\n"));
  ASSERT_EQ(s.runs.size(), 8u);
  EXPECT_EQ(s.runs[0].name, "task.d=2,eval.examples=4,task.noise_std=0,seed=5");
  EXPECT_EQ(s.runs[1].name, "task.d=2,eval.examples=4,task.noise_std=0,seed=9");
  EXPECT_EQ(s.runs[2].name, "task.d=2,eval.examples=6,task.noise_std=0.5,seed=5");
  EXPECT_EQ(s.runs[7].name, "task.d=3,eval.examples=6,task.noise_std=0.5,seed=9");
  EXPECT_EQ(s.runs[7].setting, "task.d=3,eval.examples=6,task.noise_std=0.5");
  EXPECT_EQ(s.runs[7].index, 7);
  EXPECT_EQ(s.runs[7].sets,
            (std::vector<std::string>{"eval.prompts=16", "eval.bootstrap=20", "task.d=3",
                                      "eval.examples=6", "task.noise_std=0.5", "seed=9"}));
  EXPECT_EQ(s.runs[7].path, (dir_ / "out" / "runs" /
                             "task.d=3,eval.examples=6,task.noise_std=0.5,seed=9" / "results.h5")
                                .string());
  // The same file expands the same way, every time.
  const SweepSpec again = read_sweep(s.file);
  for (size_t i = 0; i < s.runs.size(); ++i) EXPECT_EQ(again.runs[i].name, s.runs[i].name);
  // No axes and no seeds: one run, the base config's own seed.
  const SweepSpec one = read_sweep(file(kBase, "one.yaml"));
  ASSERT_EQ(one.runs.size(), 1u);
  EXPECT_EQ(one.runs[0].name, "seed=0");
  EXPECT_EQ(one.runs[0].setting, "base");
  // A count of seeds is 0 .. N-1; the default selection axis is train.lr when it is one.
  const SweepSpec lr =
      read_sweep(file("base: quickstart\ngrid: {train.lr: [0.001]}\nseeds: 3\n", "lr.yaml"));
  EXPECT_EQ(lr.seeds, (std::vector<uint64_t>{0, 1, 2}));
  EXPECT_EQ(lr.select.axis, "train.lr");
  EXPECT_EQ(sweep_safe_name("a/b c=1"), "a_b_c=1");
}

TEST_F(Sweep, BadSweepFilesAreOneLineErrors) {
  const auto err = [&](const std::string& body) {
    return error_of([&] { read_sweep(file(body, "bad.yaml")); });
  };
  const std::string path = (dir_ / "bad.yaml").string();
  EXPECT_EQ(err(std::string(kBase) + "grids: {task.d: [1]}\n"),
            fmt::format("sweep {}: unknown key 'grids' (allowed: base, set, grid, zip, seeds, "
                        "parallel, retries, out, select, slurm)",
                        path));
  EXPECT_EQ(err(std::string(kBase) + "grid: {task.d: []}\n"),
            "grid.task.d: the axis is empty (give at least one value)");
  EXPECT_EQ(err(std::string(kBase) + "zip: {task.d: [1, 2], eval.examples: [3]}\n"),
            "zip: axes of unequal length (task.d has 2 values, eval.examples has 1)");
  EXPECT_EQ(err(std::string(kBase) + "grid: {eval.prompts: [8, 16]}\n"),
            "grid.eval.prompts: eval.prompts is also set in set");
  EXPECT_EQ(err(std::string(kBase) + "grid: {task.d: [2]}\nzip: {task.d: [3]}\n"),
            "zip.task.d: task.d is also set in grid");
  EXPECT_EQ(err(std::string(kBase) + "grid: {seed: [1, 2]}\n"),
            "grid.seed: seeds are their own axis (the top-level 'seeds')");
  EXPECT_EQ(err(std::string(kBase) + "grid: {task.d: [2, 2]}\n"),
            "grid.task.d: value 2 is given twice");
  EXPECT_EQ(err(std::string(kBase) + "seeds: [1, 1]\n"), "seeds: seed 1 is given twice");
  EXPECT_THAT(err(std::string(kBase) + "slurm: {max_array_size: -1}\n"),
              HasSubstr("slurm.max_array_size"));
  EXPECT_THAT(err(std::string(kBase) + "slurm: {array: 4}\n"),
              HasSubstr("unknown key 'array' (allowed: time, cpus_per_task, mem, partition, gpus, "
                        "extra, max_array_size)"));
  EXPECT_EQ(err(std::string(kBase) + "seeds: []\n"),
            "seeds: expected a count (seeds 0 .. N-1) or a non-empty list of seeds, got an empty "
            "list");
  EXPECT_EQ(err(std::string(kBase) + "grid: {task.d: [2]}\nselect: {axis: train.lr}\n"),
            "select.axis: train.lr is not an axis of this sweep (axes: task.d)");
  EXPECT_EQ(err("set: [task.d=2]\n"),
            fmt::format("sweep {}: 'base' is required (a benchmark name or a config .yaml)", path));
  EXPECT_THAT(err("base: no_such_benchmark\n"), HasSubstr("unknown benchmark 'no_such_benchmark'"));
  // A value the config refuses names the run.
  EXPECT_THAT(err(std::string(kBase) + "grid: {task.d: [2, -1]}\n"),
              HasSubstr(fmt::format("sweep {}: run task.d=-1,seed=0: ", path)));
  // Two values that differ only where a file name cannot hold them.
  EXPECT_EQ(err(std::string(kBase) + "grid: {task.d: ['2/', '2 ']}\n"),
            fmt::format("sweep {}: runs 'task.d=2/,seed=0' and 'task.d=2 ,seed=0' would both be "
                        "named task.d=2_,seed=0 (values that differ only in characters a file "
                        "name cannot hold)",
                        path));
}

TEST(SweepShare, RanksTakeEveryRthRunAndSlotsShareTheCpus) {
  SweepOptions o;
  o.rank = 1;
  o.ranks = 3;
  EXPECT_EQ(sweep_share(8, o), (std::vector<int64_t>{1, 4, 7}));
  o.index = 5;
  EXPECT_EQ(sweep_share(8, o), (std::vector<int64_t>{5}));
  o.index = 8;
  EXPECT_EQ(error_of([&] { sweep_share(8, o); }),
            "--index: must be below the sweep's 8 runs (0 to 7), got 8");
  const std::vector<int> cpus = {0, 1, 2, 3, 4, 5};
  EXPECT_EQ(slot_cpus(cpus, 0, 2), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(slot_cpus(cpus, 1, 2), (std::vector<int>{3, 4, 5}));
  EXPECT_EQ(slot_cpus(cpus, 1, 4), (std::vector<int>{1, 2}));
  EXPECT_EQ(slot_cpus({0, 1}, 3, 4), (std::vector<int>{1}));  // more slots than CPUs: one each
}

TEST(SweepShare, TheMpiRankComesFromTheLauncher) {
  for (const char* v : {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "PMI_RANK", "PMI_SIZE"})
    unsetenv(v);
  EXPECT_EQ(mpi_rank_from_env(), (std::pair<int64_t, int64_t>{0, 1}));
  setenv("PMI_RANK", "2", 1);
  setenv("PMI_SIZE", "4", 1);
  EXPECT_EQ(mpi_rank_from_env(), (std::pair<int64_t, int64_t>{2, 4}));
  setenv("OMPI_COMM_WORLD_RANK", "1", 1);  // Open MPI's own names first
  setenv("OMPI_COMM_WORLD_SIZE", "2", 1);
  EXPECT_EQ(mpi_rank_from_env(), (std::pair<int64_t, int64_t>{1, 2}));
  setenv("OMPI_COMM_WORLD_RANK", "2", 1);
  EXPECT_EQ(error_of([] { mpi_rank_from_env(); }),
            "OMPI_COMM_WORLD_RANK=2 and OMPI_COMM_WORLD_SIZE=2: not a rank below the world size");
  for (const char* v : {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "PMI_RANK", "PMI_SIZE"})
    unsetenv(v);
}

TEST(SweepCollect, StudentQuantiles) {
  EXPECT_DOUBLE_EQ(student_t975(1), 12.706);
  EXPECT_DOUBLE_EQ(student_t975(4), 2.776);
  EXPECT_NEAR(student_t975(60), 2.000, 0.002);
  EXPECT_NEAR(student_t975(1000000), 1.95996, 1e-4);
}

// Runs as real processes: written, then skipped; the merged summary equals the mean and t-interval
// computed here from the runs' files; the best value is the one with the lowest mean error.
TEST_F(Sweep, RunsAreWrittenThenSkippedAndMergedAcrossSeeds) {
  const SweepSpec s = read_sweep(
      file(std::string(kBase) + "grid: {task.noise_std: [0, 1.0]}\n"
                                "seeds: [1, 2, 3]\n"
                                "parallel: 2\n"
                                "select: {axis: task.noise_std, predictor: least_squares}\n"));
  SweepOutcome o = execute_sweep(s, quiet());
  ASSERT_EQ(o.runs.size(), 6u);
  for (const auto& r : o.runs) {
    EXPECT_EQ(r.status, "ran") << r.run->name << ": " << r.error;
    EXPECT_TRUE(fs::exists(r.run->path));
    EXPECT_TRUE(fs::exists(fs::path(r.run->path).parent_path() / "log.txt"));
  }
  o = execute_sweep(s, quiet());
  for (const auto& r : o.runs) EXPECT_EQ(r.status, "skipped") << r.run->name;

  const SweepCollection c = collect_sweep(s);
  EXPECT_EQ(c.collected, 6);
  ASSERT_EQ(c.settings.size(), 2u);
  const SweepSetting& noisy = c.settings[1];
  EXPECT_EQ(noisy.name, "task.noise_std=1.0");
  EXPECT_EQ(noisy.seeds, (std::vector<uint64_t>{1, 2, 3}));
  const SweepCurve* ls = nullptr;
  for (const auto& cv : noisy.curves)
    if (cv.predictor == "least_squares") ls = &cv;
  ASSERT_NE(ls, nullptr);
  // The oracle: each seed's file read directly.
  std::vector<std::vector<double>> seeds;
  for (int i = 3; i < 6; ++i) {
    const h5::Handle f = h5::open_file(s.runs[size_t(i)].path);
    seeds.push_back(h5::read<double>(f.id(), "eval/standard/least_squares/mean"));
  }
  ASSERT_EQ(ls->mean.size(), seeds[0].size());
  for (size_t k = 0; k < ls->mean.size(); ++k) {
    const double m = (seeds[0][k] + seeds[1][k] + seeds[2][k]) / 3;
    double ss = 0;
    for (const auto& v : seeds) ss += (v[k] - m) * (v[k] - m);
    const double half = 4.303 * std::sqrt(ss / 2) / std::sqrt(3.0);
    EXPECT_NEAR(ls->mean[k], m, 1e-12 * std::max(1.0, std::abs(m)));
    EXPECT_NEAR(ls->hi[k], m + half, 1e-9 * std::max(1.0, std::abs(m)));
    EXPECT_NEAR(ls->lo[k], m - half, 1e-9 * std::max(1.0, std::abs(m)));
  }
  // Without noise least squares is exact past k = d: that setting has the lower error.
  ASSERT_EQ(c.best.size(), 1u);
  EXPECT_EQ(c.best[0].group, "all");
  EXPECT_EQ(c.best[0].value, "0");

  const std::string summary = (dir_ / "sweep.h5").string();
  write_sweep_summary(s, c, summary);
  const h5::Handle f = h5::open_file(summary);
  EXPECT_EQ(h5::read_attr_int(f.id(), "collected"), 6);
  std::vector<int64_t> dims;
  h5::read<double>(f.id(), "settings/task.noise_std=1.0/standard/least_squares/per_seed", &dims);
  EXPECT_EQ(dims, (std::vector<int64_t>{3, int64_t(ls->x.size())}));
  const h5::Handle best = h5::open_group(f.id(), "best/all");
  EXPECT_EQ(h5::read_attr_string(best.id(), "value"), "0");
  EXPECT_EQ(h5::read_attr_string(best.id(), "axis"), "task.noise_std");
  EXPECT_THAT(sweep_table(c), HasSubstr("task.noise_std=1.0"));
}

// A run that fails is tried 1 + retries times and reported with its last log line; the others
// finish, and the summary says which run is missing.
TEST_F(Sweep, AFailedRunIsRetriedThenReported) {
  // 200000 examples per prompt need more than a 64M budget: a valid config that only `icl run`'s
  // own memory check refuses, so the sweep starts the run and sees it fail.
  const SweepSpec s = read_sweep(file(std::string(kBase) + "grid: {eval.examples: [5, 200000]}\n"
                                                           "retries: 2\n"));
  const char* old = std::getenv("ICL_MAX_MEMORY");
  const std::string saved = old ? old : "";
  setenv("ICL_MAX_MEMORY", "64M", 1);
  const SweepOutcome o = execute_sweep(s, quiet());
  old ? setenv("ICL_MAX_MEMORY", saved.c_str(), 1) : unsetenv("ICL_MAX_MEMORY");
  ASSERT_EQ(o.runs.size(), 2u);
  EXPECT_EQ(o.runs[0].status, "ran") << o.runs[0].error;
  EXPECT_EQ(o.runs[1].status, "failed");
  EXPECT_EQ(o.runs[1].attempts, 3);
  EXPECT_THAT(o.runs[1].error, HasSubstr("exit 1: icl: error: "));
  EXPECT_EQ(o.failed(), 1);
  const SweepCollection c = collect_sweep(s);
  EXPECT_EQ(c.missing, (std::vector<std::string>{"eval.examples=200000,seed=0"}));
}

// A run stopped with a checkpoint (icl run --until) is resumed by the sweep, not started over.
TEST_F(Sweep, AStoppedRunIsResumed) {
  const SweepSpec s =
      read_sweep(file("base: quickstart\n"
                      "set: [train.steps=6, train.warmup=1, eval.prompts=8, eval.bootstrap=20, "
                      "model.n_layer=1]\n"));
  const SweepRun& r = s.runs[0];
  fs::create_directories(fs::path(r.path).parent_path());
  std::string cmd = fmt::format("OMP_NUM_THREADS=1 {} run quickstart", ICL_BINARY);
  for (const auto& x : r.sets) cmd += " --set " + x;
  cmd += fmt::format(" --until 3 --out '{}' >/dev/null 2>&1", r.path);
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  const SweepOutcome o = execute_sweep(s, quiet());
  ASSERT_EQ(o.runs.size(), 1u);
  EXPECT_EQ(o.runs[0].status, "resumed") << o.runs[0].error;
  const h5::Handle f = h5::open_file(r.path);
  EXPECT_EQ(h5::length(f.id(), "train/step"), 6);
  EXPECT_THAT(h5::read_attr_string(f.id(), "resume_log"), HasSubstr("step 3"));
}

// Under a real `mpirun -np 2` (Open MPI, on this machine, as root where the tests run as root) the
// two ranks share the runs, and every results file holds the same curves, bit for bit, as the same
// run of a local sweep.
TEST_F(Sweep, MpiRanksShareTheRunsAndWriteWhatALocalSweepWrites) {
  if (std::system("command -v mpirun >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "mpirun not found (scripts/install-deps.sh installs openmpi-bin)";
  const std::string body = std::string(kBase) + "grid: {task.d: [2, 3]}\nseeds: 2\n";
  const SweepSpec local = read_sweep(file(body, "local.yaml"));
  std::ofstream(dir_ / "mpi.yaml") << fmt::format("out: {}\n{}", (dir_ / "mpi").string(), body);
  const SweepSpec mpi = read_sweep((dir_ / "mpi.yaml").string());
  const std::string root = getuid() == 0 ? "--allow-run-as-root " : "";
  const std::string cmd = fmt::format(
      "cd '{}' && OMP_NUM_THREADS=1 mpirun {}--oversubscribe -np 2 '{}' sweep mpi.yaml "
      ">mpi.log 2>&1",
      dir_.string(), root, ICL_BINARY);
  ASSERT_EQ(std::system(cmd.c_str()), 0) << test::slurp(dir_ / "mpi.log");
  const std::string log = test::slurp(dir_ / "mpi.log");
  EXPECT_THAT(log, HasSubstr("(rank 0 of 2)"));
  EXPECT_THAT(log, HasSubstr("(rank 1 of 2)"));
  const SweepOutcome o = execute_sweep(local, quiet());
  ASSERT_EQ(o.failed(), 0);
  ASSERT_EQ(mpi.runs.size(), 4u);
  for (size_t i = 0; i < mpi.runs.size(); ++i) {
    const h5::Handle a = h5::open_file(mpi.runs[i].path);
    const h5::Handle b = h5::open_file(local.runs[i].path);
    for (const char* p : {"least_squares", "averaging", "ridge(lambda=0.1)", "knn(k=3)"}) {
      const std::string d = fmt::format("eval/standard/{}/mean", p);
      EXPECT_EQ(h5::read<double>(a.id(), d), h5::read<double>(b.id(), d)) << mpi.runs[i].name;
    }
  }
}

TEST_F(Sweep, TheSlurmScriptRunsOneIndexPerArrayTask) {
  SweepSpec s = read_sweep(file(std::string(kBase) + "grid: {task.d: [2, 3, 4]}\nseeds: 2\n" +
                                "slurm: {time: '00:10:00', cpus_per_task: 4, mem: 2G, "
                                "extra: ['--account=lab']}\n"));
  EXPECT_EQ(s.slurm.max_array_size, 0);  // ask the cluster
  s.slurm.max_array_size = 1001;
  const std::string text = slurm_script(s, s.slurm, "/opt/icl bin/icl", "/w/s.yaml", "/w", "cpu");
  EXPECT_THAT(text, HasSubstr("#SBATCH --array=0-5\n"));
  EXPECT_THAT(text, HasSubstr("#SBATCH --cpus-per-task=4\n"));
  EXPECT_THAT(text, HasSubstr("#SBATCH --time=00:10:00\n"));
  EXPECT_THAT(text, HasSubstr("#SBATCH --mem=2G\n"));
  EXPECT_THAT(text, HasSubstr("#SBATCH --account=lab\n"));
  EXPECT_THAT(text, HasSubstr(fmt::format("#SBATCH --output={}/slurm/%A_%a.out\n",
                                          (dir_ / "out").string())));
  EXPECT_THAT(text, HasSubstr("cd '/w'\nexec '/opt/icl bin/icl' sweep '/w/s.yaml' --index "
                              "\"$SLURM_ARRAY_TASK_ID\" --device 'cpu'\n"));
  s.slurm.partition = "gpu\nrm -rf /";
  EXPECT_EQ(error_of([&] { slurm_script(s, s.slurm, "/i", "/s", "/w", "cpu"); }),
            "slurm partition: must be one line, got 'gpu\nrm -rf /'");
  s.slurm.partition = "";
  s.slurm.max_array_size = 0;
  EXPECT_EQ(error_of([&] { slurm_script(s, s.slurm, "/i", "/s", "/w", "cpu"); }),
            "slurm max_array_size: must be >= 1, got 0");
}

// More runs than the cluster's MaxArraySize: M array tasks, task i running runs i, i + M, ... in
// turn; a failed run does not stop the task's later runs, and fails the task. The script is run
// here by bash for each task, with a stand-in icl that records the index it is given.
TEST_F(Sweep, MoreRunsThanMaxArraySizeShareTheTasks) {
  SweepSpec s = read_sweep(file(std::string(kBase) + "grid: {task.d: [2, 3, 4]}\nseeds: 2\n" +
                                "slurm: {max_array_size: 4}\n"));
  ASSERT_EQ(s.runs.size(), 6u);
  EXPECT_EQ(slurm_array_tasks(6, s.slurm.max_array_size), 4);
  const fs::path fake = dir_ / "fake icl";
  std::ofstream(fake) << "#!/bin/bash\necho \"$4\" >> \"$(dirname \"$0\")/ran\"\n"
                         "[ \"$4\" != 5 ]\n";
  fs::permissions(fake, fs::perms::owner_all);
  const std::string text =
      slurm_script(s, s.slurm, fake.string(), "/w/s.yaml", dir_.string(), "cpu");
  EXPECT_THAT(text, HasSubstr("#SBATCH --array=0-3\n"));
  EXPECT_THAT(text, HasSubstr("6 runs over 4 array tasks"));
  std::ofstream(dir_ / "job.sh") << text;
  const auto task = [&](int i) {
    fs::remove(dir_ / "ran");
    const int rc = std::system(fmt::format("SLURM_ARRAY_TASK_ID={} bash '{}' >/dev/null 2>&1", i,
                                           (dir_ / "job.sh").string())
                                   .c_str());
    return std::pair{WEXITSTATUS(rc), test::slurp(dir_ / "ran")};
  };
  EXPECT_EQ(task(0), (std::pair<int, std::string>{0, "0\n4\n"}));
  EXPECT_EQ(task(1), (std::pair<int, std::string>{1, "1\n5\n"}));  // run 5 fails
  EXPECT_EQ(task(3), (std::pair<int, std::string>{0, "3\n"}));
  // Up to the limit, one run per task, as before.
  s.slurm.max_array_size = 6;
  const std::string whole = slurm_script(s, s.slurm, "/i", "/s", "/w", "cpu");
  EXPECT_THAT(whole, HasSubstr("#SBATCH --array=0-5\n"));
  EXPECT_THAT(whole, HasSubstr("exec '/i' sweep"));
  EXPECT_THAT(whole, testing::Not(HasSubstr("for ((")));
}

}  // namespace
}  // namespace icl

// icl sweep --slurm on a real single-node Slurm cluster (scripts/slurm_local.sh: munged, slurmctld
// and slurmd from Debian's packages, started in a directory of the test's own, MaxArraySize 3): a
// baselines-only sweep of 4 runs is submitted with sbatch as a 3-task job array (the limit read
// from scontrol), waited for, collected, and every run's curves equal the same run's in a local
// sweep, bit for bit. Skipped, naming the reason, when the
// cluster cannot start here (not root, packages missing, daemons refusing).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "io/h5.h"
#include "sweep/execute.h"
#include "sweep/spec.h"
#include "tests/cli_helpers.h"

namespace icl {
namespace {

namespace fs = std::filesystem;

using test::slurp;

class Slurm : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / fmt::format("icl_slurm_{}", getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (started_)
      (void)std::system(fmt::format("bash '{}/scripts/slurm_local.sh' stop '{}' >/dev/null 2>&1",
                                    ICL_SOURCE_DIR, (dir_ / "cluster").string())
                            .c_str());
    fs::remove_all(dir_);
  }
  fs::path dir_;
  bool started_ = false;
};

TEST_F(Slurm, AJobArraySweepMatchesTheLocalSweep) {
  const fs::path cluster = dir_ / "cluster";
  const std::string start =
      fmt::format("bash '{}/scripts/slurm_local.sh' start '{}' >'{}' 2>&1", ICL_SOURCE_DIR,
                  cluster.string(), (dir_ / "start.log").string());
  started_ = true;
  if (std::system(start.c_str()) != 0)
    GTEST_SKIP() << "no Slurm cluster here: " << slurp(dir_ / "start.log");
  const std::string body =
      "base: linear_regression_baselines_small\n"
      "set: [eval.prompts=16, eval.bootstrap=20]\n"
      "grid: {task.d: [2, 3]}\n"
      "seeds: 2\n";
  std::ofstream(dir_ / "slurm.yaml") << "out: on_slurm\n" << body;
  std::ofstream(dir_ / "local.yaml") << fmt::format("out: {}\n", (dir_ / "local").string()) << body;

  const std::string env = fmt::format("SLURM_CONF='{}/slurm.conf'", cluster.string());
  const std::string submit =
      fmt::format("cd '{}' && {} '{}' sweep slurm.yaml --slurm >submit.log 2>&1", dir_.string(),
                  env, ICL_BINARY);
  ASSERT_EQ(std::system(submit.c_str()), 0) << slurp(dir_ / "submit.log");
  // The cluster allows 3 array tasks (scripts/slurm_local.sh: MaxArraySize=3): read from scontrol,
  // the 4 runs share them (task 0 runs runs 0 and 3).
  EXPECT_THAT(slurp(dir_ / "submit.log"), testing::HasSubstr("submitted job array"));
  EXPECT_THAT(slurp(dir_ / "submit.log"), testing::HasSubstr("(3 tasks for 4 runs"));

  // Until the queue is empty (every task ran), at most two minutes.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  const std::string queue = fmt::format("{} squeue -h > '{}' 2>&1", env, (dir_ / "q").string());
  while (std::chrono::steady_clock::now() < until) {
    if (std::system(queue.c_str()) == 0 && slurp(dir_ / "q").empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  ASSERT_TRUE(slurp(dir_ / "q").empty()) << "still queued: " << slurp(dir_ / "q");

  const std::string collect =
      fmt::format("cd '{}' && '{}' sweep collect slurm.yaml --no-figures >collect.log 2>&1",
                  dir_.string(), ICL_BINARY);
  ASSERT_EQ(std::system(collect.c_str()), 0) << slurp(dir_ / "collect.log");
  EXPECT_THAT(slurp(dir_ / "collect.log"), testing::HasSubstr("(4 of 4 runs)"));

  const SweepSpec local = read_sweep((dir_ / "local.yaml").string());
  SweepOptions o;
  o.icl = ICL_BINARY;
  o.progress = false;
  ASSERT_EQ(execute_sweep(local, o).failed(), 0);
  for (const auto& r : local.runs) {
    const fs::path theirs = dir_ / "on_slurm" / "runs" / r.name / "results.h5";
    const h5::Handle a = h5::open_file(theirs.string());
    const h5::Handle b = h5::open_file(r.path);
    for (const char* p : {"least_squares", "averaging", "ridge(lambda=0.1)", "knn(k=3)"}) {
      const std::string d = fmt::format("eval/standard/{}/mean", p);
      EXPECT_EQ(h5::read<double>(a.id(), d), h5::read<double>(b.id(), d)) << r.name;
    }
  }
  // Each array task wrote its output where the script said.
  int outs = 0;
  for (const auto& e : fs::directory_iterator(dir_ / "on_slurm" / "slurm"))
    outs += e.path().extension() == ".out";
  EXPECT_EQ(outs, 3);
}

}  // namespace
}  // namespace icl

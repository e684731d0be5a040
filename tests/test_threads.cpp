// core/threads.h: the thread count a command uses, from --threads, OMP_NUM_THREADS, the CPU
// affinity, Slurm and MPI, and the one-line errors for settings that are not counts.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "core/error.h"
#include "core/threads.h"
#include "tests/errors.h"

namespace icl::threads {
namespace {

using test::error_of;

// Settings are assigned as std::string temporaries (a move): GCC 12 warns falsely (-Wrestrict) on
// assigning a literal to a string that already holds one.

Inputs machine(int affinity, int online) {
  Inputs in;
  in.affinity_cpus = affinity;
  in.online_cpus = online;
  return in;
}

TEST(Threads, TheDefaultIsTheAffinityMask) {
  const Plan p = plan(machine(6, 16));
  EXPECT_EQ(p.threads, 6);
  EXPECT_EQ(p.source, "CPU affinity");
}

TEST(Threads, OmpNumThreadsThenTheFlagReplaceTheDefault) {
  Inputs in = machine(16, 16);
  in.omp_env = std::string("3");
  in.slurm_cpus = std::string("2");  // an explicit count is the user's, even above Slurm's
  EXPECT_EQ(plan(in).threads, 3);
  EXPECT_EQ(plan(in).source, "OMP_NUM_THREADS");
  in.omp_env = std::string("5,2");  // a nested list: its first level
  EXPECT_EQ(plan(in).threads, 5);
  in.requested = 7;
  EXPECT_EQ(plan(in).threads, 7);
  EXPECT_EQ(plan(in).source, "--threads");
}

TEST(Threads, UnboundMpiRanksShareTheNode) {
  Inputs in = machine(16, 16);
  in.local_ranks = std::string("4");
  EXPECT_EQ(plan(in).threads, 4);
  EXPECT_EQ(plan(in).source, "MPI ranks on this node");
  in.local_ranks = std::string("32");  // more ranks than cores: one thread each
  EXPECT_EQ(plan(in).threads, 1);
  // Ranks that mpirun bound to their own cores already see only those.
  in = machine(4, 16);
  in.local_ranks = std::string("4");
  EXPECT_EQ(plan(in).threads, 4);
  EXPECT_EQ(plan(in).source, "CPU affinity");
}

TEST(Threads, SlurmCpusPerTaskCapsTheCount) {
  Inputs in = machine(16, 16);
  in.slurm_cpus = std::string("4");
  EXPECT_EQ(plan(in).threads, 4);
  EXPECT_EQ(plan(in).source, "SLURM_CPUS_PER_TASK");
  in.slurm_cpus = std::string("32");  // never above the mask
  EXPECT_EQ(plan(in).threads, 16);
  EXPECT_EQ(plan(in).source, "CPU affinity");
}

TEST(Threads, SettingsThatAreNotCountsAreOneLineErrors) {
  Inputs in = machine(2, 2);
  in.omp_env = std::string("many");
  EXPECT_EQ(error_of([&] { plan(in); }),
            "OMP_NUM_THREADS: must be a positive integer (or a comma-separated list of them), got "
            "'many'");
  in.omp_env = std::string("0");
  EXPECT_THAT(error_of([&] { plan(in); }), testing::HasSubstr("got '0'"));
  in.omp_env = std::string("");
  in.slurm_cpus = std::string("-2");
  EXPECT_EQ(error_of([&] { plan(in); }),
            "SLURM_CPUS_PER_TASK: must be a positive integer, got '-2'");
}

TEST(Threads, ApplySetsTheOpenMpCount) {
  const int before = in_use();
  EXPECT_EQ(apply(3).threads, 3);
  EXPECT_EQ(in_use(), 3);
  apply(before);
  EXPECT_EQ(in_use(), before);
}

}  // namespace
}  // namespace icl::threads

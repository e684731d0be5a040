// Data-parallel training under a real `mpirun -np 2` (core/mpi.h, train/accumulate.h): the two
// ranks' run equals, bit for bit, one process accumulating the same two micro-batches (losses and
// weights); only rank 0 writes, and the file records the world size; a run stopped under two ranks
// resumes under two ranks to the same end. Skipped, naming why, without mpirun or without MPI in
// the build.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/mpi.h"
#include "io/h5.h"
#include "tests/cli_helpers.h"
#include "tests/train_fixture.h"

namespace icl {
namespace {

namespace fs = std::filesystem;

// `icl run quickstart` with the tiny training settings (and `extra`), optionally under mpirun.
int icl_run(int ranks, const std::vector<std::string>& extra, const std::string& out,
            const std::string& flags, const std::string& log) {
  std::string cmd = "OMP_NUM_THREADS=1 ";
  // Under AddressSanitizer (scripts/sanitize.sh) the ranks keep every check but the leak report:
  // Open MPI leaks from components it unloads before LeakSanitizer runs, so the reports name no
  // module a suppression could match. Without a sanitizer the variable is ignored.
  if (ranks > 1) cmd += "ASAN_OPTIONS=\"${ASAN_OPTIONS:-}:detect_leaks=0\" ";
  if (ranks > 1)
    cmd += fmt::format("mpirun {}--oversubscribe -np {} ",
                       getuid() == 0 ? "--allow-run-as-root " : "", ranks);
  cmd += fmt::format("'{}' run quickstart --device cpu --no-figures --out '{}' {}", ICL_BINARY, out,
                     flags);
  for (const auto& s : test::kTiny) cmd += " --set " + s;
  for (const auto& s : extra) cmd += " --set " + s;
  cmd += fmt::format(" >'{}' 2>&1", log);
  return std::system(cmd.c_str());
}

TEST(DataParallel, TwoRanksEqualOneProcessAccumulatingTwoParts) {
  if (!mpi::built()) GTEST_SKIP() << "this build has no MPI (ICL_MPI; libopenmpi-dev)";
  if (std::system("command -v mpirun >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "mpirun not found (scripts/install-deps.sh installs openmpi-bin)";
  test::Dir dir("data_parallel");
  ASSERT_EQ(icl_run(2, {}, dir / "dp.h5", "", dir / "dp.log"), 0) << test::slurp(dir / "dp.log");
  ASSERT_EQ(icl_run(1, {"train.micro_batches=2"}, dir / "acc.h5", "", dir / "acc.log"), 0)
      << test::slurp(dir / "acc.log");
  EXPECT_EQ(test::losses(dir / "dp.h5"), test::losses(dir / "acc.h5"));
  for (const char* g : {"params", "adam_m", "adam_v"})
    EXPECT_EQ(test::params(dir / "dp.h5", g), test::params(dir / "acc.h5", g)) << g;
  {
    const h5::Handle f = h5::open_file(dir / "dp.h5");
    EXPECT_EQ(h5::read_attr_int(f.id(), "world_size"), 2);
    EXPECT_EQ(h5::read_attr_string(f.id(), "parallel_backend"), "mpi");
    const h5::Handle a = h5::open_file(dir / "acc.h5");
    EXPECT_EQ(h5::read_attr_int(a.id(), "world_size"), 1);
    EXPECT_EQ(h5::read_attr_string(a.id(), "parallel_backend"), "none");
  }
  // Only rank 0 wrote: nothing else in the directory but the logs and the two files.
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir.p)) names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"acc.h5", "acc.log", "dp.h5", "dp.log"}));

  // Stopped at step 6 and resumed, both under two ranks: the whole run's numbers.
  ASSERT_EQ(icl_run(2, {}, dir / "half.h5", "--until 6", dir / "h1.log"), 0)
      << test::slurp(dir / "h1.log");
  ASSERT_EQ(icl_run(2, {}, dir / "half.h5", fmt::format("--resume '{}'", dir / "half.h5"),
                    dir / "h2.log"),
            0)
      << test::slurp(dir / "h2.log");
  EXPECT_EQ(test::losses(dir / "half.h5"), test::losses(dir / "dp.h5"));
  EXPECT_EQ(test::params(dir / "half.h5", "params"), test::params(dir / "dp.h5", "params"));
}

// Settings that cannot split: one line from every rank, a nonzero exit.
TEST(DataParallel, ABatchThatDoesNotSplitIsRefused) {
  if (!mpi::built() || std::system("command -v mpirun >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "needs MPI in the build and mpirun";
  test::Dir dir("data_parallel_bad");
  EXPECT_NE(icl_run(2, {"train.batch_size=5"}, dir / "x.h5", "", dir / "x.log"), 0);
  const std::string log = test::slurp(dir / "x.log");
  EXPECT_NE(log.find("train.batch_size: 5 prompts do not split evenly over 2 MPI ranks"),
            std::string::npos)
      << log;
  EXPECT_FALSE(fs::exists(dir / "x.h5"));
}

}  // namespace
}  // namespace icl

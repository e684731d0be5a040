// Kill soak: a short training run is stopped at random points, over and over, each time continued
// with --resume (or started again when nothing was saved yet), until it completes. SIGKILL lands
// anywhere (while starting, training, writing a checkpoint, evaluating); SIGINT and SIGTERM are
// sent while training, where they must save a checkpoint of the step they stopped at and end the
// process by that signal. After every stop the results file, when there is one, must open and hold
// a checkpoint; the finished file must equal an uninterrupted run's in every dataset and attribute
// but the timestamps (train/seconds, created) and the resume history.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "io/h5.h"
#include "tests/cli_helpers.h"
#include "tests/h5_diff.h"

namespace {

namespace fs = std::filesystem;
using icl::test::slurp;
using icl::test::wait_for;
const auto spawn = icl::test::spawn_icl;
using Clock = std::chrono::steady_clock;

// The checkpoint step in `file`, -1 if it has none; fails the test if the file does not open.
int64_t checkpoint_step(const fs::path& file) {
  const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  EXPECT_GE(f, 0) << file << " does not open as HDF5";
  if (f < 0) return -2;
  int64_t step = -1;
  if (H5Lexists(f, "checkpoint", H5P_DEFAULT) > 0) {
    const hid_t g = H5Gopen2(f, "checkpoint", H5P_DEFAULT);
    const hid_t a = H5Aopen(g, "step", H5P_DEFAULT);
    EXPECT_GE(H5Aread(a, H5T_NATIVE_INT64, &step), 0);
    H5Aclose(a);
    H5Gclose(g);
  }
  H5Fclose(f);
  return step;
}

TEST(KillSoak, InterruptedAndResumedRunEqualsAnUninterruptedOne) {
  const fs::path root = fs::temp_directory_path() / fmt::format("icl_soak_{}", ::getpid());
  fs::remove_all(root);
  fs::create_directories(root / "whole");
  fs::create_directories(root / "killed");
  const std::vector<std::string> base = {"run",          "quickstart",
                                         "--set",        "train.steps=120",
                                         "--set",        "train.checkpoint_every=5",
                                         "--set",        "train.eval_every=20",
                                         "--set",        "eval.sets.standard.prompts=64",
                                         "--no-figures", "--device",
                                         "cpu",          "--out",
                                         "run.h5"};

  // The uninterrupted run, timed: the kill points are drawn on its scale.
  const auto t0 = Clock::now();
  int status = 0;
  ASSERT_TRUE(wait_for(spawn(root / "whole", base), 600, &status));
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << slurp(root / "whole" / "stderr");
  const double whole = std::chrono::duration<double>(Clock::now() - t0).count();

  std::mt19937_64 rng(20261206);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const fs::path out = root / "killed" / "run.h5";
  int kills = 0, sigkills = 0, saved_by_signal[2] = {0, 0};
  int64_t last_step = -1, stalled = 0;
  bool done = false;
  for (int attempt = 0; attempt < 300 && !done; ++attempt) {
    std::vector<std::string> args = base;
    if (fs::exists(out) && checkpoint_step(out) >= 0) {
      args.push_back("--resume");
      args.push_back("run.h5");
    }
    // Every fourth stop is SIGINT or SIGTERM in turn, sent while training; the rest SIGKILL.
    const int sig = attempt % 4 == 1 ? SIGINT : attempt % 4 == 3 ? SIGTERM : SIGKILL;
    // Stops come about 25 times per run's length; a stop that found no new checkpoint three times
    // running makes the next wait longer, so the run always gets through.
    const double scale = whole / 25.0 * double(1 << std::min<int64_t>(stalled / 3, 6));
    const pid_t pid = spawn(root / "killed", args);
    if (sig != SIGKILL) {  // wait for the header line: training (and the deferral) has begun
      const auto limit = Clock::now() + std::chrono::seconds(120);
      while (slurp(root / "killed" / "stderr").find("icl run ") == std::string::npos &&
             Clock::now() < limit && waitpid(pid, &status, WNOHANG) == 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    if (wait_for(pid, unit(rng) * scale, &status)) {
      ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
          << slurp(root / "killed" / "stderr");
      done = true;
      break;
    }
    ::kill(pid, sig);
    ASSERT_TRUE(wait_for(pid, 120, &status));
    const std::string err = slurp(root / "killed" / "stderr");
    if (WIFEXITED(status)) {  // it finished just before the signal
      ASSERT_EQ(WEXITSTATUS(status), 0) << err;
      done = true;
      break;
    }
    ++kills;
    sigkills += sig == SIGKILL;
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == sig) << "signal " << sig << ": " << err;
    const int64_t step = fs::exists(out) ? checkpoint_step(out) : -1;
    if (fs::exists(out)) {
      EXPECT_GE(step, 0) << "the results file holds no checkpoint";
    }
    if (sig != SIGKILL) {
      const size_t at = err.find("interrupted by ");
      if (at != std::string::npos) {  // stopped while training: a checkpoint of that very step
        int64_t said = -1;
        std::sscanf(err.c_str() + err.find(" at step ", at), " at step %ld", &said);
        EXPECT_EQ(step, said) << err;
        ++saved_by_signal[sig == SIGINT ? 0 : 1];
      }
    }
    stalled = step > last_step ? 0 : stalled + 1;
    last_step = std::max(last_step, step);
  }
  ASSERT_TRUE(done) << "the run never completed";
  EXPECT_GE(kills, 20);
  EXPECT_GE(saved_by_signal[0], 1) << "no SIGINT landed while training";
  EXPECT_GE(saved_by_signal[1], 1) << "no SIGTERM landed while training";
  RecordProperty("kills", kills);
  std::printf("kill soak: %d stops (%d SIGKILL, %d SIGINT and %d SIGTERM with a checkpoint)\n",
              kills, sigkills, saved_by_signal[0], saved_by_signal[1]);

  const std::string a = (root / "whole" / "run.h5").string(), b = out.string();
  EXPECT_GT(icl::test::h5_item_count(a), 20u);
  EXPECT_EQ(icl::test::h5_differences(a, b, {"/train/seconds", "/@created", "/@resume_log"}),
            std::vector<std::string>{});
  // No temporary or partial file is left once the run completed.
  for (const auto& e : fs::directory_iterator(root / "killed")) {
    const std::string n = e.path().filename().string();
    EXPECT_TRUE(n == "run.h5" || n == "stderr") << "left behind: " << n;
  }
  fs::remove_all(root);
}

}  // namespace

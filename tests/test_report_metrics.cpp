// The figure script draws accuracy-type metrics (linear [0, 1] axis, chance line) as well as
// error-type ones; the checks live in tests/report/check_plot_metrics.py, which inspects the axes
// report/plot_curves.py builds (needs the OS's python3-numpy, -h5py and -matplotlib; skipped
// without them, like the CLI's report test needs them).
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/python.h"

namespace {

TEST(ReportMetrics, AccuracyAndErrorPlots) {
  namespace fs = std::filesystem;
  const fs::path work =
      fs::temp_directory_path() / ("icl_report_metrics_" + std::to_string(::getpid()));
  fs::remove_all(work);
  const std::string cmd = icl::python_interpreter() + " " + ICL_SOURCE_DIR +
                          "/tests/report/check_plot_metrics.py " + work.string() + " > /dev/null";
  const int status = std::system(cmd.c_str());
  fs::remove_all(work);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 77) GTEST_SKIP() << "numpy, h5py or matplotlib missing";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "see the check_plot_metrics message above";
}

}  // namespace

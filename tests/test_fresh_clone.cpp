// The README's first command from a clean checkout: a clone of the committed tree in a temporary
// directory (no results/, nothing untracked), where quickstart.sh's run line must succeed and leave
// results/quickstart.h5 and its figures. The build step of the script is what CI itself does on a
// clean clone, so here the run line is taken from the script and pointed at this build's binary,
// with a short training (the full run is the slow quickstart learning test).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <fmt/format.h>

#include "core/python.h"
#include "io/h5.h"

namespace {

namespace fs = std::filesystem;

TEST(FreshClone, QuickstartRunsFromACleanCheckout) {
  const fs::path src = ICL_SOURCE_DIR;
  if (!fs::exists(src / ".git") || std::system("git --version >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "no git checkout to clone";
  const fs::path dir = fs::temp_directory_path() / fmt::format("icl_fresh_clone_{}", ::getpid());
  fs::remove_all(dir);
  ASSERT_EQ(std::system(fmt::format("git clone -q --no-hardlinks '{}' '{}' 2>/dev/null",
                                    src.string(), dir.string())
                            .c_str()),
            0);
  ASSERT_FALSE(fs::exists(dir / "results")) << "a clean checkout has no results/";

  // The script's run line, exactly as committed.
  std::ifstream script(dir / "scripts" / "quickstart.sh");
  std::string line, run;
  while (std::getline(script, line))
    if (line.rfind("./build/icl run ", 0) == 0) run = line;
  ASSERT_FALSE(run.empty()) << "quickstart.sh has no './build/icl run' line";
  run.replace(0, std::string("./build/icl").size(), fmt::format("'{}'", ICL_BINARY));
  const std::string cmd = fmt::format(
      "cd '{}' && {} --set train.steps=20 --set eval.sets.standard.prompts=64 "
      ">'{}/stdout' 2>'{}/stderr'",
      dir.string(), run, dir.string(), dir.string());
  const int status = std::system(cmd.c_str());
  std::stringstream err;
  err << std::ifstream(dir / "stderr").rdbuf();
  ASSERT_EQ(status, 0) << cmd << "\n" << err.str();
  const fs::path out = dir / "results" / "quickstart.h5";
  ASSERT_TRUE(fs::exists(out));
  const icl::h5::Handle f = icl::h5::open_file(out.string());
  EXPECT_TRUE(icl::h5::exists(f.id(), "eval/standard"));
  EXPECT_TRUE(icl::h5::exists(f.id(), "checkpoint"));
  if (std::system(
          (icl::python_interpreter() + " -c 'import matplotlib, h5py' >/dev/null 2>&1").c_str()) ==
      0) {
    EXPECT_TRUE(fs::exists(dir / "results" / "quickstart_figures")) << err.str();
  }
  fs::remove_all(dir);
}

}  // namespace

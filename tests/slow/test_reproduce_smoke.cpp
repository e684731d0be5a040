// Every figure in configs/, at both scales, with one training step and 32 prompts per run (4
// bandit environments)
// (`icl reproduce --smoke`): its configs, overrides, predictors, sets and the claims' points all
// exist, and the paper-scale models build and take a step on the CPU (claims are not judged).
// About 8 minutes on a 2-core CPU (479 s measured with 14 figures), most of it the paper-scale
// models, the randomised-label sets of campbell2023 and the bandit models' rollouts (4
// environments each in a smoke run).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include <fmt/format.h>

#include "repro/figure.h"
#include "tests/cli_helpers.h"

namespace {

namespace fs = std::filesystem;
using icl::test::shell_quote;
using icl::test::slurp;
using testing::HasSubstr;

TEST(ReproduceSmoke, EveryFigureRunsAtBothScales) {
  const fs::path dir = fs::temp_directory_path() / fmt::format("icl_repro_smoke_{}", ::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::vector<std::string> figures = icl::list_figures();
  EXPECT_GE(figures.size(), 10u);
  for (const auto& name : figures)
    for (const std::string scale : {"quick", "paper"}) {
      SCOPED_TRACE(name + " " + scale);
      const std::string cmd = fmt::format(
          "cd {} && {} reproduce {} --scale {} --smoke --seeds 1 --no-figures --out out --device "
          "cpu >/dev/null 2>err.txt",
          shell_quote(dir.string()), shell_quote(ICL_BINARY), shell_quote(name), scale);
      EXPECT_EQ(std::system(cmd.c_str()), 0) << slurp(dir / "err.txt");
      EXPECT_THAT(slurp(dir / "out" / name / "summary.md"),
                  HasSubstr("smoke run: one training step per run"));
    }
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace

// The architecture as checks on the source tree (docs/DESIGN.md, "Layers"):
//   core, io → kernels → models / tasks / baselines → train and eval (which do not include each
//   other) → run → repro and sweep (which do not include each other) → python → cli;
// config text is parsed and tasks are made only in run/; a run's model is built in one place; and
// no code outside tasks/ and baselines/ special-cases a task by its name.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "tasks/task.h"

namespace {

namespace fs = std::filesystem;

const std::map<std::string, int> kLayer = {
    {"core", 0},      {"io", 0},     {"kernels", 1}, {"models", 2}, {"tasks", 2},
    {"baselines", 2}, {"train", 3},  {"eval", 3},    {"run", 4},    {"repro", 5},
    {"sweep", 5},     {"python", 6}, {"cli", 7}};

struct Source {
  std::string path;  // "train/trainer.cpp"
  std::string dir;   // "train"
  std::vector<std::string> lines;
};

std::vector<Source> product_sources(const std::vector<std::string>& extra_dirs = {}) {
  std::vector<Source> out;
  std::vector<std::string> dirs;
  for (const auto& [d, l] : kLayer) dirs.push_back(d);
  dirs.insert(dirs.end(), extra_dirs.begin(), extra_dirs.end());
  for (const auto& d : dirs) {
    const fs::path root = fs::path(ICL_SOURCE_DIR) / d;
    if (!fs::is_directory(root)) continue;
    for (const auto& e : fs::directory_iterator(root)) {
      const std::string ext = e.path().extension().string();
      if (ext != ".h" && ext != ".cpp" && ext != ".cu" && ext != ".py") continue;
      Source s{d + "/" + e.path().filename().string(), d, {}};
      std::ifstream in(e.path());
      for (std::string line; std::getline(in, line);) s.lines.push_back(line);
      out.push_back(std::move(s));
    }
  }
  EXPECT_GT(out.size(), 100u) << "source tree not found at " << ICL_SOURCE_DIR;
  return out;
}

// The line without its // comment (string literals holding "//" are not at issue here).
std::string code_of(const std::string& line) {
  const size_t c = line.find("//");
  return c == std::string::npos ? line : line.substr(0, c);
}

TEST(Layering, IncludesPointDownOnly) {
  const std::regex include(R"(^#include "(\w+)/)");
  std::vector<std::string> bad;
  for (const auto& s : product_sources()) {
    for (size_t i = 0; i < s.lines.size(); ++i) {
      std::smatch m;
      if (!std::regex_search(s.lines[i], m, include) || !kLayer.count(m[1])) continue;
      const std::string to = m[1];
      const bool up = kLayer.at(to) > kLayer.at(s.dir);
      const bool across =
          (s.dir == "train" && to == "eval") || (s.dir == "eval" && to == "train") ||
          (s.dir == "repro" && to == "sweep") || (s.dir == "sweep" && to == "repro");
      if (up || across) bad.push_back(s.path + ":" + std::to_string(i + 1) + " " + s.lines[i]);
    }
  }
  EXPECT_TRUE(bad.empty()) << "includes against the layers:\n"
                           << [&] {
                                std::string t;
                                for (const auto& b : bad) t += b + "\n";
                                return t;
                              }();
}

// make_task and make_model are called in run/ only (their definitions aside), and a run's model
// has one building function, ResolvedRun::build_model: the one place a model registry entry is
// asked to make a model.
TEST(Layering, TasksAndModelsAreMadeInTheRunLayerOnly) {
  std::vector<std::string> bad, builds;
  for (const auto& s : product_sources()) {
    const bool defines = s.path == "tasks/task.h" || s.path == "tasks/registry.cpp" ||
                         s.path == "models/model.h" || s.path == "models/registry.cpp";
    for (size_t i = 0; i < s.lines.size(); ++i) {
      const std::string code = code_of(s.lines[i]);
      const std::string at = s.path + ":" + std::to_string(i + 1) + " " + code;
      for (const char* fn : {"make_task(", "make_model("})
        if (code.find(fn) != std::string::npos && !defines && s.dir != "run") bad.push_back(at);
      if (code.find("make_model(") != std::string::npos && !defines) builds.push_back(at);
      if (code.find("find_model(") != std::string::npos &&
          code.find(".make(") != std::string::npos && !defines)
        builds.push_back(at);
    }
  }
  EXPECT_TRUE(bad.empty()) << [&] {
    std::string t = "made outside run/:\n";
    for (const auto& b : bad) t += b + "\n";
    return t;
  }();
  ASSERT_EQ(builds.size(), 1u) << "one model-building function";
  EXPECT_TRUE(builds[0].starts_with("run/resolved_run.cpp:")) << builds[0];
}

// No code outside tasks/ and baselines/ names a registered task in a string literal: whatever is
// special about a task is declared by the task (its metrics, exports, axis label, needs).
TEST(Layering, NoTaskIsNamedOutsideTasksAndBaselines) {
  std::vector<std::string> bad;
  for (const auto& s : product_sources({"report"})) {
    if (s.dir == "tasks" || s.dir == "baselines") continue;
    for (size_t i = 0; i < s.lines.size(); ++i) {
      const std::string code = s.path.ends_with(".py") ? s.lines[i].substr(0, s.lines[i].find('#'))
                                                       : code_of(s.lines[i]);
      for (const auto& t : icl::task_registry())
        for (const char q : {'"', '\''})
          if (code.find(q + t.name + q) != std::string::npos)
            bad.push_back(s.path + ":" + std::to_string(i + 1) + " names " + t.name);
    }
  }
  EXPECT_TRUE(bad.empty()) << [&] {
    std::string t;
    for (const auto& b : bad) t += b + "\n";
    return t;
  }();
}

// The checks above find what they look for: a planted violation in each is reported.
TEST(Layering, TheChecksSeeWhatTheyLookFor) {
  EXPECT_EQ(code_of("x = make_task(a); // make_model("), "x = make_task(a); ");
  std::smatch m;
  const std::string line = "#include \"eval/evaluate.h\"";
  ASSERT_TRUE(std::regex_search(line, m, std::regex(R"(^#include "(\w+)/)")));
  EXPECT_EQ(m[1], "eval");
  EXPECT_GT(kLayer.at("eval"), kLayer.at("tasks"));
  bool maze = false;
  for (const auto& t : icl::task_registry()) maze |= t.name == "maze";
  EXPECT_TRUE(maze) << "the registry the name check reads";
}

}  // namespace

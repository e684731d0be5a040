#include <yaml-cpp/yaml.h>

#include <fmt/format.h>

#include "baselines/baseline.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "io/config.h"
#include "models/model.h"
#include "tasks/task.h"

namespace icl::cli {

static void print_params(const ParamSpecs& specs, bool verbose) {
  if (!verbose) return;
  for (const auto& s : specs) fmt::print("      {}\n", describe(s));
}

int cmd_list(const Args& args) {
  po::options_description opts("options");
  opts.add_options()("verbose,v", "also list every parameter with its type, default and range");
  po::variables_map vm;
  if (!parse("list", "[--verbose]",
             "Lists the registered tasks, baselines and models and the named benchmarks.", opts, {},
             args, vm))
    return 0;
  const bool verbose = vm.count("verbose") != 0;

  fmt::print("tasks:\n");
  for (const auto& t : task_registry()) {
    fmt::print("  {:<28} {}\n", t.name, t.summary);
    print_params(t.params, verbose);
  }
  fmt::print("baselines:\n");
  for (const auto& b : baseline_registry()) {
    fmt::print("  {:<28} {}\n", b.name, b.summary);
    print_params(b.params, verbose);
  }
  fmt::print("models:\n");
  for (const auto& m : model_registry()) {
    fmt::print("  {:<28} {}\n", m.name, m.summary);
    print_params(m.params, verbose);
  }
  fmt::print("benchmarks (icl run NAME):\n");
  for (const auto& name : list_benchmarks()) {
    std::string description;
    try {
      description =
          YAML::LoadFile(config_dir() + "/" + name + ".yaml")["description"].as<std::string>("");
    } catch (const YAML::Exception&) {
      description = "(not valid YAML)";
    }
    fmt::print("  {:<44} {}\n", name, description);
  }
  return 0;
}

}  // namespace icl::cli

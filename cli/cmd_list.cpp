#include <fmt/format.h>

#include "baselines/baseline.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "models/model.h"
#include "run/config_file.h"
#include "run/sections.h"
#include "tasks/task.h"
#include "train/train_config.h"

namespace icl::cli {

static void print_params(const ParamSpecs& specs, bool verbose) {
  if (!verbose) return;
  for (const auto& s : specs) fmt::print("      {}\n", describe(s));
}

// A config section's keys from its declaration (core/section.h); a custom key says what it holds.
template <class T>
static void print_section(const Section<T>& section, const std::string& where,
                          const std::string& summary, bool verbose) {
  fmt::print("  {:<28} {}\n", where, summary);
  if (!verbose) return;
  for (const auto& f : section.fields())
    fmt::print("      {}\n",
               f.custom ? fmt::format("{}: {}", f.spec.name, f.spec.help) : describe(f.spec));
}

int cmd_list(const Args& args) {
  po::options_description opts("options");
  opts.add_options()("verbose,v", "also list every parameter with its type, default and range");
  po::variables_map vm;
  if (!parse("list", "[--verbose]",
             "Lists the registered tasks, baselines and models, the config sections and the named "
             "benchmarks.",
             opts, {}, args, vm))
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
    if (!b.not_built.empty()) fmt::print("  {:<28} not in this build: {}\n", "", b.not_built);
    print_params(b.params, verbose);
  }
  fmt::print("models:\n");
  for (const auto& m : model_registry()) {
    fmt::print("  {:<28} {}\n", m.name, m.summary);
    print_params(m.params, verbose);
  }
  fmt::print("config sections:\n");
  print_section(train_section(), "train", "how the model is trained", verbose);
  print_section(eval_section(), "eval", "how every evaluation set is evaluated", verbose);
  print_section(spectrum_section(), "eval.sets.<set>.spectrum",
                "a set's spectrum of predictions (one-dimensional inputs)", verbose);
  print_section(rollout_section(), "rollout", "bandit benchmarks: how policies are rolled out",
                verbose);
  fmt::print("benchmarks (icl run NAME):\n");
  for (const auto& name : list_benchmarks())
    fmt::print("  {:<44} {}\n", name, benchmark_description(name));
  return 0;
}

}  // namespace icl::cli

#include <cstdio>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "core/error.h"
#include "core/progress.h"
#include "repro/reproduce.h"

namespace icl::cli {

// `icl reproduce --list`: every figure with its scales, runs and expected time.
static int list_figure_files() {
  fmt::print("{:<40} {:>6} {:>11} {:>6} {:>11}  {}\n", "figure", "quick", "(runs)", "paper",
             "(runs)", "title");
  for (const auto& name : list_figures()) {
    const Figure f = load_figure(name);
    const auto runs = [&](const std::string& s) {
      const FigureScale& sc = f.scale(s);
      return fmt::format("({} x {})", sc.runs.size(), sc.seeds);
    };
    const auto minutes = [&](const std::string& s) {
      return format_duration(f.scale(s).minutes * 60.0);
    };
    fmt::print("{:<40} {:>6} {:>11} {:>6} {:>11}  {}\n", name, minutes("quick"), runs("quick"),
               minutes("paper"), runs("paper"), f.title);
  }
  fmt::print(
      "\nquick: expected time on a 2-core CPU with one seed; paper: the published sizes, "
      "meant for a GPU. (runs x seeds)\n");
  return 0;
}

int cmd_reproduce(const Args& args) {
  po::options_description opts("options");
  std::string name;
  ReproduceOptions ro;
  opts.add_options()("figure", po::value(&name), "figure name (icl reproduce --list) or file")(
      "list", "list every figure with its scales and expected time")(
      "scale", po::value(&ro.scale)->default_value("quick"),
      "quick (minutes on a CPU) or paper (the published sizes, for a GPU)")(
      "seeds", po::value<int64_t>(), "seeds per run (default: the scale's)")(
      "device", po::value(&ro.device)->default_value("auto"),
      "where models train: auto (a GPU when there is one), cpu or cuda")(
      "out,o", po::value(&ro.out_dir)->default_value("results/reproduce"),
      "output directory: DIR/<paper>/<name>/ gets the runs, the figure and summary.md")(
      "no-figures", "do not draw the PNG and PDF")(
      "smoke", "check the machinery: one training step and 32 prompts per run, claims not judged");
  po::positional_options_description pos;
  pos.add("figure", 1);
  add_threads_option(opts);
  po::variables_map vm;
  if (!parse("reproduce",
             "NAME [--scale quick|paper] [--seeds N] [--device D] [--out DIR] | --list",
             "Reproduces a paper's figure: runs what it needs (reusing finished runs, resuming "
             "stopped ones), draws it, checks the paper's claims on our numbers and writes "
             "summary.md. Exit code 4 when a claim fails.",
             opts, pos, args, vm))
    return 0;
  apply_threads(vm);
  if (vm.count("list")) {
    if (!name.empty()) fail("--list: takes no figure name, got '{}'", name);
    return list_figure_files();
  }
  if (name.empty()) fail("reproduce: name a figure (icl reproduce --list shows them)");
  if (ro.scale != "quick" && ro.scale != "paper")
    fail("--scale: must be one of quick|paper, got '{}'", ro.scale);
  if (vm.count("seeds")) {
    ro.seeds = vm["seeds"].as<int64_t>();
    if (ro.seeds < 1 || ro.seeds > 1000) fail("--seeds: must be in [1, 1000], got {}", ro.seeds);
  }
  if (ro.device != "auto" && ro.device != "cpu" && ro.device != "cuda")
    fail("--device: must be one of auto|cpu|cuda, got '{}'", ro.device);
  if (ro.out_dir.empty()) fail("--out: must name a directory, got ''");
  ro.figures = !vm.count("no-figures");
  ro.smoke = vm.count("smoke") != 0;
  ro.command = "icl reproduce";
  for (const auto& a : args) ro.command += " " + a;

  const Figure figure = load_figure(name);
  const ReproduceResult r = reproduce(figure, ro);

  fmt::print("\n{} ({} scale{}): {} run(s) in {}\n", figure.name, ro.scale,
             ro.smoke ? ", smoke run" : "", r.runs.size(), format_duration(r.seconds));
  for (const auto& c : r.claims)
    fmt::print("  {:<16} {:<30} {}\n",
               ro.smoke && c.result.status != ClaimStatus::OtherScale ? "not judged"
                                                                      : c.result.status_text(),
               c.claim->id, c.result.numbers);
  if (!r.figure_png.empty()) fmt::print("figure: {} (and .pdf)\n", r.figure_png);
  if (!r.figure_error.empty())
    fmt::print(stderr, "icl: warning: figure not drawn: {}\n", r.figure_error);
  fmt::print("summary: {}/summary.md\n", r.dir);
  if (const int n = r.failed()) {
    std::string ids;
    for (const auto& c : r.claims)
      if (c.result.status == ClaimStatus::Fails) ids += (ids.empty() ? "" : ", ") + c.claim->id;
    std::fflush(stdout);
    fmt::print(stderr, "icl: reproduce {}: {} of {} claims fail: {}\n", figure.name, n,
               r.claims.size(), ids);
    return 4;
  }
  return 0;
}

}  // namespace icl::cli

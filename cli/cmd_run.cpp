#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "core/error.h"
#include "core/mpi.h"
#include "core/progress.h"
#include "eval/results.h"
#include "run/run_file.h"
#include "run/run_to_file.h"

namespace icl::cli {

namespace fs = std::filesystem;

int cmd_run(const Args& args) {
  po::options_description opts("options");
  std::string bench, out;
  std::vector<std::string> sets;
  opts.add_options()("benchmark", po::value(&bench)->required(), "benchmark name or config file")(
      "set", po::value(&sets)->composing(),
      "override a config field: --set task.d=10 (repeatable)")(
      "out,o", po::value(&out), "results file (default results/<benchmark>.h5)")(
      "seed", po::value<uint64_t>(), "seed (overrides the config's)")(
      "no-figures", "do not draw figures after the run")(
      "resume", po::value<std::string>(),
      "continue training from the checkpoint in this results file")(
      "force",
      "with --resume: continue even where the config trains differently from the checkpoint's "
      "run (every change is recorded in the file's resume_log)")(
      "until", po::value<int64_t>(),
      "train only up to this step, save the checkpoint, skip evaluation")(
      "device", po::value<std::string>()->default_value("auto"),
      "where the model trains: auto (a GPU when there is one), cpu or cuda");
  po::positional_options_description pos;
  pos.add("benchmark", 1);
  add_threads_option(opts);
  po::variables_map vm;
  if (!parse(
          "run", "<benchmark> [--set key=value]... [--out FILE.h5] [--seed N]",
          "Runs a named benchmark (see icl list) or a config file, writes one results.h5, prints a "
          "summary table and draws the figures.",
          opts, pos, args, vm))
    return 0;
  apply_threads(vm);
  if (vm.count("seed")) sets.push_back(fmt::format("seed={}", vm["seed"].as<uint64_t>()));

  const ResolvedRun run = load_run(bench, sets);
  if (vm.count("out") && out.empty()) fail("--out: must name a file, got ''");
  if (out.empty()) out = "results/" + run.name + ".h5";
  RunRequest req;
  req.out = out;
  req.options.on_start = [&] {
    if (run.bandit) {
      fmt::print(stderr, "icl run {}: {} policies on {} bandit environments, seed {}\n", run.name,
                 run.bandit->policies.size(), run.bandit->rollout.environments, run.seed);
      return;
    }
    fmt::print(stderr, "icl run {}: {}{} evaluation set(s), {} baseline(s), seed {}\n", run.name,
               run.has_model()
                   ? fmt::format("training {} for {} steps, ", run.model->name, run.train.steps)
                   : "",
               run.evals.size(), run.baselines.size(), run.seed);
  };
  req.on_note = [](const std::string& line) { fmt::print(stderr, "icl: note: {}\n", line); };
  RunOptions& ro = req.options;
  ro.device = vm["device"].as<std::string>();
  // Checked here, also for runs that train nothing (where it would otherwise go unread).
  if (ro.device != "auto" && ro.device != "cpu" && ro.device != "cuda")
    fail("--device: must be one of auto|cpu|cuda, got '{}'", ro.device);
  if (vm.count("resume")) ro.resume = vm["resume"].as<std::string>();
  if (vm.count("until")) {
    ro.until = vm["until"].as<int64_t>();
    if (ro.until < 1) fail("--until: must be >= 1, got {}", ro.until);
    if (!run.has_model()) fail("--until: benchmark {} trains no model", run.name);
  }
  if (!ro.resume.empty() && !run.has_model())
    fail("--resume: benchmark {} trains no model", run.name);
  req.force = vm.count("force") != 0;
  if (req.force && ro.resume.empty()) fail("--force: only means something with --resume");
  // Data parallelism (core/mpi.h): every rank trains the same model in step, and only rank 0
  // writes the results file and its checkpoints and prints; the others write theirs to a
  // temporary file of their own, removed at the end.
  const mpi::World& world = mpi::world();
  if (world.rank != 0) {
    req.out = (fs::temp_directory_path() / fmt::format("icl_rank{}_{}.h5", world.rank, getpid()))
                  .string();
    ro.progress = false;
    ro.on_start = [] {};
    req.on_note = [](const std::string&) {};
    run_to_file(run, req);
    std::error_code ec;
    fs::remove(req.out, ec);
    fs::remove(partial_path(req.out), ec);
    return 0;
  }
  const BenchmarkResult res = run_to_file(run, req);
  fmt::print("\n");
  if (res.trained_steps)
    fmt::print("trained {} for {} steps, final training loss {:.5f}\n", run.model->name,
               res.trained_steps, res.final_loss);
  if (res.stopped_early) {
    fmt::print("checkpoint at step {} saved in {} in {} (continue with --resume {})\n",
               res.trained_steps, res.checkpoint_path, format_duration(res.seconds),
               res.checkpoint_path);
    return 0;
  }
  for (const auto& e : res.evals) fmt::print("{}\n", summary_table(e));
  if (!res.regret.empty())
    fmt::print("{}\n",
               regret_table(run.bandit->setup, run.bandit->rollout.environments, res.regret));
  fmt::print("wrote {} in {}\n", out, format_duration(res.seconds));
  if (!vm.count("no-figures") && (!res.evals.empty() || !res.regret.empty())) {
    const fs::path p(out);
    const std::string dir = (p.parent_path() / (p.stem().string() + "_figures")).string();
    std::fflush(stdout);  // the table before the figure script's own lines, also in a log
    if (draw_figures(out, dir, true) != 0)
      fmt::print(stderr, "icl: warning: figures not drawn (results are complete: icl report {})\n",
                 out);
  }
  return 0;
}

}  // namespace icl::cli

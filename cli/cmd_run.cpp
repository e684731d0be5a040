#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "core/mpi.h"
#include "core/progress.h"
#include "core/python.h"
#include "eval/results.h"
#include "run/replicas.h"
#include "run/run_file.h"
#include "run/run_to_file.h"

namespace icl::cli {

namespace fs = std::filesystem;

namespace {

// `s` as a shell word: as it is when it needs no quoting.
std::string shell_word(const std::string& s) {
  const bool plain = !s.empty() && s.find_first_not_of(
                                       "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"
                                       "QRSTUVWXYZ0123456789_-+.,=/:@") == std::string::npos;
  return plain ? s : shell_quote(s);
}

const char* const kReplicaKeys[] = {"replicas", "replica_seeds", "replica_lrs"};

// The command that runs replica `r` of `all` alone, as the single run it is: this command's
// overrides without the seed and the replica keys, then the replica keys turned off, its learning
// rate, its seed and `extra` (--resume FILE --out FILE).
std::string alone_command(const std::string& bench, const std::vector<std::string>& sets,
                          const ResolvedRun& all, const Replica& r, const std::string& extra) {
  std::string cmd = "icl run " + shell_word(bench);
  for (const auto& s : sets) {
    const std::string key = s.substr(0, s.find('='));
    bool replica_key = key == "seed";
    for (const char* k : kReplicaKeys) replica_key |= key == std::string("train.") + k;
    if (!replica_key) cmd += " --set " + shell_word(s);
  }
  for (const auto& k : all.replicas.keys)
    cmd += k == "replicas" ? " --set train.replicas=1" : fmt::format(" --set train.{}=null", k);
  if (!r.lr_text.empty()) cmd += " --set " + shell_word("train.lr=" + r.lr_text);
  return cmd + fmt::format(" --seed {}{}", r.seed, extra);
}

// "5, 9, 11"; "0.001, 0.0003"
template <class T>
std::string joined(const std::vector<Replica>& rs, T Replica::*member) {
  std::string out;
  for (const auto& r : rs) out += fmt::format("{}{}", out.empty() ? "" : ", ", r.*member);
  return out;
}

// train.replicas (run/replicas.h): every replica's single run into its own file, side by side;
// a table of them at the end, one error line per replica that failed, and the interrupted ones'
// checkpoints named.
int run_replica_set(const ResolvedRun& all, const std::string& bench,
                    const std::vector<std::string>& sets, const std::string& out,
                    const po::variables_map& vm) {
  const std::vector<Replica>& reps = all.replicas.runs;
  const bool by_lr = all.replicas.by_lr();
  const Replica& first = reps.front();
  const std::string first_file = replica_path(out, first, by_lr);
  if (vm.count("resume"))
    fail(
        "--resume: train.replicas trains {} models, each into its own file; resume each "
        "replica's file on its own, as the single run it is: {}",
        reps.size(),
        alone_command(bench, sets, all, first,
                      fmt::format(" --resume {0} --out {0}", shell_word(first_file))));
  const mpi::World& world = mpi::world();
  if (world.size > 1)
    fail(
        "train.replicas: {} replicas with {} MPI ranks; data-parallel training trains one model "
        "(run the replicas without an MPI launcher, or each seed as a data-parallel run of its "
        "own)",
        reps.size(), world.size);

  const std::vector<ResolvedRun> runs = replica_runs(bench, sets);
  std::vector<ReplicaJob> jobs;
  for (size_t i = 0; i < runs.size(); ++i) {
    ReplicaJob j;
    j.run = &runs[i];
    j.label = replica_label(reps[i]);
    j.req.out = replica_path(out, reps[i], by_lr);
    j.req.options.device = vm["device"].as<std::string>();
    if (vm.count("until")) j.req.options.until = vm["until"].as<int64_t>();
    j.req.on_note = [](const std::string& line) { fmt::print(stderr, "icl: note: {}\n", line); };
    jobs.push_back(std::move(j));
  }
  ReplicaOptions ro;
  ro.on_start = [&](const ReplicaPlacement& place) {
    fmt::print(
        stderr,
        "icl run {}: {} replicas in one process, training {} for {} steps each; seeds {}; "
        "{}; {}; {}\n",
        all.name, reps.size(), all.model->name, all.train.steps, joined(reps, &Replica::seed),
        by_lr ? "lrs " + joined(reps, &Replica::lr) : fmt::format("lr {} each", first.lr),
        place.text(),
        all.bandit ? fmt::format("{} policies on {} bandit environments",
                                 all.bandit->policies.size(), all.bandit->rollout.environments)
                   : fmt::format("{} evaluation set(s), {} baseline(s)", all.evals.size(),
                                 all.baselines.size()));
  };
  const std::vector<ReplicaOutcome> done = run_replicas(jobs, ro);

  // One row per replica.
  std::vector<std::vector<std::string>> rows = {
      {"replica", "seed", "lr", "steps", "final loss", "train eval", "file"}};
  int failed = 0, interrupted = 0, sig = 0;
  double seconds = 0;
  bool stopped = false;
  for (size_t i = 0; i < done.size(); ++i) {
    const ReplicaOutcome& o = done[i];
    const BenchmarkResult& r = o.result;
    std::vector<std::string> row = {std::to_string(i), std::to_string(reps[i].seed),
                                    fmt::format("{}", reps[i].lr)};
    switch (o.status) {
      case ReplicaOutcome::Completed:
        seconds = std::max(seconds, r.seconds);
        stopped |= r.stopped_early;
        row.insert(row.end(), {std::to_string(r.trained_steps), fmt::format("{:.5g}", r.final_loss),
                               std::isnan(r.final_eval) ? "-" : fmt::format("{:.4g}", r.final_eval),
                               r.stopped_early ? fmt::format("{} (checkpoint)", r.checkpoint_path)
                                               : jobs[i].req.out});
        break;
      case ReplicaOutcome::Failed:
        ++failed;
        row.insert(row.end(), {"-", "-", "-", "failed (below)"});
        break;
      case ReplicaOutcome::Interrupted:
        ++interrupted;
        sig = o.signal;
        row.insert(row.end(), {"-", "-", "-", "interrupted (below)"});
        break;
      case ReplicaOutcome::NotStarted:
        row.insert(row.end(), {"-", "-", "-", "not started (interrupted)"});
        break;
    }
    rows.push_back(std::move(row));
  }
  std::vector<size_t> width(rows.front().size(), 0);
  for (const auto& row : rows)
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  fmt::print("\n");
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c)
      line += c + 1 < row.size() ? fmt::format("{:<{}}  ", row[c], width[c]) : row[c];
    fmt::print("{}\n", line);
  }
  const size_t ok = done.size() - size_t(failed + interrupted) -
                    size_t(std::count_if(done.begin(), done.end(), [](const ReplicaOutcome& o) {
                      return o.status == ReplicaOutcome::NotStarted;
                    }));
  fmt::print(
      "{} of {} replicas {} in one process (train eval: the last evaluation during "
      "training; icl report FILE for a replica's tables)\n",
      ok, done.size(), stopped ? "stopped at --until" : "written");
  if (stopped)
    fmt::print("continue each replica alone, e.g.: {}\n",
               alone_command(bench, sets, all, first,
                             fmt::format(" --resume {0} --out {0}", shell_word(first_file))));
  if (!vm.count("no-figures") && !stopped) {
    std::vector<std::string> dirs;
    std::fflush(stdout);
    for (size_t i = 0; i < done.size(); ++i) {
      if (done[i].status != ReplicaOutcome::Completed) continue;
      const fs::path p(jobs[i].req.out);
      const std::string dir = (p.parent_path() / (p.stem().string() + "_figures")).string();
      if (draw_figures(jobs[i].req.out, dir, true) == 0)
        dirs.push_back(dir);
      else
        fmt::print(stderr,
                   "icl: warning: figures of {} not drawn (results are complete: icl report {})\n",
                   jobs[i].req.out, jobs[i].req.out);
    }
    if (!dirs.empty()) fmt::print("figures: {}\n", fmt::join(dirs, ", "));
  }
  std::fflush(stdout);
  for (size_t i = 0; i < done.size(); ++i)
    if (done[i].status == ReplicaOutcome::Failed)
      fmt::print(stderr, "icl: error: replica {} ({}): {}\n", i, jobs[i].label, done[i].message);
  if (interrupted) {
    for (size_t i = 0; i < done.size(); ++i)
      if (done[i].status == ReplicaOutcome::Interrupted) {
        // Without the single run's "(continue with --resume FILE)": a replica continues alone,
        // with the command below.
        std::string m = done[i].message;
        m = m.substr(0, m.find(" (continue with --resume "));
        fmt::print(stderr, "icl: replica {} ({}): {}\n", i, jobs[i].label, m);
      }
    throw Interrupted(
        sig,
        fmt::format("{} of {} replicas interrupted, each with its checkpoint saved; continue "
                    "each alone, e.g.: {}",
                    interrupted, done.size(),
                    alone_command(bench, sets, all, first,
                                  fmt::format(" --resume {0} --out {0}", shell_word(first_file)))));
  }
  return failed ? 1 : 0;
}

}  // namespace

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
          "summary table and draws the figures. With --set train.replicas=S (or "
          "train.replica_seeds, train.replica_lrs) it trains S models of the config side by side "
          "in one process (one per CPU thread; in turn on a GPU), each exactly the single run at "
          "its seed and lr, into FILE.seed<s>.h5 each (README, \"Many replicas in one process\").",
          opts, pos, args, vm))
    return 0;
  apply_threads(vm);
  if (vm.count("seed")) sets.push_back(fmt::format("seed={}", vm["seed"].as<uint64_t>()));

  const ResolvedRun run = load_run(bench, sets);
  if (vm.count("out") && out.empty()) fail("--out: must name a file, got ''");
  if (out.empty()) out = "results/" + run.name + ".h5";
  if (!run.replicas.runs.empty()) {
    const std::string device = vm["device"].as<std::string>();
    if (device != "auto" && device != "cpu" && device != "cuda")
      fail("--device: must be one of auto|cpu|cuda, got '{}'", device);
    if (vm.count("until") && vm["until"].as<int64_t>() < 1)
      fail("--until: must be >= 1, got {}", vm["until"].as<int64_t>());
    if (vm.count("force") && !vm.count("resume"))
      fail("--force: only means something with --resume");
    return run_replica_set(run, bench, sets, out, vm);
  }
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

// icl sweep FILE: a sweep file's runs (sweep/spec.h), locally, as a Slurm job array, or shared
// over MPI ranks; icl sweep collect FILE: their summary (sweep/collect.h).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "core/error.h"
#include "core/python.h"
#include "core/threads.h"
#include "run/resolved_run.h"
#include "run/run_file.h"
#include "sweep/collect.h"
#include "sweep/execute.h"
#include "sweep/slurm.h"

#ifndef ICL_SWEEP_SCRIPT
#define ICL_SWEEP_SCRIPT "report/plot_sweep.py"
#endif

namespace icl::cli {

namespace fs = std::filesystem;

namespace {

std::string self_path() {
  std::error_code ec;
  const fs::path p = fs::read_symlink("/proc/self/exe", ec);
  if (ec) fail("sweep: cannot find the icl binary (/proc/self/exe: {})", ec.message());
  return p.string();
}

// What a run's file holds now, for --dry-run.
std::string state_of(const SweepSpec& spec, const SweepRun& r) {
  const RunPlan plan = plan_sweep_run(spec, r);
  if (plan.kind == RunPlan::Reuse) return "finished";
  if (plan.kind == RunPlan::Resume) return fmt::format("resumes at step {}", plan.step);
  return "to run";
}

// The summary: the table on stdout, OUT/sweep.h5 and its figure. Returns the summary's path.
std::string collect_and_report(const SweepSpec& spec, const std::string& out, bool figures) {
  const SweepCollection c = collect_sweep(spec);
  const std::string path = out.empty() ? (fs::path(spec.out) / "sweep.h5").string() : out;
  write_sweep_summary(spec, c, path);
  fmt::print("{}", sweep_table(c));
  fmt::print("wrote {} ({} of {} runs)\n", path, c.collected, spec.runs.size());
  if (figures) {
    const char* env = std::getenv("ICL_SWEEP_SCRIPT");
    const std::string script = env && *env ? env : ICL_SWEEP_SCRIPT;
    const std::string dir = (fs::path(path).parent_path() / "figures").string();
    std::fflush(stdout);
    std::string why;
    if (run_python(script, {path, "--out", dir}, &why) != 0)
      fmt::print(stderr, "icl: warning: sweep figure not drawn ({}); the summary is complete\n",
                 why.empty() ? "no Python with h5py and matplotlib" : why);
  }
  return path;
}

int cmd_collect(const Args& args) {
  po::options_description opts("options");
  std::string file, out;
  opts.add_options()("file", po::value(&file)->required(), "sweep file (.yaml)")(
      "out,o", po::value(&out), "summary file (default OUT/sweep.h5 of the sweep)")(
      "no-figures", "do not draw the figure");
  po::positional_options_description pos;
  pos.add("file", 1);
  po::variables_map vm;
  if (!parse("sweep collect", "FILE.yaml [--out FILE.h5]",
             "Merges a sweep's finished runs: per setting and curve the mean over seeds with a 95% "
             "interval, the best value of the selection axis (train.lr) per setting; writes one "
             "HDF5 summary, prints a table and draws a figure.",
             opts, pos, args, vm))
    return 0;
  if (vm.count("out") && out.empty()) fail("--out: must name a file, got ''");
  collect_and_report(read_sweep(file), out, !vm.count("no-figures"));
  return 0;
}

}  // namespace

int cmd_sweep(const Args& args) {
  if (!args.empty() && args.front() == "collect")
    return cmd_collect(Args(args.begin() + 1, args.end()));
  po::options_description opts("options");
  std::string file, device;
  int64_t parallel = 0, index = -1;
  SweepSlurm res;
  opts.add_options()("file", po::value(&file)->required(), "sweep file (.yaml)")(
      "dry-run", "list the runs (index, name, state) and run nothing")(
      "parallel", po::value(&parallel), "local runs at once (default: the file's)")(
      "index", po::value(&index),
      "run only the run with this index (what a Slurm array task runs)")(
      "device", po::value(&device)->default_value("auto"), "icl run --device for every run")(
      "slurm",
      "write an sbatch script for a job array (one task per run); submit it when sbatch "
      "is there, else print it")("no-submit", "with --slurm: write the script only")(
      "time", po::value<std::string>(), "with --slurm: time per task (default: the file's)")(
      "cpus-per-task", po::value<int64_t>(), "with --slurm: CPUs per task")(
      "mem", po::value<std::string>(), "with --slurm: memory per task")(
      "partition", po::value<std::string>(), "with --slurm: partition")(
      "gpus", po::value<int64_t>(), "with --slurm: GPUs per task")(
      "max-array-size", po::value<int64_t>(),
      "with --slurm: array tasks the cluster allows (default: its MaxArraySize from scontrol, "
      "else 1001); more runs share the tasks")("no-figures", "do not draw the summary's figure");
  po::positional_options_description pos;
  pos.add("file", 1);
  add_threads_option(opts);
  po::variables_map vm;
  if (!parse(
          "sweep",
          "FILE.yaml [--dry-run] [--parallel N] [--slurm [--no-submit]] | collect FILE.yaml",
          "Runs every run of a sweep file (a base benchmark, axes of --set overrides, seeds) into "
          "OUT/runs/<name>/, skipping finished runs and resuming stopped ones, then merges them "
          "(icl sweep collect). Locally N runs at once, each on its share of the CPUs; with "
          "--slurm as a job array; under mpirun each rank takes its share.",
          opts, pos, args, vm))
    return 0;
  apply_threads(vm);
  if (device != "auto" && device != "cpu" && device != "cuda")
    fail("--device: must be one of auto|cpu|cuda, got '{}'", device);
  if (vm.count("parallel") && parallel < 1) fail("--parallel: must be >= 1, got {}", parallel);
  if (vm.count("index") && index < 0) fail("--index: must be >= 0, got {}", index);
  const bool slurm = vm.count("slurm");
  for (const char* o :
       {"no-submit", "time", "cpus-per-task", "mem", "partition", "gpus", "max-array-size"})
    if (vm.count(o) && !slurm) fail("--{}: only means something with --slurm", o);
  const SweepSpec spec = read_sweep(file);

  if (vm.count("dry-run")) {
    fmt::print("sweep {}: {} runs of {} (out {})\n", spec.file, spec.runs.size(), spec.base,
               spec.out);
    for (const auto& r : spec.runs) {
      std::string sets;
      for (const auto& s : r.sets) sets += " --set " + s;
      fmt::print("{:>4}  {}  [{}]  {}\n", r.index, r.name, state_of(spec, r), sets.substr(1));
    }
    return 0;
  }

  if (slurm) {
    res = spec.slurm;
    if (vm.count("time")) res.time = vm["time"].as<std::string>();
    if (vm.count("cpus-per-task")) res.cpus_per_task = vm["cpus-per-task"].as<int64_t>();
    if (vm.count("mem")) res.mem = vm["mem"].as<std::string>();
    if (vm.count("partition")) res.partition = vm["partition"].as<std::string>();
    if (vm.count("gpus")) res.gpus = vm["gpus"].as<int64_t>();
    if (vm.count("max-array-size")) {
      res.max_array_size = vm["max-array-size"].as<int64_t>();
      if (res.max_array_size < 1)
        fail("--max-array-size: must be >= 1, got {}", res.max_array_size);
    }
    if (res.max_array_size == 0) res.max_array_size = slurm_max_array_size();
    if (res.cpus_per_task < 1) fail("--cpus-per-task: must be >= 1, got {}", res.cpus_per_task);
    if (res.gpus < 0) fail("--gpus: must be >= 0, got {}", res.gpus);
    const std::string cwd = fs::current_path().string();
    const std::string text =
        slurm_script(spec, res, self_path(), fs::absolute(file).string(), cwd, device);
    const fs::path dir = fs::path(spec.out);
    fs::create_directories(dir / "slurm");  // sbatch does not create the output directory
    const std::string script = (dir / "sweep.sbatch").string();
    {
      std::ofstream o(script);
      o << text;
      if (!o) fail("--slurm: cannot write {}", script);
    }
    const bool have_sbatch = std::system("command -v sbatch >/dev/null 2>&1") == 0;
    if (vm.count("no-submit") || !have_sbatch) {
      fmt::print("{}", text);
      fmt::print(stderr, "icl sweep: wrote {}{} (submit it with: sbatch {})\n", script,
                 have_sbatch ? "" : "; sbatch is not on PATH", script);
      return 0;
    }
    std::string reply;
    const int rc =
        command_output(fmt::format("sbatch --parsable {} 2>&1", shell_quote(script)), reply);
    if (rc == -1) fail("--slurm: cannot start sbatch");
    while (!reply.empty() && (reply.back() == '\n' || reply.back() == '\r')) reply.pop_back();
    if (rc != 0) fail("--slurm: sbatch refused {}: {}", script, reply);
    fmt::print(
        "submitted job array {} ({} tasks for {} runs, script {}); when it has run: icl sweep "
        "collect {}\n",
        reply, slurm_array_tasks(int64_t(spec.runs.size()), res.max_array_size), spec.runs.size(),
        script, file);
    return 0;
  }

  SweepOptions opt;
  opt.icl = self_path();
  opt.device = device;
  opt.parallel = parallel;
  opt.index = index;
  std::tie(opt.rank, opt.ranks) = mpi_rank_from_env();
  const SweepOutcome o = execute_sweep(spec, opt);
  const bool whole = opt.index < 0 && opt.ranks == 1;
  std::string failed;
  for (const auto& r : o.runs)
    if (r.status == "failed")
      failed += fmt::format("{}{} ({})", failed.empty() ? "" : "; ", r.run->name, r.error);
  if (whole) {
    fmt::print("\n");
    collect_and_report(spec, "", !vm.count("no-figures"));
  } else {
    fmt::print(stderr,
               "icl sweep: {} of {} run(s) done here{}; merge them with: icl sweep collect {}\n",
               o.runs.size() - size_t(o.failed()), o.runs.size(),
               opt.ranks > 1 ? fmt::format(" (rank {} of {})", opt.rank, opt.ranks) : "", file);
  }
  if (o.failed()) fail("{} of {} run(s) failed: {}", o.failed(), o.runs.size(), failed);
  return 0;
}

}  // namespace icl::cli

#include "sweep/execute.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <string_view>
#include <thread>

#include <fmt/format.h>

#include "core/error.h"
#include "core/interrupt.h"
#include "run/resolved_run.h"
#include "run/run_file.h"

namespace icl {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

int64_t SweepOutcome::failed() const {
  return std::count_if(runs.begin(), runs.end(),
                       [](const SweepRunOutcome& r) { return r.status == "failed"; });
}

std::pair<int64_t, int64_t> mpi_rank_from_env() {
  const auto number = [](const char* name, int64_t* v) {
    const char* s = std::getenv(name);
    if (!s) return false;
    const std::string t = s;
    const auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), *v);
    if (ec != std::errc() || p != t.data() + t.size())
      fail("{}: expected an integer from the MPI launcher, got '{}'", name, t);
    return true;
  };
  for (const auto& [rank_var, size_var] :
       {std::pair{"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"}, {"PMI_RANK", "PMI_SIZE"}}) {
    int64_t rank = 0, size = 0;
    if (!number(rank_var, &rank)) continue;
    if (!number(size_var, &size)) fail("{} is set but {} is not", rank_var, size_var);
    if (size < 1 || rank < 0 || rank >= size)
      fail("{}={} and {}={}: not a rank below the world size", rank_var, rank, size_var, size);
    return {rank, size};
  }
  return {0, 1};
}

std::vector<int64_t> sweep_share(int64_t runs, const SweepOptions& opt) {
  if (opt.index >= 0) {
    if (opt.index >= runs)
      fail("--index: must be below the sweep's {} runs (0 to {}), got {}", runs, runs - 1,
           opt.index);
    return {opt.index};
  }
  std::vector<int64_t> out;
  for (int64_t i = opt.rank; i < runs; i += opt.ranks) out.push_back(i);
  return out;
}

RunPlan plan_sweep_run(const SweepSpec& spec, const SweepRun& r) {
  const ResolvedRun run = load_run(spec.base, r.sets);
  return plan_run(r.path, YAML::Load(run.yaml()), run.has_model() ? run.train.steps : 0);
}

std::vector<int> slot_cpus(const std::vector<int>& cpus, int64_t slot, int64_t slots) {
  const int64_t n = int64_t(cpus.size());
  if (slots > n) return {cpus[size_t(slot % n)]};
  return {cpus.begin() + slot * n / slots, cpus.begin() + (slot + 1) * n / slots};
}

namespace {

std::vector<int> affinity_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof(set), &set) == 0)
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &set)) cpus.push_back(c);
  if (cpus.empty()) cpus.push_back(0);
  return cpus;
}

std::string cpu_list(const std::vector<int>& cpus) {
  if (cpus.size() == 1) return fmt::format("CPU {}", cpus[0]);
  return fmt::format("CPUs {}-{}", cpus.front(), cpus.back());
}

// The last non-empty line of a run's log (what a failed run said last).
std::string last_line(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line))
    if (line.find_first_not_of(" \t\r") != std::string::npos) last = line;
  return last.empty() ? "(its log is empty)" : last;
}

struct Running {
  pid_t pid = 0;
  size_t pos = 0;  // in the share
  Clock::time_point start;
  int64_t slot = 0;
  bool resumed = false;
};

// Starts `icl run` for one run in a child pinned to `cpus`, its output appended to `log`.
pid_t start(const std::vector<std::string>& args, const std::vector<int>& cpus,
            const std::string& log) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  // A run is a process of its own, not a rank of the sweep's MPI job: the launcher's variables
  // stay with the sweep (core/mpi.h would otherwise make the run join the job).
  std::vector<char*> envp;
  for (char** e = environ; *e; ++e) {
    const std::string_view v(*e);
    if (v.starts_with("OMPI_") || v.starts_with("PMI_") || v.starts_with("PMIX_")) continue;
    envp.push_back(*e);
  }
  envp.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) fail("cannot start a run: fork failed");
  if (pid == 0) {  // the child: only async-signal-safe calls until execv
    cpu_set_t set;
    CPU_ZERO(&set);
    for (const int c : cpus) CPU_SET(c, &set);
    sched_setaffinity(0, sizeof(set), &set);
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    const int null = open("/dev/null", O_RDONLY);
    if (fd < 0 || null < 0) _exit(127);
    dup2(null, STDIN_FILENO);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  return pid;
}

}  // namespace

SweepOutcome execute_sweep(const SweepSpec& spec, const SweepOptions& opt) {
  const std::vector<int64_t> share = sweep_share(int64_t(spec.runs.size()), opt);
  SweepOutcome out;
  out.runs.resize(share.size());
  const int64_t total = int64_t(spec.runs.size());
  int64_t parallel = opt.parallel > 0 ? opt.parallel : spec.parallel;
  if (opt.ranks > 1 || opt.index >= 0) parallel = 1;  // the launcher placed this process
  const int64_t slots = std::max<int64_t>(1, std::min<int64_t>(parallel, int64_t(share.size())));
  const std::vector<int> cpus = affinity_cpus();
  std::vector<bool> busy(size_t(slots), false);

  const auto say = [&](const SweepRun& r, const std::string& what) {
    if (opt.progress)
      fmt::print(stderr, "icl sweep: [{}/{}] {}: {}\n", r.index + 1, total, r.name, what);
  };

  interrupt::Deferral defer;  // a signal stops new runs; the running ones save and stop
  std::deque<size_t> pending;
  for (size_t i = 0; i < share.size(); ++i) pending.push_back(i);
  std::vector<Running> running;
  int forwarded = 0;
  while (true) {
    while (!pending.empty() && !interrupt::requested() && int64_t(running.size()) < slots) {
      const size_t pos = pending.front();
      pending.pop_front();
      const SweepRun& r = spec.runs[size_t(share[pos])];
      SweepRunOutcome& o = out.runs[pos];
      o.run = &r;
      const RunPlan plan = plan_sweep_run(spec, r);
      if (plan.kind == RunPlan::Reuse) {
        o.status = "skipped";
        say(r, "skipped (finished earlier: " + r.path + ")");
        continue;
      }
      const int64_t slot = std::find(busy.begin(), busy.end(), false) - busy.begin();
      const std::vector<int> mine = slot_cpus(cpus, slot, slots);
      fs::create_directories(fs::path(r.path).parent_path());
      std::vector<std::string> args = {opt.icl, "run", spec.base};
      for (const auto& s : r.sets) args.insert(args.end(), {"--set", s});
      args.insert(args.end(), {"--out", r.path, "--no-figures", "--device", opt.device, "--threads",
                               std::to_string(mine.size())});
      if (plan.kind == RunPlan::Resume) args.insert(args.end(), {"--resume", plan.resume_from});
      const std::string log = (fs::path(r.path).parent_path() / "log.txt").string();
      ++o.attempts;
      running.push_back(
          {start(args, mine, log), pos, Clock::now(), slot, plan.kind == RunPlan::Resume});
      busy[size_t(slot)] = true;
      say(r, fmt::format(
                 "{} on {}{}",
                 plan.kind == RunPlan::Resume ? fmt::format("resuming from step {}", plan.step)
                                              : "running",
                 cpu_list(mine), o.attempts > 1 ? fmt::format(" (attempt {})", o.attempts) : ""));
    }
    if (running.empty()) break;
    // A signal for the sweep goes to its runs too (once), which save their checkpoints.
    if (const int sig = interrupt::requested(); sig && !forwarded) {
      forwarded = sig;
      for (const auto& run : running) kill(run.pid, sig);
    }
    int status = 0;
    const pid_t done = waitpid(-1, &status, WNOHANG);
    if (done <= 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    const auto it = std::find_if(running.begin(), running.end(),
                                 [&](const Running& x) { return x.pid == done; });
    if (it == running.end()) continue;  // not one of ours
    const Running job = *it;
    running.erase(it);
    busy[size_t(job.slot)] = false;
    const SweepRun& r = spec.runs[size_t(share[job.pos])];
    SweepRunOutcome& o = out.runs[job.pos];
    o.seconds += std::chrono::duration<double>(Clock::now() - job.start).count();
    const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (ok) {
      o.status = job.resumed ? "resumed" : "ran";
      say(r, fmt::format("finished in {:.1f} s", o.seconds));
      continue;
    }
    const std::string log = (fs::path(r.path).parent_path() / "log.txt").string();
    o.error = fmt::format("{}: {}",
                          WIFEXITED(status) ? fmt::format("exit {}", WEXITSTATUS(status))
                                            : fmt::format("signal {}", WTERMSIG(status)),
                          last_line(log));
    if (o.attempts <= spec.retries && !interrupt::requested()) {
      say(r, fmt::format("failed ({}); trying again", o.error));
      pending.push_front(job.pos);
    } else {
      o.status = "failed";
      say(r, fmt::format("failed ({}); log: {}", o.error, log));
    }
  }
  if (const int sig = interrupt::requested()) {
    int64_t done = 0;
    for (const auto& o : out.runs) done += o.status == "ran" || o.status == "resumed";
    throw Interrupted(sig, fmt::format("sweep interrupted: {} run(s) finished; the stopped ones "
                                       "saved their checkpoints (the same command continues)",
                                       done));
  }
  return out;
}

}  // namespace icl

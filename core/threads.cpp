#include "core/threads.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>

#include <omp.h>

#include "core/error.h"

namespace icl::threads {
namespace {

// Rounds of libgomp's wait loop before an idle thread sleeps (core/threads.h: measured).
constexpr const char* kSpinCount = "500";

// A positive integer, or 0 when `text` is not one.
int positive(const std::string& text) {
  int v = 0;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  return ec == std::errc() && p == text.data() + text.size() && v > 0 ? v : 0;
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

}  // namespace

Plan plan(const Inputs& in) {
  if (in.requested > 0) return {in.requested, "--threads"};
  if (!in.omp_env.empty()) {
    // OpenMP allows a list ("4,2": nested levels); the first level is the one icl uses.
    const std::string first = in.omp_env.substr(0, in.omp_env.find(','));
    const int n = positive(first);
    if (n == 0)
      fail(
          "OMP_NUM_THREADS: must be a positive integer (or a comma-separated list of them), got "
          "'{}'",
          in.omp_env);
    return {n, "OMP_NUM_THREADS"};
  }
  Plan p{std::max(in.affinity_cpus, 1), "CPU affinity"};
  // Ranks started without binding all see the whole machine: each takes its share.
  const int ranks = positive(in.local_ranks);
  if (ranks > 1 && in.affinity_cpus >= in.online_cpus)
    p = {std::max(1, in.affinity_cpus / ranks), "MPI ranks on this node"};
  if (!in.slurm_cpus.empty()) {
    const int n = positive(in.slurm_cpus);
    if (n == 0) fail("SLURM_CPUS_PER_TASK: must be a positive integer, got '{}'", in.slurm_cpus);
    if (n < p.threads) p = {n, "SLURM_CPUS_PER_TASK"};
  }
  return p;
}

Inputs current(int requested) {
  Inputs in;
  in.requested = requested;
  in.omp_env = env("OMP_NUM_THREADS");
  in.slurm_cpus = env("SLURM_CPUS_PER_TASK");
  in.local_ranks = env("OMPI_COMM_WORLD_LOCAL_SIZE");
  if (in.local_ranks.empty()) in.local_ranks = env("MPI_LOCALNRANKS");
  cpu_set_t set;
  CPU_ZERO(&set);
  in.online_cpus = std::max(1, int(sysconf(_SC_NPROCESSORS_ONLN)));
  in.affinity_cpus =
      sched_getaffinity(0, sizeof(set), &set) == 0 ? std::max(1, CPU_COUNT(&set)) : in.online_cpus;
  return in;
}

Plan apply(int requested) {
  const Plan p = plan(current(requested));
  omp_set_num_threads(p.threads);
  return p;
}

int in_use() { return omp_get_max_threads(); }

void ensure_wait_policy(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT") ||
      std::getenv("ICL_WAIT_POLICY_SET"))
    return;
  setenv("GOMP_SPINCOUNT", kSpinCount, 1);
  setenv("ICL_WAIT_POLICY_SET", "1", 1);
  execv("/proc/self/exe", argv);
  // execv returned: it failed (no /proc, say). Go on spinning rather than not at all.
}

}  // namespace icl::threads

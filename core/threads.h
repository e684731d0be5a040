#pragma once
// How many OpenMP threads a process of icl uses, and how its idle threads wait.
//
// Why: two runs sharing this 2-core machine fell from 32 to 3.5 steps/s each. libgomp's idle
// threads spin (300000 rounds, milliseconds) at every barrier before they sleep, so while one
// process held the cores the other's threads burned them waiting. Measured with
// bench/shared_machine.sh (quickstart, 400 steps, 2 cores; whole runs alone, then the throughput
// of two at once over two in a row):
//   spin (libgomp's default):     17.4 s alone (48 steps/s), 0.48x
//   OMP_WAIT_POLICY=passive:      19.2 s alone (44 steps/s: a sleep at every barrier), 1.31x
//   GOMP_SPINCOUNT=500 (icl's):   17.9 s alone (45 steps/s), 1.16x
// So icl
//   - spins briefly, then sleeps (GOMP_SPINCOUNT=500) unless the environment sets OMP_WAIT_POLICY
//     or GOMP_SPINCOUNT: libgomp reads them once, when it is loaded, so main() re-executes itself
//     with the setting (ensure_wait_policy);
//   - uses as many threads as the CPUs this process may use: its affinity mask, no more than
//     Slurm's --cpus-per-task, and a 1/L share of the mask when L ranks of an MPI job on this node
//     were started unbound (each would otherwise take every core);
//   - lets OMP_NUM_THREADS, then --threads N, replace that count.
#include <string>

namespace icl::threads {

// What the count is derived from; the pure part of plan(), for the tests.
struct Inputs {
  int requested = 0;        // --threads (0: not given)
  std::string omp_env;      // OMP_NUM_THREADS ("" when unset)
  std::string slurm_cpus;   // SLURM_CPUS_PER_TASK ("" when unset)
  std::string local_ranks;  // OMPI_COMM_WORLD_LOCAL_SIZE or MPI_LOCALNRANKS ("" when unset)
  int affinity_cpus = 1;    // CPUs in this process's affinity mask
  int online_cpus = 1;      // CPUs of the machine
};

struct Plan {
  int threads = 1;
  std::string source;  // "--threads", "OMP_NUM_THREADS", "CPU affinity", "SLURM_CPUS_PER_TASK",
                       // "MPI ranks on this node"
};

// The thread count (above). icl::Error naming the variable when OMP_NUM_THREADS or
// SLURM_CPUS_PER_TASK is set to something other than a positive integer.
Plan plan(const Inputs& in);

// This process's inputs: the environment and sched_getaffinity.
Inputs current(int requested);

// plan(current(requested)), applied with omp_set_num_threads; returns it. Called by every command
// that computes (run, eval, generate, reproduce, sweep).
Plan apply(int requested);

// The count a command is using now (after apply), for progress lines and results files.
int in_use();

// Called first in main(): when neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT is set, sets
// GOMP_SPINCOUNT=500 and re-executes this program (/proc/self/exe) with the same arguments;
// returns only when no re-execution was needed or it failed (then the run goes on with the
// runtime's default). ICL_WAIT_POLICY_SET marks the second start so that it never loops.
void ensure_wait_policy(char** argv);

}  // namespace icl::threads

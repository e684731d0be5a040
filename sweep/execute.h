#pragma once
// Running a sweep's runs: each as its own `icl run` process (so a run in a sweep is exactly the
// run `icl run` makes, and one that crashes takes nothing else down), writing OUT/runs/<name>/
// results.h5 with its output in log.txt beside it.
//
// - A run whose file holds it finished (the same resolved config) is skipped; one whose file, or
//   the .partial.h5 beside it, holds a checkpoint of it is resumed (run/run_file.h: plan_run).
// - Locally, `parallel` runs go at once, each pinned (sched_setaffinity) to its share of this
//   process's CPUs with as many threads; more runs than CPUs share them one thread each.
// - Under MPI (mpirun -np R icl sweep ...; OMPI_COMM_WORLD_RANK/SIZE, PMI_RANK/SIZE or
//   PMIX_RANK with OMPI_COMM_WORLD_SIZE), rank r takes the runs whose index i has i % R == r, one
//   at a time; a Slurm array task takes one index (--index).
// - A failed run (nonzero exit) is retried up to `retries` more times, resuming its checkpoint if
//   it left one; what failed is reported with the last line of its log.
// - SIGINT/SIGTERM: no further run starts; the running ones get the signal (they save a
//   checkpoint and stop), and the sweep ends as interrupted once they have.
#include <cstdint>
#include <string>
#include <vector>

#include "run/run_file.h"
#include "sweep/spec.h"

namespace icl {

struct SweepOptions {
  std::string icl;              // the icl binary each run is started with
  std::string device = "auto";  // icl run --device
  int64_t parallel = 0;         // 0: the file's
  int64_t index = -1;           // >= 0: only this run (a Slurm array task)
  int64_t rank = 0, ranks = 1;  // MPI: this rank's share
  bool progress = true;         // a line per run on stderr
};

struct SweepRunOutcome {
  const SweepRun* run = nullptr;
  std::string status;  // "ran", "resumed", "skipped" (finished earlier), "failed"
  int64_t attempts = 0;
  double seconds = 0;
  std::string error;  // a failed run's last log line and exit status
};

struct SweepOutcome {
  std::vector<SweepRunOutcome> runs;  // this process's share, in index order
  int64_t failed() const;
};

SweepOutcome execute_sweep(const SweepSpec& spec, const SweepOptions& opt);

// What run `r` needs now: skipped (finished), resumed from a checkpoint, or run afresh
// (run/run_file.h: plan_run on its resolved config).
RunPlan plan_sweep_run(const SweepSpec& spec, const SweepRun& r);

// This process's MPI rank and world size from the launcher's environment ({0, 1} outside MPI).
// icl::Error when the variables are set but are not a rank below a size.
std::pair<int64_t, int64_t> mpi_rank_from_env();

// The indices this process runs (above), in order.
std::vector<int64_t> sweep_share(int64_t runs, const SweepOptions& opt);

// The CPUs of slot `slot` of `slots` from the list `cpus` (contiguous shares; one CPU each, round
// robin, when there are more slots than CPUs).
std::vector<int> slot_cpus(const std::vector<int>& cpus, int64_t slot, int64_t slots);

}  // namespace icl

#pragma once
// train.replicas: several models of one config trained side by side in one process (README, "Many
// replicas in one process"; docs/DESIGN.md, "Replicas"). Each replica is an ordinary single run
// (replica_runs(), run/resolved_run.h: its own seed and learning rate) written through FileRun
// (run/run_to_file.h) into a results file of its own, so every rule of one run's output holds per
// file, and a replica's file holds, bit for bit, what the same run alone writes.
//
// On the CPU the replicas run concurrently, one per worker thread: W = min(S, thread count)
// workers take the replicas in order, and a replica's own parallel loops run on its worker alone.
// The kernels cut their work into fixed blocks whatever the thread count (core/blocks.h), so a
// replica trained on one thread gives the bits its run gives alone on all of them. What the
// workers share is serialised: HDF5 (io/h5.h: one process-wide lock), the table of temporary files
// a signal removes (io/atomic_output.cpp), and the lines printed (here: each run's own progress
// line is off, one line shows them all). On a GPU the replicas run one after another: correct,
// with no speed-up yet (each run builds its own CUDA context and captured graphs).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "run/resolved_run.h"
#include "run/run_to_file.h"

namespace icl {

// One replica to run: its single run (which must outlive run_replicas) and its request (results
// file, resume, until, device, its own on_start and on_note lines).
struct ReplicaJob {
  const ResolvedRun* run = nullptr;
  RunRequest req;
  std::string label;  // how messages name it: "seed 5, lr 0.001"
};

struct ReplicaOutcome {
  enum Status { NotStarted, Completed, Failed, Interrupted };
  Status status = NotStarted;  // NotStarted: a signal came before its turn
  BenchmarkResult result;      // Completed (stopped_early: --until)
  std::string message;         // Failed: its one-line error; Interrupted: where its checkpoint is
  int signal = 0;              // Interrupted: SIGINT or SIGTERM
};

// How the replicas are spread: `workers` at a time, on the GPU one after another.
struct ReplicaPlacement {
  int workers = 1;
  bool gpu = false;
  std::string text() const;  // "2 at a time, one CPU thread each" / "one after another on the GPU"
};
ReplicaPlacement replica_placement(const std::vector<ReplicaJob>& jobs);

struct ReplicaOptions {
  bool progress = true;  // one progress line for all (each run's own line is off)
  // After every job's checks, before any work: the place for a header line.
  std::function<void(const ReplicaPlacement&)> on_start;
};

// Does what run_to_file does for each job: first every job's checks and output, in order, on this
// thread (an error there is thrown before any work, and leaves nothing behind, as for one run);
// then the work, concurrently on the CPU (a 1/W share of the memory checked for each) or in turn
// on a GPU. A job that fails or is interrupted does not stop the others (nor corrupt their files:
// its own output is removed); its outcome says what happened. A SIGINT or SIGTERM stops every
// running job at its next step boundary with its checkpoint saved, and jobs not yet started are
// not started.
std::vector<ReplicaOutcome> run_replicas(std::vector<ReplicaJob> jobs,
                                         const ReplicaOptions& opt = {});

// The results file of replica `r` of a run writing `out`: "X.seed5.h5" for X.h5, and
// "X.seed5.lr0.001.h5" when the replicas differ by learning rate (`by_lr`): the name says what
// differs.
std::string replica_path(const std::string& out, const Replica& r, bool by_lr);
// "seed 5, lr 0.001"
std::string replica_label(const Replica& r);

}  // namespace icl

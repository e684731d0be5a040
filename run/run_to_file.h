#pragma once
// One run into one results file, with every check and rule of `icl run` (README, "Output files,
// resume and interruption"): memory and finite prompts before any work, the destination checked
// before any output, --resume's config comparison, checkpoints beside a file that holds another
// run, and those checkpoints removed once the run has completed. `icl run` and `icl reproduce`
// both run through here.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "run/resolved_run.h"
#include "run/run_benchmark.h"

namespace icl {

struct RunRequest {
  std::string out;     // the results file
  bool force = false;  // --force: resume even where the config trains differently
  // resume, until, device, progress, on_start; run_to_file fills in checkpoint_to and resume_log.
  RunOptions options;
  std::function<void(const std::string&)> on_note;  // a line for the user ("icl: note: ...")
};

BenchmarkResult run_to_file(const ResolvedRun& run, const RunRequest& req);

// run_to_file in its two halves, for a caller that checks several runs before any of them starts
// (train.replicas: run/replicas.h). The constructor does everything run_to_file does before any
// work: the memory and prompt checks, the output opened, the --resume comparison and where the
// checkpoints go (with its notes); run() then does the work, once. `run` must outlive this.
class FileRun {
 public:
  FileRun(const ResolvedRun& run, const RunRequest& req);
  BenchmarkResult run();

 private:
  const ResolvedRun& run_;
  RunRequest req_;  // with checkpoint_to and resume_log filled in
  std::unique_ptr<AtomicH5Output> file_;
  bool ran_ = false;
};

}  // namespace icl

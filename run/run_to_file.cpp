#include "run/run_to_file.h"

#include <filesystem>

#include <yaml-cpp/yaml.h>

#include <fmt/format.h>

#include "core/error.h"
#include "run/run_checks.h"
#include "run/run_file.h"

namespace icl {

FileRun::FileRun(const ResolvedRun& run, const RunRequest& req) : run_(run), req_(req) {
  // A config with train.replicas is one run per replica (replica_runs, run/replicas.h); every
  // command that takes configs turns it into those or refuses it.
  ICL_ASSERT(run.replicas.runs.empty());
  const auto note = [&](const std::string& line) {
    if (req_.on_note) req_.on_note(line);
  };
  check_run_memory(run);   // every evaluation set and the training batch, before any work
  check_run_prompts(run);  // the first prompts of every set and of training are finite
  // Before any output: a bad destination is the only message.
  file_ = std::make_unique<AtomicH5Output>(req_.out);
  RunOptions& ro = req_.options;
  const YAML::Node ours = YAML::Load(run.yaml());
  Resume resumed;
  if (!ro.resume.empty()) {
    resumed = check_resume(ro.resume, ours, req_.force);
    ro.resume_log = resumed.log;
  }
  if (run.has_model()) {
    ro.checkpoint_to = checkpoint_destination(file_->path(), ours, resumed.step, ro.resume);
    if (ro.checkpoint_to != file_->path())
      note(fmt::format(
          "{} already holds results, kept until this run completes; checkpoints go to {}", req_.out,
          ro.checkpoint_to));
  }
  for (const auto& n : resumed.notes) note(n);
}

BenchmarkResult FileRun::run() {
  ICL_ASSERT(!ran_);
  ran_ = true;
  BenchmarkResult res = run_benchmark(run_, *file_, req_.options);
  if (!res.stopped_early && !res.checkpoint_path.empty() && res.checkpoint_path != file_->path()) {
    std::error_code ec;  // the finished run is in place: the checkpoints beside it are done
    std::filesystem::remove(res.checkpoint_path, ec);
  }
  return res;
}

BenchmarkResult run_to_file(const ResolvedRun& run, const RunRequest& req) {
  return FileRun(run, req).run();
}

}  // namespace icl

#include "run/run_to_file.h"

#include <filesystem>

#include <yaml-cpp/yaml.h>

#include <fmt/format.h>

#include "io/atomic_output.h"
#include "run/run_checks.h"
#include "run/run_file.h"

namespace icl {

BenchmarkResult run_to_file(const ResolvedRun& run, const RunRequest& req) {
  const auto note = [&](const std::string& line) {
    if (req.on_note) req.on_note(line);
  };
  check_run_memory(run);         // every evaluation set and the training batch, before any work
  check_run_prompts(run);        // the first prompts of every set and of training are finite
  AtomicH5Output file(req.out);  // before any output: a bad destination is the only message
  RunOptions ro = req.options;
  const YAML::Node ours = YAML::Load(run.yaml());
  Resume resumed;
  if (!ro.resume.empty()) {
    resumed = check_resume(ro.resume, ours, req.force);
    ro.resume_log = resumed.log;
  }
  if (run.has_model()) {
    ro.checkpoint_to = checkpoint_destination(file.path(), ours, resumed.step, ro.resume);
    if (ro.checkpoint_to != file.path())
      note(fmt::format(
          "{} already holds results, kept until this run completes; checkpoints go to {}", req.out,
          ro.checkpoint_to));
  }
  for (const auto& n : resumed.notes) note(n);
  BenchmarkResult res = run_benchmark(run, file, ro);
  if (!res.stopped_early && !res.checkpoint_path.empty() && res.checkpoint_path != file.path()) {
    std::error_code ec;  // the finished run is in place: the checkpoints beside it are done
    std::filesystem::remove(res.checkpoint_path, ec);
  }
  return res;
}

}  // namespace icl

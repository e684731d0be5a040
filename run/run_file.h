#pragma once
// What a results file says about the run that wrote it, and how two runs' resolved configs differ:
// the checks behind `icl run --resume`, `icl eval --checkpoint` and the rule that a good results
// file is only replaced by a finished run or by a checkpoint of the run it holds (README, "Output
// files, resume and interruption").
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace icl {

struct RunFile {
  std::string path;
  std::string config_text;  // the root attribute `config`: the resolved config as written
  YAML::Node config;        // the same, parsed
  int64_t checkpoint = -1;  // the step of /checkpoint, or -1 when the file has none
  std::string resume_log;   // the root attribute `resume_log` ("" when never resumed)
};

// Reads `path`; an icl::Error names `what` (the option that named the file), the file and what is
// missing: not an HDF5 file, no `config` attribute (not written by icl run), a `config` that is
// not a YAML mapping, a /checkpoint without a valid step.
RunFile read_run_file(const std::string& path, const std::string& what);
// The same, but nothing when the file is missing or not a results file of icl run.
std::optional<RunFile> probe_run_file(const std::string& path);

// One setting that differs between two resolved configs ("train.lr", "0.001", "0.002"); a
// setting present on one side only shows "(absent)" on the other.
struct ConfigChange {
  enum Kind {
    Training,    // alters what is trained (seed, task, model, optimizer, schedule, batch, ...)
    Extension,   // train.steps: the run trains further (or stops earlier) on the same path
    Evaluation,  // what is measured after or beside training, not the weights
  };
  std::string key, before, now;
  Kind kind = Training;
};

std::vector<ConfigChange> config_changes(const YAML::Node& before, const YAML::Node& now);
// "train.lr 0.001 -> 0.002, seed 1 -> 2"
std::string describe_changes(const std::vector<ConfigChange>& changes);

// `icl run --resume PATH`: the checkpoint's step and the run's resume history with this resume
// appended. The config `now` (resolved) must train as the checkpoint's run did: a change that
// alters training is an icl::Error naming each such setting with both values, unless `force`.
// Extending train.steps and changing evaluation settings are allowed; every change, allowed or
// forced, is recorded in the log line. `notes` are lines for the user (a stretched schedule).
struct Resume {
  int64_t step = 0;
  std::string log;
  std::vector<std::string> notes;
};
Resume check_resume(const std::string& path, const YAML::Node& now, bool force);

// Where a run writing `out` keeps its checkpoints, starting from step `start` (0 fresh, else the
// resumed checkpoint's, read from `resume_from`, "" for none). `out` itself when it does not exist
// yet, is the file resumed from, or holds a checkpoint of this same run (nothing in `now` that
// trains differently) at a step <= start: the run continues there.
// Otherwise `out` holds something else that must survive until this run completes, and the
// checkpoints go to "<stem>.partial.h5" beside it; an icl::Error when that file holds anything but
// an earlier checkpoint of this run (naming it and how to continue or start over).
std::string checkpoint_destination(const std::string& out, const YAML::Node& now, int64_t start,
                                   const std::string& resume_from);
std::string partial_path(const std::string& out);  // "dir/x.h5" -> "dir/x.partial.h5"

// What to do with a run (resolved config `ours`, training `steps`) whose file `path` may exist from
// an earlier reproduce or sweep. Reuse: the file holds this run finished (the same resolved
// config). Resume: it, or the ".partial.h5" beside it, holds a checkpoint of this run (nothing
// that trains differently) at a step this run still reaches; resume_from names that file. Run:
// start afresh (a finished file of another run is kept until this one completes:
// run/run_to_file.h).
struct RunPlan {
  enum Kind { Run, Reuse, Resume } kind = Run;
  std::string resume_from;
  int64_t step = 0;
};
RunPlan plan_run(const std::string& path, const YAML::Node& ours, int64_t steps);
// `path` is an HDF5 file holding a finished run's results (/eval or /bandit).
bool holds_results(const std::string& path);

}  // namespace icl

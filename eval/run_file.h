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
  bool complete = false;    // holds evaluation or bandit results (not only a checkpoint)
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

}  // namespace icl

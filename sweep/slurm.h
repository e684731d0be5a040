#pragma once
// `icl sweep --slurm`: an sbatch script for a job array with one task per run. Each task runs
// `icl sweep FILE --index $SLURM_ARRAY_TASK_ID` in the directory the script was written from, so
// that a run's directory and its skip-or-resume rule are those of a local sweep; its output goes
// to OUT/slurm/<job>_<task>.out. Resources come from the file's `slurm:` section, replaced by the
// command line's --time, --cpus-per-task, --mem, --partition and --gpus.
#include <string>

#include "sweep/spec.h"

namespace icl {

// The script's text. `icl` and `spec_file` must be absolute; `workdir` is where the tasks run.
std::string slurm_script(const SweepSpec& spec, const SweepSlurm& resources, const std::string& icl,
                         const std::string& spec_file, const std::string& workdir,
                         const std::string& device);

}  // namespace icl

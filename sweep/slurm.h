#pragma once
// `icl sweep --slurm`: an sbatch script for a job array with one task per run. Each task runs
// `icl sweep FILE --index $SLURM_ARRAY_TASK_ID` in the directory the script was written from, so
// that a run's directory and its skip-or-resume rule are those of a local sweep; its output goes
// to OUT/slurm/<job>_<task>.out. Resources come from the file's `slurm:` section, replaced by the
// command line's --time, --cpus-per-task, --mem, --partition, --gpus and --max-array-size.
// A cluster refuses arrays longer than its MaxArraySize M (Slurm's default 1001): a sweep of more
// runs gets M tasks, task i running runs i, i + M, i + 2M, ... one after another (a failed run
// does not stop the later ones; the task then fails).
#include <string>

#include "sweep/spec.h"

namespace icl {

// The script's text. `icl` and `spec_file` must be absolute; `workdir` is where the tasks run.
// `resources.max_array_size` must be resolved (> 0).
std::string slurm_script(const SweepSpec& spec, const SweepSlurm& resources, const std::string& icl,
                         const std::string& spec_file, const std::string& workdir,
                         const std::string& device);

// Runs a shell command (sbatch, scontrol) and returns its exit status, -1 when it cannot start;
// `out` gets what it printed on stdout.
int command_output(const std::string& command, std::string& out);

// The cluster's MaxArraySize from `scontrol show config`; Slurm's default, 1001, when scontrol is
// missing or does not say.
int64_t slurm_max_array_size();

// Array tasks for n runs under a limit of m: min(n, m).
inline int64_t slurm_array_tasks(int64_t n, int64_t m) { return n < m ? n : m; }

}  // namespace icl

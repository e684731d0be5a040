#include "sweep/slurm.h"

#include <filesystem>

#include <fmt/format.h>

#include "core/error.h"
#include "core/python.h"

namespace icl {

namespace fs = std::filesystem;

namespace {
// An #SBATCH value may not hold a newline (it would end the directive and start a command).
std::string directive_value(const std::string& v, const std::string& what) {
  if (v.find_first_of("\n\r") != std::string::npos)
    fail("slurm {}: must be one line, got '{}'", what, v);
  return v;
}
}  // namespace

std::string slurm_script(const SweepSpec& spec, const SweepSlurm& res, const std::string& icl,
                         const std::string& spec_file, const std::string& workdir,
                         const std::string& device) {
  const std::string logs = (fs::path(workdir) / spec.out / "slurm").lexically_normal().string();
  std::string s = "#!/bin/bash\n";
  s += fmt::format("# Written by icl sweep --slurm: one array task per run of {} ({} runs).\n",
                   spec_file, spec.runs.size());
  s += fmt::format("#SBATCH --job-name=icl-sweep-{}\n", sweep_safe_name(spec.name));
  s += fmt::format("#SBATCH --array=0-{}\n", spec.runs.size() - 1);
  s += fmt::format("#SBATCH --cpus-per-task={}\n", res.cpus_per_task);
  s += fmt::format("#SBATCH --time={}\n", directive_value(res.time, "time"));
  s += fmt::format("#SBATCH --output={}/%A_%a.out\n", directive_value(logs, "output"));
  if (!res.mem.empty()) s += fmt::format("#SBATCH --mem={}\n", directive_value(res.mem, "mem"));
  if (!res.partition.empty())
    s += fmt::format("#SBATCH --partition={}\n", directive_value(res.partition, "partition"));
  if (res.gpus > 0) s += fmt::format("#SBATCH --gres=gpu:{}\n", res.gpus);
  for (const auto& e : res.extra) s += fmt::format("#SBATCH {}\n", directive_value(e, "extra"));
  s += "set -euo pipefail\n";
  s += fmt::format("cd {}\n", shell_quote(workdir));
  s += fmt::format("exec {} sweep {} --index \"$SLURM_ARRAY_TASK_ID\" --device {}\n",
                   shell_quote(icl), shell_quote(spec_file), shell_quote(device));
  return s;
}

}  // namespace icl

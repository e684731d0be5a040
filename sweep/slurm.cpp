#include "sweep/slurm.h"

#include <cstdio>
#include <filesystem>
#include <string>

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
  if (res.max_array_size < 1)
    fail("slurm max_array_size: must be >= 1, got {}", res.max_array_size);
  const int64_t runs = int64_t(spec.runs.size());
  const int64_t tasks = slurm_array_tasks(runs, res.max_array_size);
  s += fmt::format("#SBATCH --array=0-{}\n", tasks - 1);
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
  if (tasks == runs) {
    s += fmt::format("exec {} sweep {} --index \"$SLURM_ARRAY_TASK_ID\" --device {}\n",
                     shell_quote(icl), shell_quote(spec_file), shell_quote(device));
    return s;
  }
  // More runs than the cluster allows array tasks: every task takes every tasks-th run.
  s += fmt::format("# {} runs over {} array tasks (MaxArraySize): task i runs i, i + {}, ...\n",
                   runs, tasks, tasks);
  s += "status=0\n";
  s += fmt::format("for ((i = SLURM_ARRAY_TASK_ID; i < {}; i += {})); do\n", runs, tasks);
  s += fmt::format("  {} sweep {} --index \"$i\" --device {} || status=1\n", shell_quote(icl),
                   shell_quote(spec_file), shell_quote(device));
  s += "done\nexit $status\n";
  return s;
}

int command_output(const std::string& command, std::string& out) {
  out.clear();
  FILE* p = popen(command.c_str(), "r");
  if (!p) return -1;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  return pclose(p);
}

int64_t slurm_max_array_size() {
  std::string out;
  if (command_output("scontrol show config 2>/dev/null", out) != 0) return 1001;
  // A line "MaxArraySize            = 1001".
  const size_t at = out.find("MaxArraySize");
  if (at == std::string::npos) return 1001;
  const size_t eq = out.find('=', at);
  const size_t end = out.find('\n', at);
  if (eq == std::string::npos || eq > end) return 1001;
  try {
    const int64_t m = std::stoll(out.substr(eq + 1, end - eq - 1));
    return m > 0 ? m : 1001;
  } catch (const std::exception&) {
    return 1001;
  }
}

}  // namespace icl

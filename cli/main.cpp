// icl: run benchmarks, export prompts, draw figures, reproduce papers' figures. Exit codes: 0
// success, 1 a user error (one line on stderr naming what is wrong and what is allowed), 2 a bad
// command line, 3 an internal error, 4 a reproduced figure whose claims do not all hold.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <new>
#include <string>
#include <system_error>

#include <fmt/format.h>

#include "cli/commands.h"
#include "core/device.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "core/isa.h"
#include "core/threads.h"
#include "core/version.h"
#ifdef ICL_WITH_PYTHON
#include "python/embed.h"
#endif

namespace {

const char* kUsage =
    "usage: icl <command> [options]   (icl <command> --help for details)\n"
    "\n"
    "commands:\n"
    "  list       tasks, baselines, models and benchmarks\n"
    "  run        run a benchmark: icl run <benchmark> [--set key=value]... [--out FILE.h5] "
    "[--seed N]\n"
    "  generate   export prompts: icl generate <task> [--set k=v]... --prompts N --out FILE.h5\n"
    "  report     draw figures: icl report FILE.h5 [--out DIR]\n"
    "  eval       evaluate a trained model: icl eval --checkpoint RUN.h5 [--task T] [--set "
    "k=v]...\n"
    "  reproduce  reproduce a paper's figure and check its claims: icl reproduce NAME [--scale "
    "quick|paper]\n"
    "  sweep      run a sweep of a benchmark (axes of --set values, seeds) locally, on Slurm or "
    "MPI:\n"
    "             icl sweep FILE.yaml [--dry-run] [--slurm]; icl sweep collect FILE.yaml\n"
    "  version    version, commit and build options\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace icl::cli;
  icl::threads::ensure_wait_policy(argv);  // idle threads sleep, not spin (core/threads.h)
#ifdef ICL_WITH_PYTHON
  icl::py::enable_embedded_python();  // tasks written in Python (python/py_task.h)
#endif
  const std::map<std::string, int (*)(const Args&)> commands = {
      {"list", cmd_list},     {"run", cmd_run},   {"generate", cmd_generate},
      {"report", cmd_report}, {"eval", cmd_eval}, {"reproduce", cmd_reproduce},
      {"sweep", cmd_sweep}};
  if (argc < 2) {
    std::cerr << kUsage;
    return 2;
  }
  const std::string cmd = argv[1];
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::cout << kUsage;
    return 0;
  }
  if (cmd == "version" || cmd == "--version") {
    fmt::print("iclbench {} (commit {}, CPU code for {})\ndevices: {}\n", icl::version(),
               icl::git_commit(), icl::build_isa(), icl::device_summary());
    // How a command would use the CPU here (core/threads.h), and why.
    const auto env = [](const char* name) {
      const char* v = std::getenv(name);
      return fmt::format("{}={}", name, v ? v : "unset");
    };
    try {
      const icl::threads::Plan p = icl::threads::plan(icl::threads::current(0));
      fmt::print("cpu threads: {} ({}), {}, {}\n", p.threads, p.source, env("OMP_WAIT_POLICY"),
                 env("GOMP_SPINCOUNT"));
    } catch (const icl::Error& e) {
      fmt::print("cpu threads: {}\n", e.what());
    }
    return 0;
  }
  const auto it = commands.find(cmd);
  if (it == commands.end()) {
    fmt::print(stderr,
               "icl: error: unknown command '{}' (commands: list, run, generate, report, eval, "
               "reproduce, sweep, version)\n",
               cmd);
    return 2;
  }
  try {
    const int code = it->second(Args(argv + 2, argv + argc));
    // Output that could not be written (a full disk, a closed pipe) is an error, not a success.
    std::cout.flush();
    if (std::fflush(stdout) != 0 || std::ferror(stdout) || !std::cout) {
      const int err = errno;
      std::fprintf(stderr, "icl: error: cannot write to standard output: %s\n",
                   err ? std::strerror(err) : "write failed");
      return 1;
    }
    return code;
  } catch (const icl::Interrupted& e) {
    // Training stopped at a step boundary and saved its checkpoint; end as the signal would.
    std::fflush(stdout);
    fmt::print(stderr, "icl: {}\n", e.what());
    icl::interrupt::die_by(e.signal());
  } catch (const icl::UsageError& e) {
    fmt::print(stderr, "icl: error: {}\n", e.what());
    return 2;
  } catch (const icl::Error& e) {
    fmt::print(stderr, "icl: error: {}\n", e.what());
    return 1;
  } catch (const std::system_error& e) {
    // The operating system refused something: fmt's "cannot write to file" on a full disk or a
    // closed pipe, a filesystem call on a path. The user's to fix, not a bug.
    std::fprintf(
        stderr, "icl: error: %s\n",
        std::string(e.what()).find("cannot write to file") != std::string::npos
            ? fmt::format("cannot write to standard output: {}", e.code().message()).c_str()
            : e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    // A size the memory checks (core/memory.h) did not foresee: still the user's settings, not a
    // bug, and the message must not allocate.
    std::fputs(
        "icl: error: out of memory: an allocation failed; reduce the sizes set (prompts, "
        "examples, batch_size, dimensions)\n",
        stderr);
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "icl: internal error: {}\n", e.what());
    return 3;
  }
}

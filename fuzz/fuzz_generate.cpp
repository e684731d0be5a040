// fuzz_generate: `icl generate TASK --set k=v ... --prompts N --examples K --seed S --stream NAME`.
//
// Why: generate is the other way users feed arbitrary task parameters to every task family (and
// the only one that takes them without a config's structure around them), and it samples prompts
// straight away, so a parameter combination that validates but breaks a sampler (an index past a
// vocabulary, a maze grid beyond max_n, a degenerate covariance) shows up here first.
//
// Input: text lines: task name, --prompts, --examples, --seed, --stream, then up to 8 --set
// assignments (key=value). An empty line leaves that option out (its default, or the "required"
// error). The real subcommand (cli/cmd_generate.cpp) runs on them and writes its HDF5 file to
// /dev/shm.
//
// Sizes: generate checks its sizes against memory before allocating (eval/memory_estimate.h,
// check_generate_memory). The target sets that budget to ICL_MAX_MEMORY=64M, so any prompts x
// examples x task width the fuzzer writes is either refused in one line or small enough to sample
// fast; a std::bad_alloc that still escapes (an estimate that misses an allocation) is a finding.
#include <unistd.h>
#include <cstdio>
#include <cstdlib>

#include <fcntl.h>

#include <cerrno>
#include <cstring>

#include "cli/commands.h"
#include "core/error.h"
#include "fuzz/fuzz_common.h"

namespace {

std::string g_out;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::init_threads();
  setenv("ICL_MAX_MEMORY", "64M", 1);
  g_out = "/dev/shm/fuzz_generate_" + std::to_string(getpid()) + ".h5";
  std::atexit([] { std::remove(g_out.c_str()); });  // libFuzzer ends with exit(): nothing left
  // generate prints one "wrote ..." line per input; libFuzzer reports on stderr.
  const int null = open("/dev/null", O_WRONLY);
  if (null >= 0) dup2(null, STDOUT_FILENO);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 2048) return 0;
  std::vector<std::string> lines = fuzz::split(data, size, '\n', 13);
  lines.resize(std::max<size_t>(lines.size(), 5));
  for (const auto& l : lines) {
    if (l.find('\0') != std::string::npos) return 0;  // not expressible as a command-line argument
  }
  icl::cli::Args args;
  if (!lines[0].empty()) args.push_back(lines[0]);
  const char* flags[] = {"--prompts", "--examples", "--seed", "--stream"};
  for (int i = 0; i < 4; ++i)
    if (!lines[size_t(i) + 1].empty()) {
      args.push_back(flags[i]);
      args.push_back(lines[size_t(i) + 1]);
    }
  for (size_t i = 5; i < lines.size(); ++i) {
    args.push_back("--set");
    args.push_back(lines[i]);
  }
  args.push_back("--out");
  args.push_back(g_out);
  try {
    icl::cli::cmd_generate(args);
  } catch (const icl::Error&) {
    return 0;
  }
  return 0;
}

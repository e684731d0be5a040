#pragma once
// Helpers of the tests that drive the real `icl` binary (test_cli, test_bad_inputs, test_soak,
// test_reproduce).
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace icl::test {

// The outcome of one command.
struct Result {
  int code = -1;  // exit status; -1 when the process did not exit normally
  std::string out, err;
};

// `s` as one single-quoted shell word.
inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every entry (recursively) under `dir`, relative to it: what a failed command may not change.
inline std::set<std::string> listing(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::set<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec))
    out.insert(fs::relative(it->path(), dir).generic_string());
  return out;
}

// Starts `icl args...` (ICL_BINARY) in `dir` with stdout to /dev/null and stderr to dir/stderr;
// returns its pid, to stop it with a signal and wait_for it.
inline pid_t spawn_icl(const std::filesystem::path& dir, const std::vector<std::string>& args) {
  const pid_t pid = fork();
  if (pid == 0) {
    if (chdir(dir.c_str()) != 0) _exit(127);
    FILE* out = std::freopen("/dev/null", "w", stdout);
    FILE* err = std::freopen("stderr", "w", stderr);
    if (!out || !err) _exit(127);
    std::vector<char*> argv{const_cast<char*>(ICL_BINARY)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(ICL_BINARY, argv.data());
    _exit(127);
  }
  return pid;
}

// Waits up to `seconds` for the process; true (and its status) if it ended.
inline bool wait_for(pid_t pid, double seconds, int* status) {
  using Clock = std::chrono::steady_clock;
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  while (true) {
    if (waitpid(pid, status, WNOHANG) == pid) return true;
    if (Clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

}  // namespace icl::test

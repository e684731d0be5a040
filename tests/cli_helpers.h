#pragma once
// Helpers of the tests that drive the real `icl` binary (test_cli, test_bad_inputs, test_soak).
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

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

}  // namespace icl::test

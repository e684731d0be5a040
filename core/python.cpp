#include "core/python.h"

#include <sys/wait.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

namespace icl {

namespace fs = std::filesystem;

std::string python_interpreter() {
  if (const char* p = std::getenv("ICL_PYTHON"); p && *p) return p;
  if (::access("/usr/bin/python3", X_OK) == 0) return "/usr/bin/python3";
  return "python3";
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

int run_python(const std::string& script, const std::vector<std::string>& args,
               std::string* error_line) {
  std::string cmd = shell_quote(python_interpreter()) + " " + shell_quote(script);
  for (const auto& a : args) cmd += fmt::format(" {}", shell_quote(a));
  const fs::path err_file =
      fs::temp_directory_path() / fmt::format("icl_python_{}.err", ::getpid());
  cmd += fmt::format(" 2>{}", shell_quote(err_file.string()));
  std::fflush(stdout);  // our lines before the script's, also in a log
  const int status = std::system(cmd.c_str());
  std::string err, line, last;
  {
    std::ifstream in(err_file);
    while (std::getline(in, line)) {
      err += line + "\n";
      if (!line.empty()) last = line;
    }
  }
  std::error_code ec;
  fs::remove(err_file, ec);
  const int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
  if (rc != 0 && error_line)
    *error_line = last;
  else
    std::fputs(err.c_str(), stderr);
  return rc;
}

}  // namespace icl

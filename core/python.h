#pragma once
// The Python that runs the figure scripts and the Python-side tests: $ICL_PYTHON when set (a GPU
// machine's Python with h5py and matplotlib lives elsewhere, scripts/gpu_check.sh sets it), else
// the OS's /usr/bin/python3, whose numpy, h5py and matplotlib scripts/install-deps.sh installs,
// else the first python3 on PATH.
#include <string>
#include <vector>

namespace icl {

std::string python_interpreter();

// `s` as one single-quoted shell word (for command lines and scripts the program writes).
std::string shell_quote(const std::string& s);

// Runs `python_interpreter() script args...` and returns its exit code (127: no such Python). The
// script's stderr is kept aside: on success it is passed on as it was; on failure its last line
// (the script's own "error: ..." line) goes to *error_line when given, else to stderr with the
// rest.
int run_python(const std::string& script, const std::vector<std::string>& args,
               std::string* error_line = nullptr);

}  // namespace icl

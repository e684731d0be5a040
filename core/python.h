#pragma once
// The Python that runs the figure script and the Python-side tests: $ICL_PYTHON when set (a GPU
// machine's Python with h5py and matplotlib lives elsewhere, scripts/gpu_check.sh sets it), else
// the OS's /usr/bin/python3, whose numpy, h5py and matplotlib scripts/install-deps.sh installs,
// else the first python3 on PATH.
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace icl {

inline std::string python_interpreter() {
  if (const char* p = std::getenv("ICL_PYTHON"); p && *p) return p;
  if (::access("/usr/bin/python3", X_OK) == 0) return "/usr/bin/python3";
  return "python3";
}

}  // namespace icl

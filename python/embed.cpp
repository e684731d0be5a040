#include "python/embed.h"

#include <pybind11/embed.h>

#include <filesystem>

#include "python/bindings.h"
#include "python/py_task.h"

// Built into icl, so `import _iclbench` (which the package iclbench does) finds this copy of the
// library, with icl's own task registry, rather than loading the extension module beside it.
PYBIND11_EMBEDDED_MODULE(_iclbench, m) { icl::py::define_module(m); }

namespace icl::py {

namespace {

void start_interpreter() {
  pybind11::initialize_interpreter();
  {
    // The package iclbench of this build (build/python), ahead of an installed one; the current
    // directory, so that `module: mytasks:Task` finds ./mytasks.py as `python -m` would.
    auto path = pybind11::module_::import("sys").attr("path");
    path.attr("insert")(0, ".");
    if (std::filesystem::is_directory(ICL_PYTHON_BUILD_DIR))
      path.attr("insert")(0, ICL_PYTHON_BUILD_DIR);
  }
  // The GIL is released for good: tasks take it for each call, from whichever thread samples.
  PyEval_SaveThread();
}

}  // namespace

void enable_embedded_python() { install_python_task_resolver(&start_interpreter); }

}  // namespace icl::py

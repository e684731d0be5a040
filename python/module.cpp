// The extension module `_iclbench` (python/bindings.h): `import iclbench` loads it from
// build/python or site-packages.
#include <pybind11/pybind11.h>

#include "core/threads.h"
#include "python/bindings.h"
#include "python/py_task.h"

PYBIND11_MODULE(_iclbench, m) {
  // The thread count `icl` would use here (core/threads.h); iclbench.set_threads replaces it.
  icl::threads::apply(0);
  icl::py::install_python_task_resolver(nullptr);
  icl::py::define_module(m);
}

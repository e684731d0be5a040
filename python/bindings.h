#pragma once
// The C++ half of the Python package iclbench: the module `_iclbench`, built both as an extension
// module (python/module.cpp, for `import iclbench`) and as a module built into `icl` (python/
// embed.cpp, for tasks written in Python). Its Python half, python/iclbench/, is the public API
// and documents it; this half takes checked, plain arguments (parameters as text, arrays as
// contiguous float32).
#include <pybind11/pybind11.h>

namespace icl::py {

void define_module(pybind11::module_& m);

}  // namespace icl::py

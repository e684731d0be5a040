#pragma once
// Tasks written in Python for `icl` itself: a config naming `task: {name: python, module:
// pkg.mod:Class}` (or python:pkg.mod:Class) starts an interpreter inside icl, imports the module
// and samples the task through it (python/py_task.h). Nothing of Python is started otherwise.
namespace icl::py {

// Makes `icl` resolve python:... task names (cli/main.cpp calls it first thing).
void enable_embedded_python();

}  // namespace icl::py

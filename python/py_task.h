#pragma once
// Tasks written in Python (README, "Adding a task"). A class with
//   sample(self, rng, prompts, examples) -> xs [B, K, dx] (or [B, K]), ys [B, K] (or [B, K, dy])
//                                           [, truth [B, t]]
// whose dataclass fields are its parameters becomes a task like a built-in one: sampled by
// iclbench.sample, evaluated against every baseline that fits its shape, trained on and written to
// results.h5 by iclbench.run and by `icl run` (config `task: {name: python, module:
// pkg.mod:Class}`, which embeds the interpreter, python/embed.h). rng is a PromptRng
// (python/prompt_rng.h): prompt i comes from its own stream, so a Python task keeps the suite's
// rule that prompt i is a pure function of (seed, stream, i).
//
// The registry name is canonical, "python:<module>:<qualified class name>", so that a results file
// names a class `icl` can import again (resume, icl eval); iclbench.task(name=...) adds a short
// alias for the Python session. The class's optional attributes: metric ("squared_error" or
// "accuracy"), loss ("squared_error" or "logistic"; default: logistic for accuracy),
// normalisation (the metric's divisor, default 1), and check_examples(examples), which raises
// ValueError for a K it cannot sample.
#include <pybind11/pybind11.h>

#include <string>

#include "core/params.h"

namespace icl::py {

// Registers `cls` (its parameters already read by iclbench.task into `specs`) under its canonical
// name and, when not empty, `alias`. Returns the canonical name.
// A class registered again (a notebook cell run twice) replaces its earlier definition.
std::string register_python_task(pybind11::object cls, const ParamSpecs& specs,
                                 const std::string& alias);

// The canonical task name of a class: "python:<module>:<qualname>".
std::string canonical_name(pybind11::handle cls);

// Makes find_task resolve "python:<module>:<class>" by importing the module and registering the
// class (iclbench._resolve). start_interpreter: how `icl` starts its embedded interpreter the
// first time one is needed (python/embed.h); nullptr in the module, which runs inside one.
void install_python_task_resolver(void (*start_interpreter)());

}  // namespace icl::py

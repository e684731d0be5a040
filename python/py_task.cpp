#include "python/py_task.h"

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <memory>

#include "core/error.h"
#include "python/prompt_rng.h"
#include "tasks/task.h"

namespace icl::py {

namespace pyb = pybind11;

namespace {

// The first line of a Python exception's message ("ValueError: d must be even").
std::string one_line(const pyb::error_already_set& e) {
  std::string m = e.what();
  const size_t nl = m.find('\n');
  return nl == std::string::npos ? m : m.substr(0, nl);
}

// A Python object owned from C++: the GIL is taken to release it, and nothing is released once the
// interpreter has gone (objects outliving it at exit are left to the process's end).
struct PyRef {
  PyObject* p;
  explicit PyRef(pyb::object o) : p(o.release().ptr()) {}
  ~PyRef() {
    if (!Py_IsInitialized()) return;
    pyb::gil_scoped_acquire gil;
    Py_XDECREF(p);
  }
  pyb::handle get() const { return p; }
};

pyb::object param_value(const ParamValue& v) {
  return std::visit([](const auto& x) -> pyb::object { return pyb::cast(x); }, v);
}

// [B, K, w] from a 2-d ([B, K]: w = 1) or 3-d array, as float32.
std::vector<float> examples_of(pyb::handle obj, int64_t B, int64_t K, int64_t& width,
                               const std::string& who, const char* what) {
  auto a = pyb::array_t<float, pyb::array::c_style | pyb::array::forcecast>::ensure(obj);
  if (!a)
    fail("task {}: sample must return {} as an array of numbers, got {}", who, what,
         std::string(pyb::str(pyb::type::of(obj).attr("__name__"))));
  if (a.ndim() != 2 && a.ndim() != 3)
    fail("task {}: {} must be [prompts, examples] or [prompts, examples, width], got {} dimensions",
         who, what, a.ndim());
  if (a.shape(0) != B || a.shape(1) != K)
    fail(
        "task {}: {} must have shape [{}, {}, ...] for {} prompts of {} examples, got [{}, {}, "
        "...]",
        who, what, B, K, B, K, a.shape(0), a.shape(1));
  width = a.ndim() == 3 ? a.shape(2) : 1;
  if (width < 1) fail("task {}: {} has width 0", who, what);
  return std::vector<float>(a.data(), a.data() + a.size());
}

class PythonTask : public Task {
 public:
  PythonTask(std::string name, ParamSet params, pyb::handle cls) : Task(name, params) {
    pyb::gil_scoped_acquire gil;
    pyb::dict kw;
    for (const auto& [k, v] : this->params().values()) kw[pyb::str(k)] = param_value(v);
    try {
      inst_ = std::make_shared<PyRef>(cls(**kw));
      const pyb::handle inst = inst_->get();
      const std::string metric =
          pyb::getattr(inst, "metric", pyb::str("squared_error")).cast<std::string>();
      if (metric == "squared_error")
        metric_ = Metric::SquaredError;
      else if (metric == "accuracy")
        metric_ = Metric::Accuracy;
      else
        fail("task {}: metric must be squared_error or accuracy, got '{}'", name, metric);
      const std::string loss =
          pyb::getattr(inst, "loss", pyb::str(metric == "accuracy" ? "logistic" : "squared_error"))
              .cast<std::string>();
      if (loss == "squared_error")
        loss_ = LossKind::SquaredError;
      else if (loss == "logistic")
        loss_ = LossKind::Logistic;
      else
        fail("task {}: loss must be squared_error or logistic, got '{}'", name, loss);
      norm_ = pyb::getattr(inst, "normalisation", pyb::float_(1.0)).cast<double>();
      if (!(norm_ > 0)) fail("task {}: normalisation must be > 0, got {}", name, norm_);
      if (!pyb::hasattr(inst, "sample"))
        fail("task {}: the class has no sample(self, rng, prompts, examples) method", name);
    } catch (const pyb::error_already_set& e) {
      fail("task {}: {}", name, one_line(e));
    } catch (const pyb::cast_error& e) {
      fail("task {}: metric, loss or normalisation has the wrong type ({})", name, e.what());
    }
  }

  Metric metric() const override { return metric_; }
  double normalisation() const override { return norm_; }

  void check_examples(int64_t K) const override {
    Task::check_examples(K);
    pyb::gil_scoped_acquire gil;
    const pyb::handle inst = inst_->get();
    if (!pyb::hasattr(inst, "check_examples")) return;
    try {
      inst.attr("check_examples")(K);
    } catch (const pyb::error_already_set& e) {
      fail("task {}: examples = {}: {}", name(), K, one_line(e));
    }
  }

  PromptBatch sample(const RngKey& key, int64_t first, int64_t B, int64_t K) const override {
    pyb::gil_scoped_acquire gil;
    pyb::object out;
    try {
      out = inst_->get().attr("sample")(std::make_shared<PromptRng>(key, first, B), B, K);
    } catch (const pyb::error_already_set& e) {
      fail("task {}: sample raised {}", name(), one_line(e));
    }
    if (!pyb::isinstance<pyb::tuple>(out) && !pyb::isinstance<pyb::list>(out))
      fail("task {}: sample must return (xs, ys) or (xs, ys, truth), got {}", name(),
           std::string(pyb::str(pyb::type::of(out).attr("__name__"))));
    const pyb::sequence seq = out;
    if (seq.size() != 2 && seq.size() != 3)
      fail("task {}: sample must return (xs, ys) or (xs, ys, truth), got {} values", name(),
           seq.size());
    VectorPrompts p;
    p.batch = B;
    p.n_examples = K;
    p.loss = loss_;
    p.xs = examples_of(seq[0], B, K, p.dx, name(), "xs");
    p.ys = examples_of(seq[1], B, K, p.dy, name(), "ys");
    if (seq.size() == 3 && !seq[2].is_none()) {
      auto t = pyb::array_t<float, pyb::array::c_style | pyb::array::forcecast>::ensure(seq[2]);
      if (!t || (t.ndim() != 1 && t.ndim() != 2) || t.shape(0) != B)
        fail("task {}: truth must be an array [prompts] or [prompts, t] with {} rows", name(), B);
      p.truth_dim = t.ndim() == 2 ? t.shape(1) : 1;
      p.truth.assign(t.data(), t.data() + t.size());
    }
    return PromptBatch(std::move(p));
  }

 private:
  std::shared_ptr<PyRef> inst_;
  Metric metric_ = Metric::SquaredError;
  LossKind loss_ = LossKind::SquaredError;
  double norm_ = 1.0;
};

}  // namespace

std::string canonical_name(pyb::handle cls) {
  return "python:" + pyb::str(cls.attr("__module__")).cast<std::string>() + ":" +
         pyb::str(cls.attr("__qualname__")).cast<std::string>();
}

std::string register_python_task(pyb::object cls, const ParamSpecs& specs,
                                 const std::string& alias) {
  const std::string name = canonical_name(cls);
  std::string summary;
  if (const pyb::object doc = cls.attr("__doc__"); !doc.is_none()) {
    summary = doc.cast<std::string>();
    summary = summary.substr(0, summary.find('\n'));
  }
  if (summary.empty()) summary = "a task written in Python (" + name.substr(7) + ")";
  // The class lives as long as the registry, which lives to the process's end: it is never
  // released, so nothing touches Python after the interpreter has finalized.
  const pyb::handle h = cls.release();
  // Called from C++ without the GIL (PythonTask takes it).
  const auto make = [h, name](const std::string&, const ParamSet& p) -> std::unique_ptr<Task> {
    return std::make_unique<PythonTask>(name, p, h);
  };
  if (!alias.empty()) {
    if (alias.find(':') != std::string::npos || alias == "python")
      fail("iclbench.task: name must not contain ':' or be 'python', got '{}'", alias);
    register_task({alias, summary + " [" + name + "]", specs, make}, true);
  }
  register_task({name, summary, specs, make}, true);
  return name;
}

void install_python_task_resolver(void (*start_interpreter)()) {
  set_task_resolver([start_interpreter](const std::string& name) -> bool {
    if (start_interpreter && !Py_IsInitialized()) start_interpreter();
    pyb::gil_scoped_acquire gil;
    try {
      pyb::module_::import("iclbench").attr("_resolve")(name.substr(7));
    } catch (const pyb::error_already_set& e) {
      fail("task {}: {}", name, one_line(e));
    }
    return true;
  });
}

}  // namespace icl::py

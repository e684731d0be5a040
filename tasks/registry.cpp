#include "core/registry.h"
#include "core/error.h"
#include "tasks/task.h"

namespace icl {

// One line per task family file.
void register_linear_regression(std::vector<TaskInfo>& r);
void register_fourier(std::vector<TaskInfo>& r);
void register_gaussian_mixture_regression(std::vector<TaskInfo>& r);
void register_nonlinear_regression(std::vector<TaskInfo>& r);
void register_sequential(std::vector<TaskInfo>& r);
void register_softmax_regression(std::vector<TaskInfo>& r);
void register_maze(std::vector<TaskInfo>& r);
void register_mixture(std::vector<TaskInfo>& r);  // lists the tasks registered before it
void register_boolean(std::vector<TaskInfo>& r);
void register_state_tracking(std::vector<TaskInfo>& r);
void register_bandit_imitation(std::vector<TaskInfo>& r);

namespace {
std::deque<TaskInfo>& registry_storage() {
  static std::deque<TaskInfo> registry = [] {
    std::vector<TaskInfo> r;
    register_linear_regression(r);
    register_fourier(r);
    register_gaussian_mixture_regression(r);
    register_nonlinear_regression(r);
    register_sequential(r);
    register_softmax_regression(r);
    register_maze(r);
    register_boolean(r);
    register_state_tracking(r);
    register_bandit_imitation(r);
    register_mixture(r);  // keep last: its components are the tasks registered above
    return std::deque<TaskInfo>(std::make_move_iterator(r.begin()),
                                std::make_move_iterator(r.end()));
  }();
  return registry;
}

TaskResolver& resolver() {
  static TaskResolver r;
  return r;
}

const TaskInfo* lookup(const std::string& name) {
  for (const auto& info : registry_storage())
    if (info.name == name) return &info;
  return nullptr;
}
}  // namespace

const std::deque<TaskInfo>& task_registry() { return registry_storage(); }

void register_task(TaskInfo info, bool replace) {
  static const size_t built_in = registry_storage().size();
  auto& r = registry_storage();
  for (size_t i = 0; i < r.size(); ++i) {
    if (r[i].name != info.name) continue;
    if (i < built_in || !replace) fail("task '{}' is already registered", info.name);
    r[i] = std::move(info);  // in place: references to the entry stay valid
    return;
  }
  r.push_back(std::move(info));
}

void set_task_resolver(TaskResolver r) { resolver() = std::move(r); }

const char* to_string(Metric m) {
  switch (m) {
    case Metric::SquaredError:
      return "squared_error";
    case Metric::Accuracy:
      return "accuracy";
    case Metric::ScaledAccuracy:
      return "scaled_accuracy";
  }
  return "?";
}

void Task::check_examples(int64_t n_examples) const {
  if (n_examples < 1) fail("n_examples: must be >= 1, got {}", n_examples);
}

std::vector<std::vector<double>> Task::score_extra(const Predictor&, const PromptBatch&) const {
  return {};
}

TaskExports Task::exports(const PromptBatch&) const { return {}; }

int64_t Task::export_bytes_per_prompt(int64_t) const { return 0; }

const TaskInfo& find_task(const std::string& name) {
  if (const TaskInfo* info = lookup(name)) return *info;
  if (name.starts_with("python:")) {
    if (!resolver())
      fail(
          "task {}: a task written in Python needs a build with Python (ICL_PYTHON, which needs "
          "pybind11-dev: scripts/install-deps.sh)",
          name);
    if (resolver()(name))
      if (const TaskInfo* info = lookup(name)) return *info;
  }
  return find_named(task_registry(), name, "task");
}

std::string registry_name(const std::string& name, std::map<std::string, std::string>& raw,
                          const std::string& where) {
  if (name != "python") return name;
  const auto it = raw.find("module");
  if (it == raw.end())
    fail("{}: a python task needs 'module: package.module:Class' (the class that samples it)",
         where);
  const std::string full = "python:" + it->second;
  raw.erase(it);
  return full;
}

std::unique_ptr<Task> make_task(const std::string& given,
                                const std::map<std::string, std::string>& raw_given,
                                const std::string& where) {
  RawParams raw = raw_given;
  const std::string name = registry_name(given, raw, where);
  const TaskInfo& info = find_task(name);
  return info.make(name, resolve_params(info.params, raw, where));
}

}  // namespace icl

#include "core/registry.h"
#include "core/error.h"
#include "tasks/task.h"

namespace icl {

// One line per task family file.
void register_linear_regression(std::vector<TaskInfo>& r);

const std::vector<TaskInfo>& task_registry() {
  static const std::vector<TaskInfo> registry = [] {
    std::vector<TaskInfo> r;
    register_linear_regression(r);
    return r;
  }();
  return registry;
}

const char* to_string(Metric m) { return m == Metric::SquaredError ? "squared_error" : "accuracy"; }

void Task::check_examples(int64_t n_examples) const {
  if (n_examples < 1) fail("n_examples: must be >= 1, got {}", n_examples);
}

const TaskInfo& find_task(const std::string& name) {
  return find_named(task_registry(), name, "task");
}

std::unique_ptr<Task> make_task(const std::string& name,
                                const std::map<std::string, std::string>& raw,
                                const std::string& where) {
  const TaskInfo& info = find_task(name);
  return info.make(name, resolve_params(info.params, raw, where));
}

}  // namespace icl

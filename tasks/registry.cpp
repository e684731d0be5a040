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

const std::vector<TaskInfo>& task_registry() {
  static const std::vector<TaskInfo> registry = [] {
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
    return r;
  }();
  return registry;
}

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
  return find_named(task_registry(), name, "task");
}

std::unique_ptr<Task> make_task(const std::string& name,
                                const std::map<std::string, std::string>& raw,
                                const std::string& where) {
  const TaskInfo& info = find_task(name);
  return info.make(name, resolve_params(info.params, raw, where));
}

}  // namespace icl

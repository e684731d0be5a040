#pragma once
// Task: a family of functions plus the distribution of its prompts (docs/DESIGN.md, "Task").
//
// sample(key, first, B, K) returns prompts first .. first+B-1 of the stream `key`. Prompt i is a
// pure function of (key, i): the same whatever B, the thread count or the machine. Draws that a
// whole evaluation shares (e.g. the random rotation of a skewed covariance) come from
// key.sub("fixed").
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/params.h"
#include "core/rng.h"
#include "tasks/predictor.h"
#include "tasks/prompt_batch.h"

namespace icl {

// Accuracy: sign agreement with ±1 labels (vector prompts). ScaledAccuracy: token prompts, the
// fraction of scored positions whose most likely token is the target, rescaled so that guessing
// among the |Y| possible answers scores 0 and a perfect predictor 1: (acc − 1/|Y|)/(1 − 1/|Y|)
// (Grazzi et al. 2025, docs/TASKS.md §9).
enum class Metric { SquaredError, Accuracy, ScaledAccuracy };
const char* to_string(Metric m);

// Arrays a task adds to `icl generate`'s file beside its prompts (the maze task: its raw mazes),
// each an HDF5 path ("maze/open") with its shape and values, and integer attributes of groups.
struct TaskExport {
  std::string path;
  std::vector<int64_t> dims;
  std::vector<uint8_t> u8;  // one of u8 and i32 holds the values
  std::vector<int32_t> i32;
};
struct TaskExports {
  std::vector<TaskExport> arrays;
  std::vector<std::pair<std::string, int64_t>> group_attrs;  // {"maze@n", 5}: attribute n of /maze
};

// A further metric a task scores per prompt by running the predictor itself (the maze task decodes
// every path): its name in results.h5 and its label on a figure's axis.
struct ExtraMetric {
  std::string name, label;
};

class Task {
 public:
  virtual ~Task() = default;
  const std::string& name() const { return name_; }
  const ParamSet& params() const { return params_; }

  virtual PromptBatch sample(const RngKey& key, int64_t first, int64_t batch,
                             int64_t n_examples) const = 0;
  virtual Metric metric() const = 0;
  // The kind of prompts sample() returns: vector unless the task derives from TokenTask
  // (tasks/token_task.h) or plays bandit histories.
  virtual PromptKind prompt_kind() const { return PromptKind::Vector; }
  // The metric is divided by this (Garg et al.: d for linear, the sparsity for sparse linear).
  virtual double normalisation() const { return 1.0; }
  // Throws icl::Error when K is not allowed for these parameters (e.g. orthogonal queries need K <=
  // d).
  virtual void check_examples(int64_t n_examples) const;

  // Metrics beyond metric() (none by default). score_extra returns, for each of them in order, one
  // score per prompt of pb (in [0, 1]), obtained by running p on prompts derived from pb.
  virtual std::vector<ExtraMetric> extra_metrics() const { return {}; }
  virtual std::vector<std::vector<double>> score_extra(const Predictor& p,
                                                       const PromptBatch& pb) const;
  // What `icl generate` writes beside the prompts of pb (nothing by default), and how many bytes
  // that is per prompt of length K (its memory check runs before any sampling).
  virtual TaskExports exports(const PromptBatch& pb) const;
  virtual int64_t export_bytes_per_prompt(int64_t K) const;
  // What the x-axis of a curve over this task's prompt lengths means (token tasks).
  virtual std::string length_label() const { return "sequence length"; }
  // Why this task needs a model that looks both ways at every position ("task.objective mlm_u"),
  // or "" when a causal model will do.
  virtual std::string bidirectional_reason() const { return ""; }

 protected:
  Task(std::string name, ParamSet params) : name_(std::move(name)), params_(std::move(params)) {}

 private:
  std::string name_;
  ParamSet params_;
};

struct TaskInfo {
  std::string name;
  std::string summary;  // one line for `icl list`
  ParamSpecs params;
  std::function<std::unique_ptr<Task>(const std::string& name, const ParamSet&)> make;
};

// All tasks: the built-in ones, registered in tasks/registry.cpp (one line each), then any added
// while the program runs (register_task: tasks written in Python, python/py_task.h). A deque, so
// that a TaskInfo& stays valid while tasks are added.
const std::deque<TaskInfo>& task_registry();
// Adds a task; icl::Error when the name is taken by a built-in task, or by an added one unless
// `replace` (a Python class defined again replaces its earlier definition).
void register_task(TaskInfo info, bool replace = false);
// Tasks that exist once something is loaded: a name find_task does not know is offered to the
// resolver, which registers it and returns true, or returns false (then the name is unknown). The
// Python layer resolves "python:<module>:<class>" by importing the module (python/py_task.h).
using TaskResolver = std::function<bool(const std::string& name)>;
void set_task_resolver(TaskResolver resolver);
// icl::Error listing the known tasks. "python:..." without a resolver says this build has no
// Python.
const TaskInfo& find_task(const std::string& name);
// The registry name of a task configured as `name` with raw parameters: `python` with `module:
// pkg.mod:Class` is the task python:pkg.mod:Class (a class written in Python, python/py_task.h),
// and `module` leaves the parameters; any other name is itself.
std::string registry_name(const std::string& name, std::map<std::string, std::string>& raw,
                          const std::string& where);
std::unique_ptr<Task> make_task(const std::string& name,
                                const std::map<std::string, std::string>& raw_params,
                                const std::string& where = "task");

}  // namespace icl

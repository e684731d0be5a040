#include "eval/generate.h"

#include <algorithm>

#include "core/error.h"
#include "eval/memory_estimate.h"
#include "eval/streams.h"
#include "tasks/check_finite.h"

namespace icl {

bool valid_set_name(const std::string& name) {
  return !name.empty() && name.find('/') == std::string::npos && name != "." && name != "..";
}

PromptBatch generate_prompts(const Task& task, uint64_t seed, const std::string& set, int64_t first,
                             int64_t prompts, int64_t examples, const std::string& set_arg,
                             const std::string& sizes, const std::function<void()>& between,
                             int64_t part) {
  // The set is an evaluation set's name (a YAML key of icl run, an HDF5 group name there):
  // anything else can never match the prompts of a run.
  if (!valid_set_name(set))
    fail("{}: must be an evaluation set's name (non-empty, without '/'), got '{}'", set_arg, set);
  task.check_examples(examples);
  // Before anything large is allocated: a size that cannot fit is one line.
  check_generate_memory(task, prompts, examples, sizes);
  const RngKey key = generate_stream(seed, set, task.prompt_kind() == PromptKind::Token, examples);
  if (!between) part = prompts;
  PromptBatch pb = task.sample(key, first, std::min(prompts, part), examples);
  for (int64_t at = part; at < prompts; at += part) {
    between();
    append_prompts(pb, task.sample(key, first + at, std::min(part, prompts - at), examples));
  }
  check_finite(pb, task, "generate");
  return pb;
}

}  // namespace icl

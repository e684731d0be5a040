#pragma once
// The prompts `icl generate` writes and iclbench.sample returns, drawn one way for both: the set
// name checked, the task's check of K, the memory check, the set's prompt stream
// (generate_stream), and the sampled batch checked finite. For the same seed and set they are the
// prompts `icl run` evaluates that set on.
#include <cstdint>
#include <functional>
#include <string>

#include "tasks/task.h"

namespace icl {

// An evaluation set's name is an HDF5 group name: non-empty, without '/', not "." or "..".
bool valid_set_name(const std::string& name);

// Prompts first .. first+prompts-1 of set `set` under `seed`, K = examples (a length for token
// tasks). `where` names the arguments in errors ("--stream", "--prompts N x --examples K" style
// prefixes come from the caller: set_arg and sizes). With `between`, the prompts are sampled in
// parts of `part` and `between` runs before each part after the first (Python polls Ctrl-C
// there); the bytes are those of one call.
PromptBatch generate_prompts(const Task& task, uint64_t seed, const std::string& set, int64_t first,
                             int64_t prompts, int64_t examples, const std::string& set_arg,
                             const std::string& sizes, const std::function<void()>& between = {},
                             int64_t part = 1024);

}  // namespace icl

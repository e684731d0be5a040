#pragma once
// A net under the parameter ranges: finite settings can still combine into prompts that overflow
// (w_std, x_scale and y_scale each in range, their product past fp32's 3.4e38), and such prompts
// would otherwise become NaN curves or a NaN loss written without a word.
#include <string>

#include "tasks/task.h"

namespace icl {

// Throws icl::Error when pb holds an infinite or NaN value: one line naming `where`, the task, the
// buffer and the task's real-valued parameters that differ from their defaults (the suspects).
void check_finite(const PromptBatch& pb, const Task& task, const std::string& where);

// "w_std=1e+300 (default 1), y_scale=1e+20 (default 1)", or "" when every real-valued parameter
// has its default: the settings to blame for a non-finite value.
std::string suspect_params(const Task& task);

}  // namespace icl

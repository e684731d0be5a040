#pragma once
// Test shorthand for reading a task's prompts: take<VectorPrompts>(task.sample(...)) moves the
// prompts out of the batch as the kind the test expects; another kind is an icl::Error that names
// both, so the test fails on the line that assumed the kind.
#include <utility>

#include "tasks/prompt_batch.h"

namespace icl::test {

template <class P = VectorPrompts>
P take(PromptBatch pb) {
  return std::move(pb.as<P>("test"));
}

}  // namespace icl::test

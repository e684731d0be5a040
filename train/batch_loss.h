#pragma once
// The training objective of a PromptBatch given the model's output for it (docs/DESIGN.md,
// "PromptBatch"):
//   token prompts                 cross-entropy of logits [B, T, V] where loss_mask is set;
//   history prompts               cross-entropy of logits [B, K, classes] on targets [B, K];
//   vector prompts                squared error or logistic loss of pred [B, K, dy] on ys.
// A vector batch with a loss_mask [B, K] scores only the examples it marks (all dy outputs of a
// marked example), e.g. not the nearest-neighbour task's random prefix. Every loss is the mean over
// the scored units, so an unscored example changes neither the value nor any gradient.
//
// `mask` is the float copy the loss reads: it must outlive the step's backward, and keeps its
// address from step to step when the shapes do (a captured CUDA graph restages from it).
#include <vector>

#include "core/graph.h"
#include "tasks/prompt_batch.h"

namespace icl {

Var batch_loss(Graph& g, Var pred, const PromptBatch& pb, std::vector<float>& mask);

// The float mask batch_loss reads, written into `mask` (one entry per scored unit); false, and
// `mask` untouched, when the batch scores everything. A replayed GPU step calls this to refresh
// the mask its captured loss re-reads.
bool expand_loss_mask(const PromptBatch& pb, std::vector<float>& mask);

}  // namespace icl

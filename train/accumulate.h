#pragma once
// Gradient accumulation (train.micro_batches), the CPU step's alternative to one backward.
//
// The batch of B prompts is cut into M equal parts. Part m's gradient g_m is computed whole
// (gradients zeroed, one forward and backward on the part, its loss the part's mean), and
//   grad = (((g_0 + g_1) + g_2) + ... + g_{M-1}) · (1/M),   loss = (Σ_m loss_m) / M.
// Summed in this order, whole parts at a time, it is what a data-parallel step over M ranks, one
// part each, reduces to: the two agree bit for bit. It is not bit-identical to one backward over
// the whole batch (the same sums, associated differently), only close.
#include <cstdint>
#include <vector>

#include "core/arena.h"
#include "models/model.h"
#include "tasks/prompt_batch.h"

namespace icl {

// Leaves the accumulated gradient in the model's parameters' grad; returns the loss. `mask` is the
// loss's scratch (train/batch_loss.h). B must be a multiple of `parts`.
double accumulate_gradients(Model& model, Arena& arena, const PromptBatch& pb, int64_t parts,
                            std::vector<float>& mask);

// The data-parallel form (core/mpi.h): rank r of R computes part r of the batch alone, and the
// parts' gradients and losses are summed in rank order and scaled as above, so R ranks leave the
// same gradient, bit for bit, as accumulate_gradients with R parts in one process. Every rank
// ends with it (and, applying the same update, with the same weights). B must be a multiple of R.
double data_parallel_gradients(Model& model, Arena& arena, const PromptBatch& pb,
                               std::vector<float>& mask);

}  // namespace icl

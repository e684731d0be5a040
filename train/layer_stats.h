#pragma once
// Per-layer training statistics (train.layer_stats_every), for the norm-placement figure: how the
// placement of the norm (Pre-, Post-, Peri-, Mix-LN, LayerNorm scaling) shapes the gradients and
// the hidden states across depth.
//
// For block l = 1..L of a model whose parameters are named "blocks.<l-1>." (models/model.h):
//   gradient norm   ‖g_l‖ = √(Σ g²) over block l's parameters, the raw gradient of the step
//                   before clipping (the global clip scales every block alike and is undone);
//   hidden variance Var(h_l) over all B·T·C values of block l's output h_l (the residual stream
//                   after the block; post-LN: the normed stream), in fp64, two-pass, measured by a
//                   forward pass without gradients on the step's prompts with the weights the
//                   step's loss saw.
// Recorded at step 1 and every layer_stats_every steps, beside the loss of the same step.
#include <cstdint>
#include <vector>

#include "core/arena.h"
#include "models/model.h"
#include "tasks/prompt_batch.h"

namespace icl {

// Blocks of a model: one more than the largest l of a "blocks.<l>." parameter; 0 without blocks.
int64_t count_blocks(const ParameterStore& params);

// The blocks of `model` when `every` > 0 (train.layer_stats_every), else 0; a one-line error when
// the model has none. The run layer calls it before training starts, the trainer again.
int64_t layer_stats_blocks(int64_t every, const Model& model);

// ‖g_l‖ for l = 1..blocks from the parameters' gradients (copied from the GPU when they are
// there), each divided by `clip_scale`, the factor clipping multiplied the gradient by
// (train/adamw.h: clip_scale; 1: none).
std::vector<double> block_grad_norms(ParameterStore& params, int64_t blocks, double clip_scale);

// Var(h_l) for the model's blocks on prompts `pb` (a forward pass without gradients in `arena`).
// An icl::Error when the model hands out no block outputs (models/model.h) or not `blocks`.
std::vector<double> hidden_variances(Model& model, Arena& arena, const PromptBatch& pb,
                                     int64_t blocks);

}  // namespace icl

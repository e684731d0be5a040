#pragma once
// The read-in and read-out around a backbone (docs/DESIGN.md, "Model"), shared by models that embed
// prompts the way the transformer does (Garg et al. 2022):
//  * vector prompts: tokens x_1, (y_1, 0..0), x_2, ... through a linear read-in `read_in.{w,b}`
//    [dx, C]; predictions [B, K, dy] from a linear read-out `read_out.{w,b}` at the x tokens;
//    history prompts (HistoryPrompts) read x_1, x_2, ... only and are read out at each;
//  * token prompts (ModelIO::vocab > 0): a token embedding `embed.w` [vocab, C]; logits
//    [B, T, vocab] from the read-out at every position;
//  * optionally a learned positional table `pos` [tokens, C] added after the read-in.
// Initialisation as the transformer's: read-in and read-out as torch.nn.Linear's default
// (U(±1/√fan_in) for weight and bias), embedding and positions N(0, 0.02).
#include <string>

#include "models/model.h"

namespace icl {

class IoLayers {
 public:
  // Adds the parameters to `store`; `model` names the model in error messages.
  IoLayers(ParameterStore& store, const ModelIO& io, int64_t width, bool learned_pos,
           std::string model);
  // Initialises p when it is one of the read-in / read-out / position parameters; false otherwise.
  bool init(Parameter& p, uint64_t seed) const;
  // Embedded tokens [B, T, C] (T = 2K for vector prompts, K for history prompts), checked against
  // what the model was built for.
  Var read_in(Graph& g, const PromptBatch& pb) const;
  // The backbone's output h [B, T, C] to predictions [B, K, dy] or logits [B, T, vocab].
  Var read_out(Graph& g, const PromptBatch& pb, Var h) const;

  // The footprint (models/footprint.h) of the read-in with its positions, and of the read-out
  // with, in a training step, the loss on it (train/batch_loss.h): parameters and activations.
  static void count_read_in(Footprint& f, const ModelIO& io, int64_t width, bool learned_pos);
  static void count_read_out(Footprint& f, const ModelIO& io, int64_t width);

 private:
  Var P(Graph& g, const std::string& name) const;
  ParameterStore& store_;
  ModelIO io_;
  int64_t width_;
  bool learned_pos_;
  std::string model_;
};

}  // namespace icl

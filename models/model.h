#pragma once
// Model: a backbone between a read-in and a read-out (docs/DESIGN.md, "Model"). Parameters live in
// the model's ParameterStore under stable hierarchical names; checkpoints are keyed by them.
//
// forward() maps vector prompts to the prediction at every example, [B, K, dy], in one pass: the
// prompt is encoded as tokens x_1, (y_1, 0..0), x_2, ... and the read-out is taken at the x
// tokens, so by causality the prediction for example k sees examples 1..k-1 and x_k only. History
// prompts are one token x_k per example, read out at each: [B, K, dy]. Token prompts (a model
// with ModelIO::vocab > 0) map to logits over the vocabulary at every position, [B, T, vocab];
// the logits at t see tokens 0..t only.
//
// A model built of blocks names their parameters "blocks.<l>." and hands each block's output (the
// residual stream after block l; post-LN: the normed stream) to g.probe(), in order: training's
// per-layer statistics (train/layer_stats.h) read them.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/graph.h"
#include "core/parameter.h"
#include "core/params.h"
#include "models/footprint.h"
#include "tasks/prompt_batch.h"

namespace icl {

// What the task fixes about a model's inputs and outputs.
struct ModelIO {
  int64_t dx = 0, dy = 1;    // vector prompts: input and label width
  int64_t max_examples = 0;  // longest prompt the model must handle (K; token prompts: length)
  int64_t vocab = 0;         // token prompts: ids 0..vocab-1 (0: vector prompts)
  int64_t max_tokens = 0;    // token prompts: longest sequence T, padding included
  // Token prompts: ids of slots the task hides from the model (TokenTask::hidden_tokens; MLM-U's
  // MASK and PAD).
  std::vector<int32_t> hidden_tokens = {};
};

class Model {
 public:
  virtual ~Model() = default;
  const std::string& name() const { return name_; }
  const ParamSet& params() const { return params_; }
  const ModelIO& io() const { return io_; }
  ParameterStore& parameters() { return store_; }
  const ParameterStore& parameters() const { return store_; }

  // Fills every parameter from the counter-based stream of `seed` (each parameter from its own
  // sub-stream named after it, so adding a parameter changes no other).
  virtual void init(uint64_t seed) = 0;
  // Predictions [B, K, dy] for vector prompts, logits [B, T, vocab] for token prompts.
  virtual Var forward(Graph& g, const PromptBatch& pb) = 0;
  // Scalars of recurrent state per sequence (memory axis of comparisons); 0 for attention models,
  // whose memory grows with the context.
  virtual int64_t state_size() const { return 0; }
  // Whether the output at a position may read later positions (masked-token objectives need it).
  virtual bool bidirectional() const { return false; }

 protected:
  Model(std::string name, ParamSet params, ModelIO io)
      : name_(std::move(name)), params_(std::move(params)), io_(io) {}
  ParameterStore store_;

 private:
  std::string name_;
  ParamSet params_;
  ModelIO io_;
};

struct ModelInfo {
  std::string name;
  std::string summary;
  ParamSpecs params;
  std::function<std::unique_ptr<Model>(const ParamSet&, const ModelIO&)> make;
  // Counts the model's parameters and what one pass of f.shape() keeps in the step's arena
  // (models/footprint.h), from the same (params, io) as make, without building it.
  std::function<void(const ParamSet&, const ModelIO&, Footprint&)> footprint;
};

const std::vector<ModelInfo>& model_registry();
const ModelInfo& find_model(const std::string& name);
// A model from raw values resolved against the model's declaration (`where` prefixes errors; tests
// and tools). A run makes its model in one place, ResolvedRun::build_model (run/resolved_run.h).
std::unique_ptr<Model> make_model(const std::string& name,
                                  const std::map<std::string, std::string>& raw, const ModelIO& io,
                                  const std::string& where = "model");

// The footprint (models/footprint.h) of model `name` built from (params, io), for one pass of shape
// s, from the model's declaration.
Footprint model_footprint(const std::string& name, const ParamSet& params, const ModelIO& io,
                          const StepShape& s);
// Bytes of a model's parameters outside the arena: value, gradient and the two AdamW moments of
// every scalar (core/parameter.h).
inline double parameter_bytes(double parameters) { return 16.0 * parameters; }

// Initialisers used by models (values drawn from Rng(seed, "init/<name>")).
void init_normal(Parameter& p, uint64_t seed, double std);
void init_uniform(Parameter& p, uint64_t seed, double bound);
void init_constant(Parameter& p, float value);

}  // namespace icl

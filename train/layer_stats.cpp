#include "train/layer_stats.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"

namespace icl {

namespace {
// l for a parameter "blocks.<l>.*", -1 for any other.
int64_t block_of(const std::string& name) {
  static const std::string prefix = "blocks.";
  if (!name.starts_with(prefix)) return -1;
  const size_t dot = name.find('.', prefix.size());
  if (dot == std::string::npos || dot == prefix.size()) return -1;
  int64_t l = 0;
  for (size_t i = prefix.size(); i < dot; ++i) {
    if (name[i] < '0' || name[i] > '9') return -1;
    l = l * 10 + (name[i] - '0');
  }
  return l;
}
}  // namespace

int64_t count_blocks(const ParameterStore& params) {
  int64_t blocks = 0;
  for (const auto& p : params.all()) blocks = std::max(blocks, block_of(p->name) + 1);
  return blocks;
}

int64_t layer_stats_blocks(int64_t every, const Model& model) {
  if (every <= 0) return 0;
  const int64_t blocks = count_blocks(model.parameters());
  if (blocks == 0)
    fail(
        "train.layer_stats_every: model {} has no blocks (parameters blocks.<l>.*) to take "
        "per-layer statistics of; set it to 0",
        model.name());
  return blocks;
}

std::vector<double> block_grad_norms(ParameterStore& params, int64_t blocks, double clip_scale) {
  if (params.on_device()) params.to_host();  // the host copies then hold the step's gradient
  std::vector<double> sum(size_t(blocks), 0.0);
  for (const auto& p : params.all()) {
    const int64_t l = block_of(p->name);
    if (l < 0 || l >= blocks) continue;
    for (const float g : p->grad) sum[size_t(l)] += double(g) * double(g);
  }
  for (double& s : sum) s = std::sqrt(s) / clip_scale;
  return sum;
}

std::vector<double> hidden_variances(Model& model, Arena& arena, const PromptBatch& pb,
                                     int64_t blocks) {
  arena.reset();
  std::vector<Var> probes;
  Graph g(arena, false);
  g.watch(&probes);
  model.forward(g, pb);
  g.watch(nullptr);
  if (int64_t(probes.size()) != blocks)
    fail(
        "train.layer_stats_every: model {} hands out {} block outputs for its {} blocks; per-layer "
        "statistics need one per block",
        model.name(), probes.size(), blocks);
  std::vector<double> var;
  std::vector<float> host;
  for (const Var& h : probes) {
    const int64_t n = h.shape().numel();
    host.resize(size_t(n));
    g.read(h.n->value, host.data());
    double mean = 0, ss = 0;
    for (const float v : host) mean += v;
    mean /= double(n);
    for (const float v : host) ss += (double(v) - mean) * (double(v) - mean);
    var.push_back(ss / double(n));
  }
  return var;
}

}  // namespace icl

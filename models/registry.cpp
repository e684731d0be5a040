#include "core/registry.h"
#include "core/error.h"
#include "core/rng.h"
#include "models/model.h"

namespace icl {

// One line per model file.
void register_transformer(std::vector<ModelInfo>& r);
void register_recurrent(std::vector<ModelInfo>& r);
void register_lsa(std::vector<ModelInfo>& r);

const std::vector<ModelInfo>& model_registry() {
  static const std::vector<ModelInfo> registry = [] {
    std::vector<ModelInfo> r;
    register_transformer(r);
    register_recurrent(r);
    register_lsa(r);
    return r;
  }();
  return registry;
}

const ModelInfo& find_model(const std::string& name) {
  return find_named(model_registry(), name, "model");
}

std::unique_ptr<Model> make_model(const std::string& name,
                                  const std::map<std::string, std::string>& raw, const ModelIO& io,
                                  const std::string& where) {
  const ModelInfo& info = find_model(name);
  return info.make(resolve_params(info.params, raw, where), io);
}

static Rng init_rng(const Parameter& p, uint64_t seed) {
  return Rng({seed, stream_id("init/" + p.name)}, 0);
}

void init_normal(Parameter& p, uint64_t seed, double std) {
  Rng rng = init_rng(p, seed);
  for (auto& v : p.value) v = float(std * rng.normal());
}

void init_uniform(Parameter& p, uint64_t seed, double bound) {
  Rng rng = init_rng(p, seed);
  for (auto& v : p.value) v = float(rng.uniform(-bound, bound));
}

void init_constant(Parameter& p, float value) { std::fill(p.value.begin(), p.value.end(), value); }

}  // namespace icl

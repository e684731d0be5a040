#include <fmt/format.h>

#include "core/error.h"
#include "core/memory.h"
#include "core/registry.h"
#include "core/rng.h"
#include "models/model.h"

namespace icl {

namespace {

// "model transformer (n_embd 65536, n_layer 3)": the integer parameters that differ from their
// defaults, which are what sizes a model.
std::string describe_sizes(const ModelInfo& info, const ParamSet& p) {
  std::string sizes;
  for (const ParamSpec& spec : info.params) {
    if (spec.type != ParamType::Int || !p.has(spec.name) ||
        p.i(spec.name) == std::get<int64_t>(spec.def))
      continue;
    sizes += fmt::format("{}{} {}", sizes.empty() ? "" : ", ", spec.name, p.i(spec.name));
  }
  return sizes.empty() ? "model " + info.name : fmt::format("model {} ({})", info.name, sizes);
}

// make() behind a check that the parameters fit: they are allocated (with their gradients and
// moments) as the model is built, before any other memory check could run.
void check_parameters_first(ModelInfo& info) {
  ICL_ASSERT(info.make && info.footprint);
  info.make = [info](const ParamSet& p, const ModelIO& io) {
    Footprint f{StepShape{}};
    info.footprint(p, io, f);
    memory::check_fits(
        memory::to_bytes(parameter_bytes(f.parameter_count())),
        fmt::format("{}: {} parameters (value, gradient and two AdamW moments each)",
                    describe_sizes(info, p), memory::format_count(f.parameter_count())));
    return info.make(p, io);
  };
}

}  // namespace

// One line per model file.
void register_transformer(std::vector<ModelInfo>& r);
void register_recurrent(std::vector<ModelInfo>& r);
void register_lsa(std::vector<ModelInfo>& r);
void register_past(std::vector<ModelInfo>& r);

const std::vector<ModelInfo>& model_registry() {
  static const std::vector<ModelInfo> registry = [] {
    std::vector<ModelInfo> r;
    register_transformer(r);
    register_recurrent(r);
    register_lsa(r);
    register_past(r);
    for (ModelInfo& info : r) check_parameters_first(info);
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

Footprint model_footprint(const std::string& name, const ParamSet& params, const ModelIO& io,
                          const StepShape& s) {
  Footprint f(s);
  find_model(name).footprint(params, io, f);
  return f;
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

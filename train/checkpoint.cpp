#include "train/checkpoint.h"

#include <yaml-cpp/yaml.h>

#include <fmt/format.h>

#include "core/error.h"

namespace icl {

namespace {
// The per-parameter arrays a checkpoint holds, by group name.
constexpr std::pair<const char*, AlignedFloats Parameter::*> kArrays[] = {
    {"params", &Parameter::value}, {"adam_m", &Parameter::m}, {"adam_v", &Parameter::v}};
}  // namespace

std::string model_signature(const Model& model) {
  YAML::Emitter e;
  e << YAML::Flow << YAML::BeginMap << YAML::Key << "name" << YAML::Value << model.name();
  for (const auto& [k, v] : model.params().values())
    e << YAML::Key << k << YAML::Value << to_string(v);
  e << YAML::Key << "dx" << YAML::Value << model.io().dx << YAML::Key << "dy" << YAML::Value
    << model.io().dy << YAML::Key << "max_examples" << YAML::Value << model.io().max_examples;
  if (model.io().vocab > 0)  // vector models keep the signature they always had
    e << YAML::Key << "vocab" << YAML::Value << model.io().vocab << YAML::Key << "max_tokens"
      << YAML::Value << model.io().max_tokens;
  e << YAML::EndMap;
  return e.c_str();
}

void write_train_log(hid_t root, const TrainLog& log) {
  const h5::Handle g = h5::create_group(root, "train");
  h5::write(g.id(), "step", log.step);
  h5::write(g.id(), "loss", log.loss);
  h5::write(g.id(), "lr", log.lr);
  h5::write(g.id(), "seconds", log.seconds);
  h5::write(g.id(), "grad_norm", log.grad_norm);
  h5::write(g.id(), "eval_step", log.eval_step);
  h5::write(g.id(), "eval_error", log.eval_error);
}

void write_checkpoint(hid_t root, const Model& model, const TrainState& state, uint64_t seed) {
  const h5::Handle g = h5::create_group(root, "checkpoint");
  h5::attr(g.id(), "step", state.step);
  h5::attr(g.id(), "seed", int64_t(seed));
  h5::attr(g.id(), "model", model.name());
  h5::attr(g.id(), "model_config", model_signature(model));
  // Recurrent state per sequence (the memory axis of model comparisons; 0 for attention models).
  h5::attr(g.id(), "state_size", model.state_size());
  h5::attr(g.id(), "parameters", model.parameters().count());
  for (const auto& [group, member] : kArrays) {
    const h5::Handle sub = h5::create_group(g.id(), group);
    for (const auto& p : model.parameters().all()) {
      std::vector<int64_t> dims(p->shape.d.begin(), p->shape.d.begin() + p->shape.rank);
      h5::write(sub.id(), p->name, ((*p).*member).data(), dims);
    }
  }
}

void read_checkpoint(const std::string& path, Model& model, TrainState& state) {
  if (!h5::is_hdf5(path)) fail("cannot resume from {}: not a readable HDF5 file", path);
  try {
    const h5::Handle f = h5::open_file(path);
    if (!h5::exists(f.id(), "checkpoint"))
      fail("cannot resume from {}: it holds no checkpoint", path);
    const h5::Handle g = h5::open_group(f.id(), "checkpoint");
    const std::string theirs = h5::read_attr_string(g.id(), "model_config");
    const std::string ours = model_signature(model);
    if (theirs != ours)
      fail("cannot resume from {}: its checkpoint is of model {}, this run's model is {}", path,
           theirs, ours);
    for (auto& p : model.parameters().all()) {
      for (const auto& [group, member] : kArrays) {
        const std::vector<float> v = h5::read<float>(g.id(), std::string(group) + "/" + p->name);
        if (v.size() != p->value.size())
          fail("cannot resume from {}: {}/{} has {} values, the model needs {}", path, group,
               p->name, v.size(), p->value.size());
        ((*p).*member).assign(v.begin(), v.end());
      }
    }
    state = TrainState{};
    state.step = h5::read_attr_int(g.id(), "step");
    state.log.step = h5::read<int64_t>(f.id(), "train/step");
    state.log.loss = h5::read<double>(f.id(), "train/loss");
    state.log.lr = h5::read<double>(f.id(), "train/lr");
    state.log.seconds = h5::read<double>(f.id(), "train/seconds");
    state.log.grad_norm = h5::read<double>(f.id(), "train/grad_norm");
    state.log.eval_step = h5::read<int64_t>(f.id(), "train/eval_step");
    state.log.eval_error = h5::read<double>(f.id(), "train/eval_error");
    if (int64_t(state.log.step.size()) != state.step)
      fail("cannot resume from {}: training log has {} steps, checkpoint is at step {}", path,
           state.log.step.size(), state.step);
  } catch (const Error& e) {
    if (std::string(e.what()).starts_with("cannot resume")) throw;
    fail("cannot resume from {}: {}", path, e.what());
  }
}

}  // namespace icl

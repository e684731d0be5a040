#include "train/checkpoint.h"

#include <yaml-cpp/yaml.h>

#include <type_traits>

#include <fmt/format.h>

#include "core/error.h"
#include "train/layer_stats.h"

namespace icl {

namespace {
// The per-parameter arrays a checkpoint holds, by group name.
constexpr std::pair<const char*, AlignedFloats Parameter::*> kArrays[] = {
    {"params", &Parameter::value}, {"adam_m", &Parameter::m}, {"adam_v", &Parameter::v}};

// Values per chunk of an extendable /train dataset: a checkpoint rewrites the chunks its new
// entries fall in, so a small chunk keeps an append near the size of the entries themselves (2 KiB
// of 8-byte values), while 100k steps still make only a few hundred chunks a dataset.
constexpr int64_t kTrainChunk = 256;

template <class T>
void append_tail(hid_t g, const std::string& name, const std::vector<T>& v) {
  // A run resumed from a file written before the per-layer statistics gets its layer columns now.
  if (name.starts_with("layer_") && !h5::exists(g, name)) {
    h5::create_extendable(g, name, v, kTrainChunk);
    return;
  }
  const int64_t have = h5::length(g, name);
  if (have > int64_t(v.size()))
    fail("/train/{} has {} entries, more than the {} of the log being saved", name, have, v.size());
  h5::append(g, name, v.data() + have, int64_t(v.size()) - have);
}

// Calls f(name, column) for every /train dataset of the log, in the file's order: the one list of
// them that writing, appending and reading share.
template <class Log, class F>
void for_each_column(Log& log, F f) {
  f("step", log.step);
  f("loss", log.loss);
  f("lr", log.lr);
  f("seconds", log.seconds);
  f("grad_norm", log.grad_norm);
  f("eval_step", log.eval_step);
  f("eval_error", log.eval_error);
  f("layer_step", log.layer_step);
  f("layer_grad_norm", log.layer_grad_norm);
  f("layer_variance", log.layer_variance);
}

std::vector<int64_t> dims_of(const Parameter& p) {
  return {p.shape.d.begin(), p.shape.d.begin() + p.shape.rank};
}
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
  for_each_column(log, [&](const char* name, const auto& v) { h5::write(g.id(), name, v); });
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
      h5::write(sub.id(), p->name, ((*p).*member).data(), dims_of(*p));
    }
  }
}

void create_train_log(hid_t root, const TrainLog& log) {
  const h5::Handle g = h5::create_group(root, "train");
  for_each_column(log, [&](const char* name, const auto& v) {
    h5::create_extendable(g.id(), name, v, kTrainChunk);
  });
}

void append_train_log(hid_t root, const TrainLog& log) {
  const h5::Handle g = h5::open_group(root, "train");
  for_each_column(log, [&](const char* name, const auto& v) { append_tail(g.id(), name, v); });
}

void overwrite_checkpoint(hid_t root, const Model& model, const TrainState& state, uint64_t seed) {
  const h5::Handle g = h5::open_group(root, "checkpoint");
  // Only the step changes from one checkpoint of a run to the next; the rest must already match.
  if (h5::read_attr_int(g.id(), "seed") != int64_t(seed) ||
      h5::read_attr_string(g.id(), "model_config") != model_signature(model))
    fail("/checkpoint is of another run");
  for (const auto& [group, member] : kArrays) {
    const h5::Handle sub = h5::open_group(g.id(), group);
    for (const auto& p : model.parameters().all())
      h5::overwrite(sub.id(), p->name, ((*p).*member).data(), dims_of(*p));
  }
  h5::set_attr(g.id(), "step", state.step);
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
        // The size is checked before reading: a foreign file's dataset may claim any shape.
        const std::string name = std::string(group) + "/" + p->name;
        const int64_t n = h5::element_count(g.id(), name);
        if (n != int64_t(p->value.size()))
          fail("cannot resume from {}: {}/{} has {} values, the model needs {}", path, group,
               p->name, n, p->value.size());
        const std::vector<float> v = h5::read<float>(g.id(), name);
        ((*p).*member).assign(v.begin(), v.end());
      }
    }
    state = TrainState{};
    state.step = h5::read_attr_int(g.id(), "step");
    const int64_t blocks = std::max<int64_t>(1, count_blocks(model.parameters()));
    for_each_column(state.log, [&](const char* name, auto& v) {
      const std::string column = name;
      // Files written before the per-layer statistics have no layer columns.
      if (column.starts_with("layer_") && !h5::exists(f.id(), "train/" + column)) return;
      // Checked before reading: no column has more values than steps (one evaluation at most per
      // step; a per-layer column one value per block and step).
      const int64_t n = h5::element_count(f.id(), std::string("train/") + name);
      const int64_t most = column == "layer_grad_norm" || column == "layer_variance"
                               ? state.step * blocks
                               : state.step;
      if (n > most)
        fail(
            "cannot resume from {}: training log column {} has {} values, checkpoint is at step "
            "{}",
            path, name, n, state.step);
      v = h5::read<typename std::decay_t<decltype(v)>::value_type>(f.id(),
                                                                   std::string("train/") + name);
    });
    if (int64_t(state.log.step.size()) != state.step)
      fail("cannot resume from {}: training log has {} steps, checkpoint is at step {}", path,
           state.log.step.size(), state.step);
  } catch (const Error& e) {
    if (std::string(e.what()).starts_with("cannot resume")) throw;
    fail("cannot resume from {}: {}", path, e.what());
  }
}

}  // namespace icl

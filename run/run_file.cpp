#include "run/run_file.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "core/error.h"
#include "io/h5.h"
#include "train/train_config.h"

namespace icl {

RunFile read_run_file(const std::string& path, const std::string& what) {
  if (!h5::is_hdf5(path)) fail("{}: {} is not a readable HDF5 file", what, path);
  RunFile rf;
  rf.path = path;
  std::string text;
  try {
    const h5::Handle f = h5::open_file(path);
    if (!h5::exists_attr(f.id(), "config"))
      fail("{}: {} has no root attribute `config`: not a results file written by icl run", what,
           path);
    text = h5::read_attr_string(f.id(), "config");
    if (h5::exists_attr(f.id(), "resume_log"))
      rf.resume_log = h5::read_attr_string(f.id(), "resume_log");
    if (h5::exists(f.id(), "checkpoint")) {
      const h5::Handle g = h5::open_group(f.id(), "checkpoint");
      if (!h5::exists_attr(g.id(), "step"))
        fail("{}: {} has a /checkpoint without its `step` attribute", what, path);
      rf.checkpoint = h5::read_attr_int(g.id(), "step");
      if (rf.checkpoint < 0)
        fail("{}: {} has a checkpoint at step {}; a step is >= 0", what, path, rf.checkpoint);
    }
  } catch (const Error& e) {
    if (std::string(e.what()).starts_with(what + ":")) throw;
    fail("{}: cannot read {}: {}", what, path, e.what());
  }
  try {
    rf.config = YAML::Load(text);
    rf.config_text = text;
  } catch (const YAML::Exception& e) {
    fail("{}: the `config` attribute of {} is not YAML (line {}: {})", what, path, e.mark.line + 1,
         e.msg);
  }
  if (!rf.config.IsMap())
    fail("{}: the `config` attribute of {} is not a YAML mapping of settings", what, path);
  return rf;
}

std::optional<RunFile> probe_run_file(const std::string& path) {
  try {
    return read_run_file(path, "probe");
  } catch (const Error&) {
    return std::nullopt;
  }
}

namespace {

// Dotted keys to scalar text: sets.standard.prompts, baselines[0].name.
void flatten(const YAML::Node& n, const std::string& key, std::map<std::string, std::string>& out) {
  if (n.IsMap()) {
    for (const auto& kv : n) {
      const std::string k = kv.first.Scalar();
      flatten(kv.second, key.empty() ? k : key + "." + k, out);
    }
  } else if (n.IsSequence()) {
    for (size_t i = 0; i < n.size(); ++i) flatten(n[i], fmt::format("{}[{}]", key, i), out);
  } else if (n.IsScalar()) {
    out[key] = n.Scalar();
  } else {
    out[key] = "~";
  }
}

bool starts(const std::string& key, const std::string& prefix) {
  return key == prefix || key.starts_with(prefix + ".") || key.starts_with(prefix + "[");
}

// What a setting does to the weights. Evaluation: the sets and baselines measured after training,
// the bandit rollout and its policies; within train:, what its declaration says (train/
// train_config.h: the in-training evaluation has its own prompt stream, and how often checkpoints
// are written changes no weight). Everything else trains differently.
ConfigChange::Kind kind_of(const std::string& key) {
  for (const char* p :
       {"benchmark", "description", "eval", "baselines", "policies", "rollout", "bandit"})
    if (starts(key, p)) return ConfigChange::Evaluation;
  if (key.starts_with("train.")) {
    const std::string rest = key.substr(6);
    if (const auto* f = train_section().find(rest.substr(0, rest.find_first_of(".["))))
      switch (f->effect) {
        case Effect::Extends:
          return ConfigChange::Extension;
        case Effect::Measures:
          return ConfigChange::Evaluation;
        case Effect::Trains:
          break;
      }
  }
  return ConfigChange::Training;
}

// A train key that a file written before the key existed lacks, set here to the key's declared
// default: the run trains as it did (e.g. train.data_seed -1, the run's seed), so no change.
bool is_declared_default(const std::string& key, const std::string& text) {
  if (!key.starts_with("train.")) return false;
  const auto* f = train_section().find(key.substr(6));
  if (!f || f->custom) return false;
  try {
    return parse_param(f->spec, text, key) == f->spec.def;
  } catch (const Error&) {
    return false;
  }
}

}  // namespace

std::vector<ConfigChange> config_changes(const YAML::Node& before, const YAML::Node& now) {
  std::map<std::string, std::string> a, b;
  flatten(before, "", a);
  flatten(now, "", b);
  std::vector<ConfigChange> out;
  const std::string absent = "(absent)";
  for (const auto& [k, v] : a) {
    const auto it = b.find(k);
    if (it == b.end())
      out.push_back({k, v, absent, kind_of(k)});
    else if (it->second != v)
      out.push_back({k, v, it->second, kind_of(k)});
  }
  for (const auto& [k, v] : b)
    if (!a.count(k) && !is_declared_default(k, v)) out.push_back({k, absent, v, kind_of(k)});
  // Training changes first: the first one is what an error names.
  std::stable_sort(out.begin(), out.end(),
                   [](const ConfigChange& x, const ConfigChange& y) { return x.kind < y.kind; });
  return out;
}

std::string describe_changes(const std::vector<ConfigChange>& changes) {
  std::string s;
  for (const auto& c : changes)
    s += fmt::format("{}{} {} -> {}", s.empty() ? "" : ", ", c.key, c.before, c.now);
  return s;
}

Resume check_resume(const std::string& path, const YAML::Node& now, bool force) {
  const RunFile rf = read_run_file(path, "--resume");
  if (rf.checkpoint < 0) fail("--resume: {} holds no checkpoint to continue from", path);
  const std::vector<ConfigChange> changes = config_changes(rf.config, now);
  std::vector<ConfigChange> training, other;
  for (const auto& c : changes) (c.kind == ConfigChange::Training ? training : other).push_back(c);
  if (!training.empty() && !force)
    fail(
        "--resume: this config trains differently from the run in {}: {} (a resumed run must "
        "train as its checkpoint's did; --force continues anyway and records the change)",
        path, describe_changes(training));
  Resume r;
  r.step = rf.checkpoint;
  std::string line = fmt::format("resumed at step {} from {}", rf.checkpoint, path);
  if (!other.empty()) line += "; changed: " + describe_changes(other);
  if (!training.empty()) line += "; forced with --force: " + describe_changes(training);
  r.log = rf.resume_log.empty() ? line : rf.resume_log + "\n" + line;
  for (const auto& c : other)
    if (c.kind == ConfigChange::Extension && now["train"] && now["train"]["schedule"] &&
        now["train"]["schedule"].Scalar() != "constant")
      r.notes.push_back(fmt::format(
          "train.steps {} -> {}: the {} schedule from step {} on follows the new length, so the "
          "weights differ from a run trained for {} steps from the start",
          c.before, c.now, now["train"]["schedule"].Scalar(), rf.checkpoint, c.now));
  if (!training.empty())
    r.notes.push_back(fmt::format("--force: continuing a run trained with other settings ({})",
                                  describe_changes(training)));
  return r;
}

std::string partial_path(const std::string& out) {
  const std::filesystem::path p(out);
  const std::string stem = p.extension() == ".h5" ? p.stem().string() : p.filename().string();
  return (p.parent_path() / (stem + ".partial.h5")).string();
}

namespace {
// True when the run in `rf` trained as `now` does (only train.steps or evaluation may differ).
bool trains_like(const RunFile& rf, const YAML::Node& now) {
  for (const auto& c : config_changes(rf.config, now))
    if (c.kind == ConfigChange::Training) return false;
  return true;
}

// True when `rf` holds a checkpoint of the run `now` describes, at a step this run starts from or
// passes: the run may then write its checkpoints over it. The file being resumed from is
// continued by definition (a forced resume included).
bool continued_by(const RunFile& rf, const YAML::Node& now, int64_t start,
                  const std::string& resume_from) {
  if (rf.checkpoint < 0 || rf.checkpoint > start) return false;
  std::error_code ec;
  if (!resume_from.empty() && std::filesystem::equivalent(rf.path, resume_from, ec)) return true;
  return trains_like(rf, now);
}
}  // namespace

std::string checkpoint_destination(const std::string& out, const YAML::Node& now, int64_t start,
                                   const std::string& resume_from) {
  std::error_code ec;
  if (!std::filesystem::exists(out, ec)) return out;
  if (const auto rf = probe_run_file(out); rf && continued_by(*rf, now, start, resume_from))
    return out;
  const std::string partial = partial_path(out);
  if (!std::filesystem::exists(partial, ec)) return partial;
  const auto pf = probe_run_file(partial);
  if (pf && continued_by(*pf, now, start, resume_from)) return partial;
  if (pf && pf->checkpoint >= 0) {
    if (trains_like(*pf, now))
      fail(
          "--out: {} holds this run's checkpoint at step {}: continue it with --resume {}, or "
          "remove it to start over",
          partial, pf->checkpoint, partial);
    fail(
        "--out: {} holds the unfinished checkpoint (step {}) of another run writing {}: continue "
        "that with its config and --resume {}, or remove it",
        partial, pf->checkpoint, out, partial);
  }
  fail(
      "--out: {} is in the way of this run's checkpoints (it is not a checkpoint of this run); "
      "remove it or choose another --out",
      partial);
}

bool holds_results(const std::string& path) {
  if (!h5::is_hdf5(path)) return false;
  const h5::Handle f = h5::open_file(path);
  return h5::exists(f.id(), "eval") || h5::exists(f.id(), "bandit");
}

RunPlan plan_run(const std::string& path, const YAML::Node& ours, int64_t steps) {
  for (const std::string& p : {path, partial_path(path)}) {
    const std::optional<RunFile> rf = probe_run_file(p);
    if (!rf) continue;
    const std::vector<ConfigChange> changes = config_changes(rf->config, ours);
    const bool finished = holds_results(p);
    if (p == path && finished && changes.empty()) return {RunPlan::Reuse, p, rf->checkpoint};
    const bool trains_differently =
        std::any_of(changes.begin(), changes.end(),
                    [](const ConfigChange& c) { return c.kind == ConfigChange::Training; });
    if (!trains_differently && rf->checkpoint > 0 && rf->checkpoint <= steps)
      return {RunPlan::Resume, p, rf->checkpoint};
  }
  return {};
}

}  // namespace icl

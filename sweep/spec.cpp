#include "sweep/spec.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "core/error.h"
#include "run/config_file.h"
#include "run/resolved_run.h"

namespace icl {

namespace fs = std::filesystem;

std::string sweep_safe_name(const std::string& text) {
  std::string out;
  for (const char c : text) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '=' || c == ',' || c == '_' || c == '+' || c == '-';
    out += ok ? c : '_';
  }
  return out;
}

namespace {

std::string scalar_text(const YAML::Node& n, const std::string& where) {
  if (!n.IsScalar()) fail("{}: expected a single value, got {}", where, kind_of(n));
  return n.Scalar();
}

// A map of axis key -> list of values, in file order.
std::vector<SweepAxis> read_axes(const YAML::Node& node, const std::string& where) {
  std::vector<SweepAxis> axes;
  if (!node) return axes;
  if (!node.IsMap())
    fail("{}: expected a map of setting -> list of values (e.g. train.lr: [1e-4, 1e-3]), got {}",
         where, kind_of(node));
  for (const auto& kv : node) {
    SweepAxis a;
    a.key = key_name(kv.first, where);
    const std::string w = where + "." + a.key;
    if (a.key == "seed") fail("{}: seeds are their own axis (the top-level 'seeds')", w);
    if (a.key.starts_with("train.replica"))
      fail("{}: a sweep's runs are one model each (seeds are the top-level 'seeds')", w);
    if (!kv.second.IsSequence())
      fail("{}: expected a list of values, got {}", w, kind_of(kv.second));
    if (kv.second.size() == 0) fail("{}: the axis is empty (give at least one value)", w);
    std::set<std::string> seen;
    for (const auto& v : kv.second) {
      a.values.push_back(scalar_text(v, w));
      if (!seen.insert(a.values.back()).second)
        fail("{}: value {} is given twice", w, a.values.back());
    }
    axes.push_back(std::move(a));
  }
  return axes;
}

std::vector<uint64_t> read_seeds(const YAML::Node& node) {
  std::vector<uint64_t> seeds;
  if (!node) return seeds;
  const auto one = [](const YAML::Node& v, const std::string& where) {
    YAML::Node holder(YAML::NodeType::Map);
    holder["seed"] = v;
    return uint64_t(get_int(holder, "seed", where, 0, 0, int64_t(1e18)));
  };
  if (node.IsScalar()) {
    YAML::Node holder(YAML::NodeType::Map);
    holder["seeds"] = node;
    const int64_t n = get_int(holder, "seeds", "seeds", 1, 1, 100000);
    for (int64_t s = 0; s < n; ++s) seeds.push_back(uint64_t(s));
    return seeds;
  }
  if (!node.IsSequence() || node.size() == 0)
    fail("seeds: expected a count (seeds 0 .. N-1) or a non-empty list of seeds, got {}",
         node.IsSequence() ? "an empty list" : kind_of(node));
  std::set<uint64_t> seen;
  for (const auto& v : node) {
    seeds.push_back(one(v, "seeds"));
    if (!seen.insert(seeds.back()).second) fail("seeds: seed {} is given twice", seeds.back());
  }
  return seeds;
}

}  // namespace

SweepSpec read_sweep(const std::string& path) {
  SweepSpec s;
  s.file = path;
  s.name = fs::path(path).stem().string();
  {
    std::ifstream in(path);
    if (!in) fail("sweep file {} cannot be read", path);
    std::stringstream ss;
    ss << in.rdbuf();
    s.text = ss.str();
  }
  YAML::Node root;
  try {
    root = YAML::Load(s.text);
  } catch (const YAML::Exception& e) {
    fail("sweep {}: not valid YAML ({} at line {})", path, e.msg, e.mark.line + 1);
  }
  if (!root.IsMap()) fail("sweep {}: expected a map of settings, got {}", path, kind_of(root));
  refuse_duplicate_keys(root, path);
  const std::string w = "sweep " + path;
  check_keys(
      root, w,
      {"base", "set", "grid", "zip", "seeds", "parallel", "retries", "out", "select", "slurm"});

  const std::string base = get_string(root, "base", "base", "");
  if (base.empty()) fail("{}: 'base' is required (a benchmark name or a config .yaml)", w);
  // A config path is taken relative to the sweep file when it is there.
  const fs::path beside = fs::path(path).parent_path() / base;
  std::error_code ec;
  s.base = base.ends_with(".yaml") && fs::is_regular_file(beside, ec)
               ? fs::absolute(beside).lexically_normal().string()
               : base;
  if (base.ends_with(".yaml") && !fs::is_regular_file(beside, ec) && fs::is_regular_file(base, ec))
    s.base = fs::absolute(base).lexically_normal().string();

  if (const YAML::Node set = root["set"]) {
    if (!set.IsSequence())
      fail("set: expected a list of key=value overrides, got {}", kind_of(set));
    for (const auto& v : set) s.sets.push_back(scalar_text(v, "set"));
  }
  s.grid = read_axes(root["grid"], "grid");
  s.zip = read_axes(root["zip"], "zip");
  for (const auto& a : s.zip)
    if (a.values.size() != s.zip.front().values.size())
      fail("zip: axes of unequal length ({} has {} values, {} has {})", s.zip.front().key,
           s.zip.front().values.size(), a.key, a.values.size());
  // Every key is set in one place only: which of two values was meant is a guess.
  std::map<std::string, std::string> owner;
  for (const auto& o : s.sets) {
    const size_t eq = o.find('=');
    if (eq == std::string::npos || eq == 0) fail("set: {}: expected key=value", o);
    const std::string key = o.substr(0, eq);
    if (key == "seed") fail("set: {}: seeds are their own axis (the top-level 'seeds')", o);
    if (!owner.emplace(key, "set").second) fail("set: {} is given twice", key);
  }
  for (const auto* axes : {&s.grid, &s.zip})
    for (const auto& a : *axes) {
      const std::string where = axes == &s.grid ? "grid" : "zip";
      const auto [it, fresh] = owner.emplace(a.key, where);
      if (!fresh) fail("{}.{}: {} is also set in {}", where, a.key, a.key, it->second);
    }
  s.seeds = read_seeds(root["seeds"]);
  s.parallel = get_int(root, "parallel", "parallel", 1, 1, 4096);
  s.retries = get_int(root, "retries", "retries", 1, 0, 100);
  s.out = get_string(root, "out", "out", "results/sweeps/" + s.name);
  if (s.out.empty()) fail("out: must name a directory, got ''");

  if (const YAML::Node sel = root["select"]) {
    if (!sel.IsMap()) fail("select: expected a map (axis, set, predictor), got {}", kind_of(sel));
    check_keys(sel, "select", {"axis", "set", "predictor"});
    s.select.axis = get_string(sel, "axis", "select.axis", "");
    s.select.set = get_string(sel, "set", "select.set", "");
    s.select.predictor = get_string(sel, "predictor", "select.predictor", "model");
  } else {
    for (const auto* axes : {&s.grid, &s.zip})
      for (const auto& a : *axes)
        if (a.key == "train.lr") s.select.axis = a.key;
  }
  if (!s.select.axis.empty() && !owner.count(s.select.axis))
    fail("select.axis: {} is not an axis of this sweep (axes: {})", s.select.axis, [&] {
      std::string k;
      for (const auto* axes : {&s.grid, &s.zip})
        for (const auto& a : *axes) k += (k.empty() ? "" : ", ") + a.key;
      return k.empty() ? std::string("none") : k;
    }());
  if (s.select.axis.size() && owner[s.select.axis] == "set")
    fail("select.axis: {} is a fixed override, not an axis", s.select.axis);

  if (const YAML::Node sl = root["slurm"]) {
    if (!sl.IsMap()) fail("slurm: expected a map, got {}", kind_of(sl));
    check_keys(sl, "slurm",
               {"time", "cpus_per_task", "mem", "partition", "gpus", "extra", "max_array_size"});
    s.slurm.time = get_string(sl, "time", "slurm.time", s.slurm.time);
    s.slurm.cpus_per_task = get_int(sl, "cpus_per_task", "slurm.cpus_per_task", 1, 1, 4096);
    s.slurm.mem = get_string(sl, "mem", "slurm.mem", "");
    s.slurm.partition = get_string(sl, "partition", "slurm.partition", "");
    s.slurm.gpus = get_int(sl, "gpus", "slurm.gpus", 0, 0, 64);
    s.slurm.max_array_size =
        get_int(sl, "max_array_size", "slurm.max_array_size", 0, 0, int64_t(4e6));
    if (const YAML::Node ex = sl["extra"]) {
      if (!ex.IsSequence())
        fail("slurm.extra: expected a list of sbatch options, got {}", kind_of(ex));
      for (const auto& v : ex) s.slurm.extra.push_back(scalar_text(v, "slurm.extra"));
    }
  }

  // The base config, checked once with the fixed overrides (and its seed when none are given).
  const ResolvedRun base_run = load_run(s.base, s.sets);
  if (!base_run.replicas.runs.empty())
    fail(
        "base: {} trains train.replicas; a sweep's runs are one model each (its seeds are the "
        "top-level 'seeds')",
        s.base);
  if (s.seeds.empty()) s.seeds.push_back(base_run.seed);

  // Expansion: the grid's combinations (first key slowest), times the zip's rows, times seeds.
  std::vector<std::vector<std::pair<std::string, std::string>>> settings(1);
  for (const auto& a : s.grid) {
    std::vector<std::vector<std::pair<std::string, std::string>>> next;
    for (const auto& prefix : settings)
      for (const auto& v : a.values) {
        next.push_back(prefix);
        next.back().emplace_back(a.key, v);
      }
    settings = std::move(next);
  }
  if (!s.zip.empty()) {
    std::vector<std::vector<std::pair<std::string, std::string>>> next;
    for (const auto& prefix : settings)
      for (size_t i = 0; i < s.zip.front().values.size(); ++i) {
        next.push_back(prefix);
        for (const auto& a : s.zip) next.back().emplace_back(a.key, a.values[i]);
      }
    settings = std::move(next);
  }
  std::map<std::string, std::string> names;  // safe name -> the values it came from
  for (const auto& values : settings) {
    std::string setting;
    for (const auto& [k, v] : values) setting += (setting.empty() ? "" : ",") + k + "=" + v;
    for (const uint64_t seed : s.seeds) {
      SweepRun r;
      r.index = int64_t(s.runs.size());
      r.values = values;
      r.seed = seed;
      r.setting = sweep_safe_name(setting.empty() ? "base" : setting);
      const std::string raw = (setting.empty() ? "" : setting + ",") + fmt::format("seed={}", seed);
      r.name = sweep_safe_name(raw);
      const auto [it, fresh] = names.emplace(r.name, raw);
      if (!fresh)
        fail(
            "sweep {}: runs '{}' and '{}' would both be named {} (values that differ only in "
            "characters a file name cannot hold)",
            path, it->second, raw, r.name);
      r.sets = s.sets;
      for (const auto& [k, v] : values) r.sets.push_back(k + "=" + v);
      r.sets.push_back(fmt::format("seed={}", seed));
      r.path = (fs::path(s.out) / "runs" / r.name / "results.h5").string();
      s.runs.push_back(std::move(r));
    }
  }
  // Every run's config is checked now, before anything runs: a bad value fails the sweep at once.
  for (const auto& r : s.runs) {
    try {
      (void)load_run(s.base, r.sets);
    } catch (const Error& e) {
      fail("sweep {}: run {}: {}", path, r.name, e.what());
    }
  }
  return s;
}

}  // namespace icl

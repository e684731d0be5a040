#include "run/config_file.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "core/error.h"
#include "core/params.h"

#ifndef ICL_CONFIG_DIR
#define ICL_CONFIG_DIR "configs"
#endif

namespace icl {

namespace fs = std::filesystem;

std::string config_dir() {
  if (const char* env = std::getenv("ICL_CONFIGS"); env && *env) return env;
  return ICL_CONFIG_DIR;
}

std::string benchmark_description(const std::string& name) {
  try {
    return YAML::LoadFile(config_dir() + "/" + name + ".yaml")["description"].as<std::string>("");
  } catch (const YAML::Exception&) {
    return "(not valid YAML)";
  }
}

std::vector<std::string> list_benchmarks() {
  std::vector<std::string> out;
  std::error_code ec;
  const fs::path root(config_dir());
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    // configs/<paper>/figures/ holds figure files (icl reproduce), not benchmarks.
    if (it->is_directory() && it->path().filename() == "figures") {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file() && it->path().extension() == ".yaml") {
      std::string rel = fs::relative(it->path(), root).replace_extension().generic_string();
      out.push_back(rel);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string resolve_benchmark_path(const std::string& arg, std::string* name) {
  std::error_code ec;
  if (arg.size() > 5 && arg.ends_with(".yaml")) {
    if (!fs::is_regular_file(arg, ec)) fail("config file {} does not exist", arg);
    if (name) *name = fs::path(arg).stem().string();
    return arg;
  }
  const fs::path p = fs::path(config_dir()) / (arg + ".yaml");
  if (!fs::is_regular_file(p, ec)) {
    std::string known;
    for (const auto& b : list_benchmarks()) known += (known.empty() ? "" : ", ") + b;
    fail("unknown benchmark '{}' (known benchmarks: {})", arg, known.empty() ? "none" : known);
  }
  if (name) *name = arg;
  return p.string();
}

const char* kind_of(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "a scalar";
    case YAML::NodeType::Null:
      return "nothing";
    default:
      return "an undefined value";
  }
}

// A map key as a name. YAML allows a list or a map as a key ("? [a, b]: 1"); a config never has
// one, and yaml-cpp's conversion would fail with a message naming no field.
std::string key_name(const YAML::Node& key, const std::string& where) {
  if (!key.IsScalar())
    fail("{}: a key must be a name, got {} (line {})", where.empty() ? "config" : where,
         kind_of(key), key.Mark().line + 1);
  return key.Scalar();
}

void apply_override(YAML::Node& root, const std::string& assignment) {
  const size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    fail("--set {}: expected key=value, e.g. --set task.d=10", assignment);
  const std::string path = assignment.substr(0, eq), text = assignment.substr(eq + 1);
  YAML::Node value;
  try {
    value = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    fail("--set {}: value is not valid YAML ({})", assignment, e.msg);
  }
  std::vector<std::string> keys;
  for (size_t pos = 0;;) {
    const size_t dot = path.find('.', pos);
    keys.push_back(path.substr(pos, dot - pos));
    if (dot == std::string::npos) break;
    pos = dot + 1;
  }
  YAML::Node node;
  node.reset(root);
  std::string where;
  for (size_t i = 0; i < keys.size(); ++i) {
    const std::string& k = keys[i];
    if (k.empty()) fail("--set {}: empty key in '{}'", assignment, path);
    where += (where.empty() ? "" : ".") + k;
    const bool last = i + 1 == keys.size();
    if (node.IsSequence()) {
      char* end = nullptr;
      const long idx = std::strtol(k.c_str(), &end, 10);
      if (*end != '\0' || idx < 0 || size_t(idx) >= node.size())
        fail("--set {}: {} is a list of {} entries; '{}' is not an index into it", assignment,
             where.substr(0, where.size() - k.size() - 1), node.size(), k);
      if (last) {
        node[size_t(idx)] = value;
        return;
      }
      // yaml-cpp: `=` on a Node writes into the tree; reset() rebinds the handle.
      if (node[size_t(idx)].IsScalar()) {  // "baselines.2.lambda" on a bare name: make it a map
        YAML::Node m;
        m["name"] = node[size_t(idx)].as<std::string>();
        node[size_t(idx)] = m;
      }
      YAML::Node child = node[size_t(idx)];
      node.reset(child);
    } else {
      if (!node.IsMap() && !node.IsNull())
        fail("--set {}: {} is {}, not a map", assignment,
             where.substr(0, where.size() - k.size() - 1), kind_of(node));
      if (last) {
        node[k] = value;
        return;
      }
      if (!node[k] || node[k].IsNull()) node[k] = YAML::Node(YAML::NodeType::Map);
      YAML::Node child = node[k];
      node.reset(child);
    }
  }
}

RawParams scalar_map(const YAML::Node& node, const std::string& where,
                     const std::vector<std::string>& skip) {
  RawParams out;
  if (!node || node.IsNull()) return out;
  if (!node.IsMap()) fail("{}: expected a map of parameters, got {}", where, kind_of(node));
  for (const auto& kv : node) {
    const std::string key = key_name(kv.first, where);
    if (std::find(skip.begin(), skip.end(), key) != skip.end()) continue;
    if (!kv.second.IsScalar())
      fail("{}.{}: expected a single value, got {}", where, key, kind_of(kv.second));
    out[key] = kv.second.as<std::string>();
  }
  return out;
}

void check_keys(const YAML::Node& node, const std::string& where,
                const std::vector<std::string>& allowed) {
  if (!node.IsMap()) fail("{}: expected a map, got {}", where, kind_of(node));
  for (const auto& kv : node) {
    const std::string key = key_name(kv.first, where);
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      fail("{}: unknown key '{}' (allowed: {})", where.empty() ? "config" : where, key, list);
    }
  }
}

double get_real(const YAML::Node& parent, const std::string& key, const std::string& where,
                double def, double lo, double hi) {
  const YAML::Node n = parent[key];
  if (!n) return def;
  const ParamSpec spec = ParamSpec::real(key, def, "", lo, hi);
  if (!n.IsScalar()) fail("{}: expected a number, got {}", where, kind_of(n));
  return std::get<double>(parse_param(spec, n.as<std::string>(), where));
}

int64_t get_int(const YAML::Node& parent, const std::string& key, const std::string& where,
                int64_t def, int64_t lo, int64_t hi) {
  const YAML::Node n = parent[key];
  if (!n) return def;
  const ParamSpec spec = ParamSpec::integer(key, def, "", double(lo), double(hi));
  if (!n.IsScalar()) fail("{}: expected an integer, got {}", where, kind_of(n));
  return std::get<int64_t>(parse_param(spec, n.as<std::string>(), where));
}

bool get_bool(const YAML::Node& parent, const std::string& key, const std::string& where,
              bool def) {
  const YAML::Node n = parent[key];
  if (!n) return def;
  if (!n.IsScalar()) fail("{}: expected true or false, got {}", where, kind_of(n));
  return std::get<bool>(parse_param(ParamSpec::boolean(key, def, ""), n.as<std::string>(), where));
}

std::string get_string(const YAML::Node& parent, const std::string& key, const std::string& where,
                       const std::string& def) {
  const YAML::Node n = parent[key];
  if (!n) return def;
  if (!n.IsScalar()) fail("{}: expected a string, got {}", where, kind_of(n));
  return n.as<std::string>();
}

// yaml-cpp keeps both entries of a repeated key (and node[key] finds the first): a config that
// says one thing twice is an error naming the key and both lines, not a silent choice.
static void refuse_duplicate_keys(const YAML::Node& node, const std::string& path,
                                  const std::string& where) {
  if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i)
      refuse_duplicate_keys(node[i], path,
                            fmt::format("{}{}", where.empty() ? "" : where + ".", i));
    return;
  }
  if (!node.IsMap()) return;
  std::map<std::string, int> seen;  // key -> line (1-based)
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string key = key_name(it->first, where);
    const std::string field = where.empty() ? key : where + "." + key;
    const int line = it->first.Mark().line + 1;
    if (const auto [at, fresh] = seen.emplace(key, line); !fresh)
      fail("config {}: {} is given twice (lines {} and {}); give it once", path, field, at->second,
           line);
    refuse_duplicate_keys(it->second, path, field);
  }
}

void refuse_duplicate_keys(const YAML::Node& root, const std::string& source) {
  refuse_duplicate_keys(root, source, "");
}

YAML::Node load_config_tree(const std::string& arg, const std::vector<std::string>& overrides,
                            std::string* name, std::string* path) {
  *path = resolve_benchmark_path(arg, name);
  YAML::Node root;
  try {
    root = YAML::LoadFile(*path);
  } catch (const YAML::Exception& e) {
    fail("config {}: not valid YAML ({} at line {})", *path, e.msg, e.mark.line + 1);
  }
  refuse_duplicate_keys(root, *path);
  for (const auto& o : overrides) apply_override(root, o);
  return root;
}

}  // namespace icl

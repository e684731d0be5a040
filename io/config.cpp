#include "io/config.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include <fmt/format.h>

#include "baselines/bandit_policy.h"
#include "baselines/baseline.h"
#include "core/error.h"
#include "models/model.h"
#include "tasks/linear_bandit.h"
#include "tasks/task.h"
#include "tasks/token_task.h"

#ifndef ICL_CONFIG_DIR
#define ICL_CONFIG_DIR "configs"
#endif

namespace icl {

namespace fs = std::filesystem;

std::string config_dir() {
  if (const char* env = std::getenv("ICL_CONFIGS"); env && *env) return env;
  return ICL_CONFIG_DIR;
}

std::vector<std::string> list_benchmarks() {
  std::vector<std::string> out;
  std::error_code ec;
  const fs::path root(config_dir());
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
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

static const char* kind_of(const YAML::Node& n) {
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
static std::string key_name(const YAML::Node& key, const std::string& where) {
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

namespace {

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

std::string get_string(const YAML::Node& parent, const std::string& key, const std::string& where,
                       const std::string& def) {
  const YAML::Node n = parent[key];
  if (!n) return def;
  if (!n.IsScalar()) fail("{}: expected a string, got {}", where, kind_of(n));
  return n.as<std::string>();
}

ComponentConfig component(const YAML::Node& n, const std::string& where, bool baseline) {
  ComponentConfig c;
  if (n.IsScalar()) {
    c.name = n.as<std::string>();
    return c;
  }
  if (!n.IsMap()) fail("{}: expected a name or a map with 'name', got {}", where, kind_of(n));
  if (!n["name"]) fail("{}: missing 'name'", where);
  c.name = get_string(n, "name", where + ".name", "");
  if (baseline) c.label = get_string(n, "label", where + ".label", "");
  c.params = scalar_map(n, where, {"name", "label"});
  return c;
}

Ramp parse_ramp(const YAML::Node& n, const std::string& where, int64_t fixed) {
  Ramp r{fixed, fixed, 0, 1};
  if (!n || n.IsNull()) return r;  // absent: fixed at the task's value
  check_keys(n, where, {"start", "end", "inc", "every"});
  r.start = get_int(n, "start", where + ".start", fixed, 1, 1e9);
  r.end = get_int(n, "end", where + ".end", fixed, 1, 1e9);
  r.inc = get_int(n, "inc", where + ".inc", 0, -1e9, 1e9);
  r.every = get_int(n, "every", where + ".every", 1, 1, 1e12);
  if ((r.inc > 0 && r.start > r.end) || (r.inc < 0 && r.start < r.end))
    fail("{}: start {} never reaches end {} with inc {}", where, r.start, r.end, r.inc);
  return r;
}

TrainConfig parse_train(const YAML::Node& n, const ComponentConfig& task, int64_t examples) {
  TrainConfig t;
  if (!n || n.IsNull()) fail("model: given without a 'train' section");
  check_keys(n, "train",
             {"steps", "batch_size", "lr", "schedule", "warmup", "min_lr_ratio", "weight_decay",
              "beta1", "beta2", "eps", "grad_clip", "curriculum", "eval_every", "eval_prompts",
              "checkpoint_every", "precision"});
  t.steps = get_int(n, "steps", "train.steps", 1000, 1, 1e12);
  t.batch_size = get_int(n, "batch_size", "train.batch_size", 64, 1, 1e7);
  t.schedule.lr = get_real(n, "lr", "train.lr", 1e-4, 0.0, 10.0);
  t.schedule.kind = get_string(n, "schedule", "train.schedule", "constant");
  if (t.schedule.kind != "constant" && t.schedule.kind != "cosine")
    fail("train.schedule: must be one of constant|cosine, got '{}'", t.schedule.kind);
  t.schedule.warmup = get_int(n, "warmup", "train.warmup", 0, 0, 1e12);
  t.schedule.min_ratio = get_real(n, "min_lr_ratio", "train.min_lr_ratio", 0.0, 0.0, 1.0);
  t.schedule.total = t.steps;
  t.weight_decay = get_real(n, "weight_decay", "train.weight_decay", 0.0, 0.0, 10.0);
  t.beta1 = get_real(n, "beta1", "train.beta1", 0.9, 0.0, 0.999999);
  t.beta2 = get_real(n, "beta2", "train.beta2", 0.999, 0.0, 0.999999999);
  t.eps = get_real(n, "eps", "train.eps", 1e-8, 1e-30, 1.0);
  t.grad_clip = get_real(n, "grad_clip", "train.grad_clip", 1.0, 0.0, 1e9);
  t.eval_every = get_int(n, "eval_every", "train.eval_every", 500, 1, 1e12);
  t.eval_prompts = get_int(n, "eval_prompts", "train.eval_prompts", 256, 1, 1e7);
  t.checkpoint_every = get_int(n, "checkpoint_every", "train.checkpoint_every", 500, 1, 1e12);
  t.precision = get_string(n, "precision", "train.precision", "tf32");
  if (t.precision != "tf32" && t.precision != "fp32")
    fail("train.precision: must be one of tf32|fp32, got '{}'", t.precision);

  const auto probe = make_task(task.name, task.params, "task");
  const bool has_dims = probe->params().has("active_dims") && probe->params().has("d");
  const int64_t d = has_dims ? probe->params().i("d") : 0;
  const YAML::Node cur = n["curriculum"];
  if (cur && !cur.IsMap()) fail("train.curriculum: expected a map, got {}", kind_of(cur));
  // Besides dims and points, any integer parameter of the task can ramp; each value the ramp
  // takes must itself be a valid parameter (checked at both ends, the ramp being monotone).
  std::vector<std::string> allowed{"dims", "points"};
  const TaskInfo& info = find_task(task.name);
  for (const auto& spec : info.params)
    if (spec.type == ParamType::Int && spec.name != "active_dims" && spec.name != "d")
      allowed.push_back(spec.name);
  if (cur) check_keys(cur, "train.curriculum", allowed);
  if (cur && cur["dims"] && !has_dims)
    fail("train.curriculum.dims: task {} has no active_dims parameter to ramp", task.name);
  t.dims = parse_ramp(cur ? cur["dims"] : YAML::Node(), "train.curriculum.dims", d);
  t.points = parse_ramp(cur ? cur["points"] : YAML::Node(), "train.curriculum.points", examples);
  if (has_dims && t.dims.end > d)
    fail("train.curriculum.dims.end: must be <= task.d = {}, got {}", d, t.dims.end);
  for (size_t i = 2; cur && i < allowed.size(); ++i) {
    const std::string& key = allowed[i];
    if (!cur[key]) continue;
    const std::string where = "train.curriculum." + key;
    const Ramp r = parse_ramp(cur[key], where, probe->params().i(key));
    for (const int64_t v : {r.start, r.end}) {
      RawParams p = task.params;
      p[key] = std::to_string(v);
      make_task(task.name, p, "train.curriculum");
    }
    t.task_ramps[key] = r;
  }
  return t;
}

SpectrumConfig parse_spectrum(const YAML::Node& n, const std::string& where,
                              const EvalSetConfig& es) {
  if (!n.IsMap()) fail("{}: expected a map, got {}", where, kind_of(n));
  check_keys(n, where, {"points", "context", "prompts", "lo", "hi"});
  SpectrumConfig sp;
  sp.points = get_int(n, "points", where + ".points", 100, 2, 1e6);
  sp.context = get_int(n, "context", where + ".context", std::min<int64_t>(20, es.examples - 1), 0,
                       double(es.examples - 1));
  sp.prompts = get_int(n, "prompts", where + ".prompts", std::min<int64_t>(100, es.prompts), 1,
                       double(es.prompts));
  const auto task = make_task(es.task.name, es.task.params, "eval.sets." + es.name + ".task");
  const PromptBatch probe = task->sample({0, 0}, 0, 1, 1);
  if (probe.encoding != Encoding::Vector || probe.dx != 1)
    fail("{}: needs a task with one-dimensional inputs, {} has dx = {}", where, es.task.name,
         probe.dx);
  const bool has_l = task->params().has("L");
  const double l = has_l ? task->params().r("L") : 0.0;
  for (const char* key : {"lo", "hi"})
    if (!n[key] && !has_l)
      fail("{}.{}: required (task {} has no L parameter to default to)", where, key, es.task.name);
  sp.lo = get_real(n, "lo", where + ".lo", -l, -1e300, 1e300);
  sp.hi = get_real(n, "hi", where + ".hi", l, -1e300, 1e300);
  if (!(sp.lo < sp.hi)) fail("{}: lo must be below hi, got [{}, {})", where, sp.lo, sp.hi);
  return sp;
}

// A list of lengths, or {start, end, step} for start, start + step, ... and end; increasing.
std::vector<int64_t> parse_lengths(const YAML::Node& n, const std::string& where) {
  std::vector<int64_t> out;
  if (n.IsSequence()) {
    const ParamSpec spec = ParamSpec::integer("length", 1, "", 1, 1e6);
    for (size_t i = 0; i < n.size(); ++i) {
      const std::string w = fmt::format("{}.{}", where, i);
      if (!n[i].IsScalar()) fail("{}: expected an integer, got {}", w, kind_of(n[i]));
      out.push_back(std::get<int64_t>(parse_param(spec, n[i].as<std::string>(), w)));
    }
  } else if (n.IsMap()) {
    check_keys(n, where, {"start", "end", "step"});
    for (const char* key : {"start", "end"})
      if (!n[key]) fail("{}.{}: required", where, key);
    const int64_t start = get_int(n, "start", where + ".start", 1, 1, 1e6);
    const int64_t end = get_int(n, "end", where + ".end", start, start, 1e6);
    const int64_t step = get_int(n, "step", where + ".step", 1, 1, 1e6);
    for (int64_t v = start; v < end; v += step) out.push_back(v);
    out.push_back(end);
  } else {
    fail("{}: expected a list of lengths or {{start, end, step}}, got {}", where, kind_of(n));
  }
  if (out.empty()) fail("{}: no lengths given", where);
  for (size_t i = 1; i < out.size(); ++i)
    if (out[i] <= out[i - 1])
      fail("{}: lengths must increase, got {} after {}", where, out[i], out[i - 1]);
  return out;
}

}  // namespace

ModelIO model_io(const ComponentConfig& task, int64_t max_examples) {
  const auto t = make_task(task.name, task.params, "task");
  if (const TokenTask* tt = as_token_task(*t)) {
    // seq_len never decreases with the length, so the longest length has the most tokens.
    const int64_t longest = std::max(max_examples, tt->max_length());
    return {0, 1, longest, tt->vocab(), tt->seq_len(longest)};
  }
  const PromptBatch probe = t->sample({0, 0}, 0, 1, 1);
  return {probe.dx, probe.dy, max_examples};
}

int64_t longest_prompt(const BenchmarkConfig& cfg) {
  // Token sets count only their lengths (their `examples` is unused and not in the resolved
  // config), so a run and its reloaded config build the same model.
  const bool token = make_task(cfg.task.name, cfg.task.params)->encoding() == Encoding::Token;
  int64_t longest = cfg.has_model && !token ? cfg.train.points.end : 0;
  if (cfg.bandit) longest = std::max(longest, make_bandit_setup(cfg.bandit_params).horizon);
  for (const auto& es : cfg.evals) {
    if (es.lengths.empty()) longest = std::max(longest, es.examples);
    for (int64_t L : es.lengths) longest = std::max(longest, L);
  }
  if (const auto it = cfg.train.task_ramps.find("max_length"); it != cfg.train.task_ramps.end())
    longest = std::max({longest, it->second.start, it->second.end});
  return longest;
}

// A model pretrained on bandit histories (tasks/bandit_imitation.h, the default task) over the
// bandit section's environments, for the whole horizon: the setup's resolved values are the task's,
// so they cannot also be set under task.
static void parse_bandit_model(const YAML::Node& root, BenchmarkConfig& cfg) {
  YAML::Node t = root["task"] ? YAML::Clone(root["task"]) : YAML::Node(YAML::NodeType::Map);
  if (t.IsMap() && !t["name"]) t["name"] = "bandit_imitation";
  cfg.task = component(t, "task", false);
  const ParamSpecs& specs = find_task(cfg.task.name).params;
  if (std::none_of(specs.begin(), specs.end(),
                   [](const ParamSpec& p) { return p.name == "setup"; }))
    fail("task: {} does not make bandit histories (use bandit_imitation)", cfg.task.name);
  const BanditSetup b = make_bandit_setup(cfg.bandit_params, "bandit");
  const RawParams setup{{"setup", b.kind},
                        {"arms", std::to_string(b.arms)},
                        {"dim", std::to_string(b.dim)},
                        {"noise_std", fmt::format("{}", b.noise)}};
  const auto same = [](const std::string& lhs, const std::string& rhs) {
    if (lhs == rhs) return true;
    char* end_l = nullptr;
    char* end_r = nullptr;
    const double x = std::strtod(lhs.c_str(), &end_l), y = std::strtod(rhs.c_str(), &end_r);
    return *end_l == 0 && *end_r == 0 && !lhs.empty() && !rhs.empty() && x == y;
  };
  for (const auto& [k, v] : setup) {
    const auto it = cfg.task.params.find(k);
    if (it != cfg.task.params.end() && !same(it->second, v))
      fail("task.{}: comes from the bandit section ({}), got {}", k, v, it->second);
    cfg.task.params[k] = v;
  }
  const auto task = make_task(cfg.task.name, cfg.task.params, "task");
  if (!task->sample({0, 0}, 0, 1, 1).history)
    fail("task: {} does not make bandit histories (use bandit_imitation)", cfg.task.name);
  cfg.has_model = true;
  cfg.model = component(root["model"], "model", false);
  find_model(cfg.model.name);
  cfg.train = parse_train(root["train"], cfg.task, b.horizon);
  if (cfg.train.points.end > b.horizon)
    fail("train.curriculum.points.end: must be <= bandit.horizon = {}, got {}", b.horizon,
         cfg.train.points.end);
  make_model(cfg.model.name, cfg.model.params, model_io(cfg.task, longest_prompt(cfg)), "model");
}

// The bandit sections: environments checked by make_bandit_setup, every policy constructed.
static void parse_bandit(const YAML::Node& root, BenchmarkConfig& cfg) {
  cfg.bandit = true;
  const YAML::Node b = root["bandit"];
  if (!b.IsMap() && !b.IsNull()) fail("bandit: expected a map of parameters, got {}", kind_of(b));
  if (b.IsMap()) cfg.bandit_params = scalar_map(b, "bandit");
  make_bandit_setup(cfg.bandit_params, "bandit");
  const YAML::Node r = root["rollout"];
  if (r && !r.IsNull()) {
    check_keys(r, "rollout", {"environments", "model_actions"});
    cfg.environments = get_int(r, "environments", "rollout.environments", 200, 2, 1e7);
    cfg.model_actions = get_string(r, "model_actions", "rollout.model_actions", "greedy");
    if (cfg.model_actions != "greedy" && cfg.model_actions != "sample")
      fail("rollout.model_actions: must be greedy or sample, got '{}'", cfg.model_actions);
  }
  const YAML::Node pl = root["policies"];
  if (!pl || !pl.IsSequence() || pl.size() == 0)
    fail("policies: expected a non-empty list of bandit policies (known: {})", [] {
      std::string known;
      for (const auto& i : bandit_policy_registry())
        known.append(known.empty() ? "" : ", ").append(i.name);
      return known;
    }());
  std::set<std::string> labels;
  for (size_t i = 0; i < pl.size(); ++i) {
    const std::string where = "policies." + std::to_string(i);
    ComponentConfig c = component(pl[i], where, true);
    c.label = make_bandit_policy(c.name, c.params, c.label, where).label;
    if (!labels.insert(c.label).second)
      fail("{}: label '{}' is used twice (give one a label)", where, c.label);
    cfg.policies.push_back(c);
  }
  if (root["model"]) parse_bandit_model(root, cfg);
}

BenchmarkConfig parse_benchmark(const YAML::Node& root, const std::string& name,
                                const std::string& source) {
  BenchmarkConfig cfg;
  cfg.name = name;
  cfg.source = source;
  if (!root.IsMap())
    fail("config {}: expected a map at the top level, got {}", source, kind_of(root));
  if (root["bandit"] && root["model"]) {
    check_keys(root, "",
               {"description", "seed", "bandit", "rollout", "policies", "task", "model", "train"});
  } else if (root["bandit"]) {
    if (root["train"]) fail("train: given without a 'model' to train");
    check_keys(root, "", {"description", "seed", "bandit", "rollout", "policies"});
  } else {
    check_keys(root, "", {"description", "seed", "task", "eval", "baselines", "model", "train"});
  }
  cfg.description = get_string(root, "description", "description", "");
  cfg.seed = uint64_t(get_int(root, "seed", "seed", 0, 0, 1e18));
  if (root["bandit"]) {
    parse_bandit(root, cfg);
    return cfg;
  }

  if (!root["task"]) fail("config {}: missing 'task'", source);
  cfg.task = component(root["task"], "task", false);
  make_task(cfg.task.name, cfg.task.params, "task");

  const YAML::Node ev = root["eval"];
  if (!ev) fail("config {}: missing 'eval'", source);
  check_keys(ev, "eval", {"prompts", "examples", "lengths", "bootstrap", "batch_size", "sets"});
  const int64_t prompts = get_int(ev, "prompts", "eval.prompts", 1280, 1, 1e9);
  const int64_t examples = get_int(ev, "examples", "eval.examples", 40, 1, 1e6);
  cfg.bootstrap = get_int(ev, "bootstrap", "eval.bootstrap", 1000, 20, 1e7);
  cfg.batch_size = get_int(ev, "batch_size", "eval.batch_size", 256, 1, 1e7);
  const std::vector<int64_t> lengths =
      ev["lengths"] ? parse_lengths(ev["lengths"], "eval.lengths") : std::vector<int64_t>{};

  YAML::Node sets;
  if (ev["sets"] && !ev["sets"].IsNull()) {
    sets.reset(ev["sets"]);
  } else {
    sets.reset(YAML::Node(YAML::NodeType::Map));
    sets["standard"] = YAML::Node(YAML::NodeType::Map);
  }
  if (!sets.IsMap() || sets.size() == 0)
    fail("eval.sets: expected a map of named evaluation sets, got {}", kind_of(sets));
  for (const auto& kv : sets) {
    EvalSetConfig es;
    es.name = key_name(kv.first, "eval.sets");
    const std::string where = "eval.sets." + es.name;
    if (es.name.empty() || es.name.find('/') != std::string::npos)
      fail("{}: set names must be non-empty and contain no '/'", where);
    const YAML::Node s = kv.second.IsNull() ? YAML::Node(YAML::NodeType::Map) : kv.second;
    check_keys(s, where, {"task", "prompts", "examples", "lengths", "spectrum"});
    es.prompts = get_int(s, "prompts", where + ".prompts", prompts, 1, 1e9);
    es.examples = get_int(s, "examples", where + ".examples", examples, 1, 1e6);
    es.lengths = s["lengths"] ? parse_lengths(s["lengths"], where + ".lengths") : lengths;
    es.task = cfg.task;
    if (s["task"]) {
      const YAML::Node t = s["task"];
      if (!t.IsMap()) fail("{}.task: expected a map of task parameters, got {}", where, kind_of(t));
      if (t["name"]) {
        es.task.name = get_string(t, "name", where + ".task.name", "");
        find_task(es.task.name);
      }
      for (const auto& [k, v] : scalar_map(t, where + ".task", {"name"})) es.task.params[k] = v;
    }
    if (s["spectrum"]) es.spectrum = parse_spectrum(s["spectrum"], where + ".spectrum", es);
    cfg.evals.push_back(es);
  }

  const YAML::Node bl = root["baselines"];
  if (bl && !bl.IsNull()) {
    if (!bl.IsSequence()) fail("baselines: expected a list, got {}", kind_of(bl));
    std::set<std::string> labels;
    for (size_t i = 0; i < bl.size(); ++i) {
      const std::string where = fmt::format("baselines.{}", i);
      ComponentConfig c = component(bl[i], where, true);
      // Validates the name and every parameter now, so a bad config fails before any work.
      c.label = make_baseline(c.name, c.params, c.label, where)->label();
      if (!labels.insert(c.label).second)
        fail("{}: two baselines share the label '{}' (give one a 'label')", where, c.label);
      cfg.baselines.push_back(c);
    }
  }
  for (const auto& es : cfg.evals) {
    const std::string where = "eval.sets." + es.name;
    auto task = make_task(es.task.name, es.task.params, where + ".task");
    if (task->encoding() == Encoding::Token) {
      if (es.lengths.empty())
        fail(
            "{}.lengths: task {} has token prompts; give the lengths to evaluate at (eval.lengths "
            "or per set: a list, or {{start, end, step}})",
            where, es.task.name);
      for (int64_t L : es.lengths) task->check_examples(L);
    } else {
      if (!es.lengths.empty())
        fail("{}.lengths: only for token tasks; {} has vector prompts (use examples)", where,
             es.task.name);
      task->check_examples(es.examples);
    }
  }
  if (root["train"] && !root["model"]) fail("train: given without a 'model' to train");
  if (root["model"]) {
    cfg.has_model = true;
    cfg.model = component(root["model"], "model", false);
    find_model(cfg.model.name);
    cfg.train = parse_train(root["train"], cfg.task, examples);
    make_model(cfg.model.name, cfg.model.params, model_io(cfg.task, longest_prompt(cfg)), "model");
    // A masked slot is predicted from both sides; a causal model would see only the left one.
    const ParamSet task = resolve_params(find_task(cfg.task.name).params, cfg.task.params, "task");
    const ParamSet model =
        resolve_params(find_model(cfg.model.name).params, cfg.model.params, "model");
    if (task.has("objective") && task.s("objective") == "mlm_u" &&
        !(model.has("causal") && !model.b("causal")))
      fail(
          "model.causal: task.objective mlm_u needs a non-causal model (transformer with "
          "causal: false), got {}",
          model.has("causal") ? "true" : cfg.model.name + " (always causal)");
  }
  return cfg;
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

BenchmarkConfig load_benchmark(const std::string& arg, const std::vector<std::string>& overrides) {
  std::string name;
  const std::string path = resolve_benchmark_path(arg, &name);
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    fail("config {}: not valid YAML ({} at line {})", path, e.msg, e.mark.line + 1);
  }
  refuse_duplicate_keys(root, path);
  for (const auto& o : overrides) apply_override(root, o);
  try {
    return parse_benchmark(root, name, path);
  } catch (const YAML::Exception& e) {  // e.g. a list where a name was expected
    fail("config {}: {}", path, e.msg);
  }
}

}  // namespace icl

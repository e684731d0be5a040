#include "run/resolved_run.h"

#include <algorithm>
#include <iterator>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "run/config_file.h"
#include "tasks/bandit_imitation.h"
#include "tasks/token_task.h"

namespace icl {

std::shared_ptr<const Task> resolve_task(const std::string& name, const RawParams& raw,
                                         const std::string& where) {
  return make_task(name, raw, where);
}

RawParams raw_params(const ParamSet& params) {
  RawParams raw;
  for (const auto& [k, v] : params.values()) raw[k] = to_string(v);
  return raw;
}

RawParams evaluation_params(const std::string& task_name, RawParams inherited,
                            const RawParams& given) {
  const ParamSpecs& specs = find_task(task_name).params;
  for (auto it = inherited.begin(); it != inherited.end();) {
    const auto spec = std::find_if(specs.begin(), specs.end(),
                                   [&](const ParamSpec& s) { return s.name == it->first; });
    it = spec == specs.end() || spec->training_only ? inherited.erase(it) : std::next(it);
  }
  for (const auto& [k, v] : given) inherited[k] = v;
  return inherited;
}

std::shared_ptr<const Task> evaluation_task(const std::shared_ptr<const Task>& task) {
  const ParamSpecs& specs = find_task(task->name()).params;
  const bool changes = std::any_of(specs.begin(), specs.end(), [&](const ParamSpec& s) {
    return s.training_only && task->params().has(s.name) &&
           to_string(task->params().values().at(s.name)) != to_string(s.def);
  });
  if (!changes) return task;
  return make_task(task->name(), evaluation_params(task->name(), raw_params(task->params()), {}),
                   "task");
}

std::unique_ptr<Task> with_params(const Task& task, const std::map<std::string, int64_t>& values) {
  ParamSet p = task.params();
  for (const auto& [k, v] : values) p.set(k, v);
  return find_task(task.name()).make(task.name(), p);
}

namespace {

struct Component {  // a task, baseline, policy or model entry: registry name + raw parameters
  std::string name, label;
  RawParams params;
};

Component component(const YAML::Node& n, const std::string& where, bool labelled) {
  Component c;
  if (n.IsScalar()) {
    c.name = n.as<std::string>();
    return c;
  }
  if (!n.IsMap()) fail("{}: expected a name or a map with 'name', got {}", where, kind_of(n));
  if (!n["name"]) fail("{}: missing 'name'", where);
  c.name = get_string(n, "name", where + ".name", "");
  if (labelled) c.label = get_string(n, "label", where + ".label", "");
  c.params = scalar_map(n, where, {"name", "label"});
  return c;
}

// A declared section from a YAML map (absent or null: every default); its custom keys are left to
// the caller.
template <class T>
void parse_section(const Section<T>& section, const YAML::Node& n, const std::string& where,
                   T& out) {
  if (!n || n.IsNull()) return;
  if (!n.IsMap()) fail("{}: expected a map, got {}", where, kind_of(n));
  check_keys(n, where, [&] {
    std::vector<std::string> keys;
    for (const auto& f : section.fields()) keys.push_back(f.spec.name);
    return keys;
  }());
  section.parse(scalar_map(n, where, section.custom_keys()), where, out);
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

// train:, its curriculum checked against `task` (dims ramp its active_dims up to d; points the
// examples per prompt up to `examples`; any other integer parameter between valid values).
TrainConfig parse_train(const YAML::Node& n, const Task& task, int64_t examples) {
  if (!n || n.IsNull()) fail("model: given without a 'train' section");
  TrainConfig t;
  parse_section(train_section(), n, "train", t);
  t.schedule.total = t.steps;
  if (t.loss_on == "last" && task.prompt_kind() != PromptKind::Vector)
    fail("train.loss_on: last needs vector prompts; task {} has {} prompts", task.name(),
         to_string(task.prompt_kind()));
  if (t.batch_size % t.micro_batches != 0)
    fail("train.micro_batches: must divide train.batch_size ({}) into equal parts, got {}",
         t.batch_size, t.micro_batches);

  const bool has_dims = task.params().has("active_dims") && task.params().has("d");
  const int64_t d = has_dims ? task.params().i("d") : 0;
  const YAML::Node cur = n["curriculum"];
  if (cur && !cur.IsMap()) fail("train.curriculum: expected a map, got {}", kind_of(cur));
  // Besides dims and points, any integer parameter of the task can ramp; each value the ramp
  // takes must itself be a valid parameter (checked at both ends, the ramp being monotone).
  std::vector<std::string> allowed{"dims", "points"};
  const ParamSpecs& specs = find_task(task.name()).params;
  for (const auto& spec : specs)
    if (spec.type == ParamType::Int && spec.name != "active_dims" && spec.name != "d")
      allowed.push_back(spec.name);
  if (cur) check_keys(cur, "train.curriculum", allowed);
  if (cur && cur["dims"] && !has_dims)
    fail("train.curriculum.dims: task {} has no active_dims parameter to ramp", task.name());
  t.dims = parse_ramp(cur ? cur["dims"] : YAML::Node(), "train.curriculum.dims", d);
  t.points = parse_ramp(cur ? cur["points"] : YAML::Node(), "train.curriculum.points", examples);
  if (has_dims && t.dims.end > d)
    fail("train.curriculum.dims.end: must be <= task.d = {}, got {}", d, t.dims.end);
  for (size_t i = 2; cur && i < allowed.size(); ++i) {
    const std::string& key = allowed[i];
    if (!cur[key]) continue;
    const std::string where = "train.curriculum." + key;
    const Ramp r = parse_ramp(cur[key], where, task.params().i(key));
    const ParamSpec& spec = *std::find_if(specs.begin(), specs.end(),
                                          [&](const ParamSpec& s) { return s.name == key; });
    for (const int64_t v : {r.start, r.end}) {
      check_param(spec, v, "train.curriculum." + key);
      with_params(task, {{key, v}});  // the task's own checks across parameters
    }
    t.task_ramps[key] = r;
  }
  return t;
}

SpectrumConfig parse_spectrum(const YAML::Node& n, const std::string& where, const EvalSet& es) {
  if (!n.IsMap()) fail("{}: expected a map, got {}", where, kind_of(n));
  const Task& task = *es.task;
  const PromptBatch probe = task.sample({0, 0}, 0, 1, 1);
  const bool has_l = task.params().has("L");
  const double l = has_l ? task.params().r("L") : 0.0;
  // The defaults that depend on the set, before the keys given are read over them.
  SpectrumKeys k;
  k.context = std::min<int64_t>(20, es.examples - 1);
  k.prompts = std::min<int64_t>(100, es.prompts);
  k.lo = -l;
  k.hi = l;
  parse_section(spectrum_section(), n, where, k);
  // The ranges that depend on the set: the same message as any out-of-range key.
  ParamSpec context = spectrum_section().find("context")->spec;
  context.max = double(es.examples - 1);
  check_param(context, k.context, where + ".context");
  ParamSpec prompts = spectrum_section().find("prompts")->spec;
  prompts.max = double(es.prompts);
  check_param(prompts, k.prompts, where + ".prompts");
  const VectorPrompts* vp = probe.get<VectorPrompts>();
  if (!vp)
    fail("{}: needs vector prompts, {} has {} prompts", where, task.name(),
         to_string(probe.kind()));
  if (vp->dx != 1)
    fail("{}: needs a task with one-dimensional inputs, {} has dx = {}", where, task.name(),
         vp->dx);
  for (const char* key : {"lo", "hi"})
    if (!n[key] && !has_l)
      fail("{}.{}: required (task {} has no L parameter to default to)", where, key, task.name());
  if (!(k.lo < k.hi)) fail("{}: lo must be below hi, got [{}, {})", where, k.lo, k.hi);
  return {k.points, k.context, k.prompts, k.lo, k.hi};
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

// The inputs a model for `task` sees (dx, dy from one sampled prompt) with prompts up to
// max_examples; for a token task, its vocabulary and the tokens of its longest prompt (max_examples
// read as a length, or the task's max_length if longer).
ModelIO model_io(const Task& task, int64_t max_examples) {
  if (const TokenTask* tt = as_token_task(task)) {
    // seq_len never decreases with the length, so the longest length has the most tokens.
    const int64_t longest = std::max(max_examples, tt->max_length());
    return {0, 1, longest, tt->vocab(), tt->seq_len(longest), tt->hidden_tokens()};
  }
  const ExampleDims d = example_dims(task.sample({0, 0}, 0, 1, 1));
  return {d.dx, d.dy, max_examples};
}

// The longest prompt a run's model meets: examples (or lengths) of every evaluation set and of
// training, including the ends of a curriculum on max_length, and a bandit's horizon.
int64_t longest_prompt(const ResolvedRun& run) {
  // Token sets count only their lengths (their `examples` is unused and not in the resolved
  // config), so a run and its reloaded config build the same model.
  const bool token = run.task->prompt_kind() == PromptKind::Token;
  int64_t longest = !token ? run.train.points.end : 0;
  if (run.bandit) longest = std::max(longest, run.bandit->setup.horizon);
  for (const auto& es : run.evals) {
    if (es.lengths.empty()) longest = std::max(longest, es.examples);
    for (int64_t L : es.lengths) longest = std::max(longest, L);
  }
  if (const auto it = run.train.task_ramps.find("max_length"); it != run.train.task_ramps.end())
    longest = std::max({longest, it->second.start, it->second.end});
  return longest;
}

const char* const kReplicaKeys[] = {"replicas", "replica_seeds", "replica_lrs"};

// The replica keys `train` (a train: node) gives, set to something other than null.
std::vector<std::string> replica_keys(const YAML::Node& train) {
  std::vector<std::string> keys;
  if (train && train.IsMap())
    for (const char* key : kReplicaKeys)
      if (train[key] && !train[key].IsNull()) keys.push_back(key);
  return keys;
}

// train.replica_seeds or replica_lrs: a non-empty list, each entry's text (checked by the caller).
std::vector<std::string> replica_list(const YAML::Node& n, const std::string& where,
                                      const char* what) {
  if (!n.IsSequence() || n.size() == 0)
    fail("{}: expected a list of {}, one per replica, got {}", where, what,
         n.IsSequence() ? "an empty list" : kind_of(n));
  std::vector<std::string> out;
  for (size_t i = 0; i < n.size(); ++i) {
    if (!n[i].IsScalar()) fail("{}.{}: expected a single value, got {}", where, i, kind_of(n[i]));
    out.push_back(n[i].Scalar());
  }
  return out;
}

// train.replicas with its lists (run/replicas.h): every replica's seed (given, or seed + i) and
// learning rate (given, or train.lr), each entry checked as the key it stands for, one entry per
// replica, no two replicas the same run.
Replicas parse_replicas(const YAML::Node& train, const ResolvedRun& run) {
  Replicas r;
  r.keys = replica_keys(train);
  const auto given = [&](const char* key) {
    return std::find(r.keys.begin(), r.keys.end(), key) != r.keys.end();
  };
  std::vector<uint64_t> seeds;
  std::vector<std::string> lr_texts;
  std::vector<double> lrs;
  if (given("replica_seeds")) {
    const ParamSpec spec = ParamSpec::integer("seed", 0, "", 0, 1e18);  // as the top-level seed
    const auto texts = replica_list(train["replica_seeds"], "train.replica_seeds", "seeds");
    for (size_t i = 0; i < texts.size(); ++i)
      seeds.push_back(uint64_t(std::get<int64_t>(
          parse_param(spec, texts[i], fmt::format("train.replica_seeds.{}", i)))));
  }
  if (given("replica_lrs")) {
    const ParamSpec& spec = train_section().find("lr")->spec;
    lr_texts = replica_list(train["replica_lrs"], "train.replica_lrs", "learning rates");
    for (size_t i = 0; i < lr_texts.size(); ++i)
      lrs.push_back(
          std::get<double>(parse_param(spec, lr_texts[i], fmt::format("train.replica_lrs.{}", i))));
  }
  if (!seeds.empty() && !lrs.empty() && seeds.size() != lrs.size())
    fail(
        "train.replica_lrs: {} learning rates for the {} seeds of train.replica_seeds; give one "
        "per replica",
        lrs.size(), seeds.size());
  size_t count = size_t(run.train.replicas);
  const struct {
    const char* key;
    size_t n;
    const char* what;
  } lists[] = {{"replica_seeds", seeds.size(), "seeds"},
               {"replica_lrs", lrs.size(), "learning rates"}};
  for (const auto& l : lists) {
    if (l.n == 0) continue;
    if (given("replicas") && l.n != count)
      fail(
          "train.{}: {} {} for train.replicas: {}; give one per replica (or leave train.replicas "
          "out)",
          l.key, l.n, l.what, count);
    count = l.n;
  }
  if (count == 1 && seeds.empty() && lrs.empty()) return {};  // one run
  for (size_t i = 0; i < count; ++i) {
    Replica rep;
    rep.seed = seeds.empty() ? run.seed + uint64_t(i) : seeds[i];
    rep.lr = lrs.empty() ? run.train.schedule.lr : lrs[i];
    rep.lr_text = lr_texts.empty() ? "" : lr_texts[i];
    for (size_t j = 0; j < i; ++j)
      if (r.runs[j].seed == rep.seed && r.runs[j].lr == rep.lr)
        fail(
            "train.replica_seeds: replicas {} and {} are the same run (seed {}, lr {}); each "
            "replica needs its own seed{}",
            j, i, rep.seed, rep.lr, lrs.empty() ? "" : " or learning rate");
    r.runs.push_back(rep);
  }
  return r;
}

// model: with train:, checked by building the model once; a task that predicts masked slots from
// both sides needs a model that looks both ways.
void resolve_model(const YAML::Node& root, ResolvedRun& run, int64_t examples) {
  const Component c = component(root["model"], "model", false);
  const ModelInfo& info = find_model(c.name);
  run.train = parse_train(root["train"], *run.task, examples);
  run.replicas = parse_replicas(root["train"], run);
  ModelSpec m{c.name, resolve_params(info.params, c.params, "model"), {}};
  run.model = m;  // longest_prompt reads the train section and the sets, not the model
  run.model->io = model_io(*run.task, longest_prompt(run));
  const bool both_ways = run.build_model()->bidirectional();
  const std::string reason = run.task->bidirectional_reason();
  const ParamSet& mp = run.model->params;
  if (!reason.empty() && !both_ways)
    fail(
        "model.causal: {} needs a non-causal model (past, or transformer with causal: false), got "
        "{}",
        reason, mp.has("causal") ? "true" : c.name + " (always causal)");
}

// A model pretrained on bandit histories (by default the task kBanditHistoryTask) over the bandit
// section's environments, for the whole horizon: the setup's resolved values are the task's, so
// they cannot also be set under task.
void resolve_bandit_model(const YAML::Node& root, ResolvedRun& run) {
  YAML::Node t = root["task"] ? YAML::Clone(root["task"]) : YAML::Node(YAML::NodeType::Map);
  if (t.IsMap() && !t["name"]) t["name"] = kBanditHistoryTask;
  Component task = component(t, "task", false);
  const ParamSpecs& specs = find_task(task.name).params;
  if (std::none_of(specs.begin(), specs.end(),
                   [](const ParamSpec& p) { return p.name == "setup"; }))
    fail("task: {} does not make bandit histories (use {})", task.name, kBanditHistoryTask);
  const BanditSetup& b = run.bandit->setup;
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
    const auto it = task.params.find(k);
    if (it != task.params.end() && !same(it->second, v))
      fail("task.{}: comes from the bandit section ({}), got {}", k, v, it->second);
    task.params[k] = v;
  }
  run.task = make_task(task.name, task.params, "task");
  if (run.task->prompt_kind() != PromptKind::History)
    fail("task: {} does not make bandit histories (use {})", task.name, kBanditHistoryTask);
  resolve_model(root, run, b.horizon);
  if (run.train.points.end > b.horizon)
    fail("train.curriculum.points.end: must be <= bandit.horizon = {}, got {}", b.horizon,
         run.train.points.end);
  // Logged trajectories of the clean expert, whatever perturbation the training data had, and of
  // the optimal arm.
  RawParams logged = task.params;
  if (logged.count("expert_noise")) logged["expert_noise"] = "0";
  RawParams optimal = logged;
  optimal["label"] = "optimal";
  run.bandit->offline = {{"offline", make_task(task.name, logged, "task")},
                         {"offline_optimal", make_task(task.name, optimal, "task")}};
}

// The bandit sections: environments checked, every policy constructed.
void resolve_bandit(const YAML::Node& root, ResolvedRun& run) {
  run.bandit.emplace();
  const YAML::Node b = root["bandit"];
  if (!b.IsMap() && !b.IsNull()) fail("bandit: expected a map of parameters, got {}", kind_of(b));
  run.bandit->setup =
      make_bandit_setup(b.IsMap() ? scalar_map(b, "bandit") : RawParams{}, "bandit");
  parse_section(rollout_section(), root["rollout"], "rollout", run.bandit->rollout);
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
    const Component c = component(pl[i], where, true);
    BanditPolicySpec spec = make_bandit_policy(c.name, c.params, c.label, where);
    if (!labels.insert(spec.label).second)
      fail("{}: label '{}' is used twice (give one a label)", where, spec.label);
    run.bandit->policies.push_back(std::move(spec));
  }
  if (root["model"]) resolve_bandit_model(root, run);
}

void resolve_sets(const YAML::Node& ev, ResolvedRun& run, const Component& task) {
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
    EvalSet es;
    es.name = key_name(kv.first, "eval.sets");
    const std::string where = "eval.sets." + es.name;
    if (es.name.empty() || es.name.find('/') != std::string::npos)
      fail("{}: set names must be non-empty and contain no '/'", where);
    const YAML::Node s = kv.second.IsNull() ? YAML::Node(YAML::NodeType::Map) : kv.second;
    check_keys(s, where,
               {"task", "prompts", "examples", "lengths", "spectrum", "prediction_difference"});
    // A set's prompts and examples are the eval section's keys, with its values as defaults.
    const ParamSpec& prompts = eval_section().find("prompts")->spec;
    const ParamSpec& examples = eval_section().find("examples")->spec;
    es.prompts = get_int(s, "prompts", where + ".prompts", run.eval.prompts, int64_t(prompts.min),
                         int64_t(prompts.max));
    es.examples = get_int(s, "examples", where + ".examples", run.eval.examples,
                          int64_t(examples.min), int64_t(examples.max));
    es.lengths = s["lengths"] ? parse_lengths(s["lengths"], where + ".lengths") : lengths;
    es.prediction_difference =
        get_bool(s, "prediction_difference", where + ".prediction_difference",
                 run.eval.prediction_difference);
    // The benchmark's task with the set's changes; parameters that shape training prompts only
    // (label noise) are not inherited, so a set is scored on clean labels unless it says otherwise.
    Component set_task = task;
    RawParams given;
    if (s["task"]) {
      const YAML::Node t = s["task"];
      if (!t.IsMap()) fail("{}.task: expected a map of task parameters, got {}", where, kind_of(t));
      given = scalar_map(t, where + ".task", {"name"});
      if (t["name"]) {
        set_task.name =
            registry_name(get_string(t, "name", where + ".task.name", ""), given, where + ".task");
        find_task(set_task.name);
      }
    }
    set_task.params = evaluation_params(set_task.name, set_task.params, given);
    es.task = make_task(set_task.name, set_task.params, where + ".task");
    if (s["spectrum"]) es.spectrum = parse_spectrum(s["spectrum"], where + ".spectrum", es);
    run.evals.push_back(es);
  }
  for (const auto& es : run.evals) {
    const std::string where = "eval.sets." + es.name;
    if (es.prediction_difference && es.task->prompt_kind() != PromptKind::Vector)
      fail(
          "{}.prediction_difference: only for tasks with vector prompts (one prediction per "
          "example); {} has {} prompts",
          where, es.task->name(), to_string(es.task->prompt_kind()));
    if (es.task->prompt_kind() == PromptKind::Token) {
      if (es.lengths.empty())
        fail(
            "{}.lengths: task {} has token prompts; give the lengths to evaluate at (eval.lengths "
            "or per set: a list, or {{start, end, step}})",
            where, es.task->name());
      for (int64_t L : es.lengths) es.task->check_examples(L);
    } else {
      if (!es.lengths.empty())
        fail("{}.lengths: only for token tasks; {} has vector prompts (use examples)", where,
             es.task->name());

      es.task->check_examples(es.examples);
    }
  }
}

// Replicas are models trained side by side; a config without one has nothing to replicate (its
// baselines at other seeds are other runs: --seed).
void refuse_replicas_without_model(const YAML::Node& root, const std::string& name) {
  const std::vector<std::string> keys = replica_keys(root["train"]);
  if (!keys.empty())
    fail(
        "train.{}: replicas are models trained side by side in one process; benchmark {} has no "
        "model (run each seed on its own with --seed)",
        keys.front(), name);
}

}  // namespace

std::unique_ptr<Model> ResolvedRun::build_model() const {
  ICL_ASSERT(model.has_value());
  return find_model(model->name).make(model->params, model->io);
}

EvalOptions ResolvedRun::eval_options(const EvalSet& s) const {
  EvalOptions eo;
  eo.prompts = s.prompts;
  eo.examples = s.examples;
  eo.lengths = s.lengths;
  eo.prediction_difference = s.prediction_difference;
  eo.per_prompt = eval.per_prompt;
  eo.batch_size = eval.batch_size;
  eo.bootstrap = eval.bootstrap;
  return eo;
}

EvalOptions ResolvedRun::offline_eval_options() const {
  ICL_ASSERT(bandit.has_value());
  EvalOptions eo;
  eo.prompts = bandit->rollout.environments;
  eo.examples = bandit->setup.horizon;
  eo.batch_size = eval.batch_size;
  eo.bootstrap = eval.bootstrap;
  return eo;
}

ResolvedRun resolve_run(const YAML::Node& root, const std::string& name,
                        const std::string& source) {
  ResolvedRun run;
  run.name = name;
  run.source = source;
  if (!root.IsMap())
    fail("config {}: expected a map at the top level, got {}", source, kind_of(root));
  if (root["bandit"] && root["model"]) {
    check_keys(root, "",
               {"description", "seed", "bandit", "rollout", "policies", "task", "model", "train"});
  } else if (root["bandit"]) {
    refuse_replicas_without_model(root, name);
    if (root["train"]) fail("train: given without a 'model' to train");
    check_keys(root, "", {"description", "seed", "bandit", "rollout", "policies"});
  } else {
    check_keys(root, "", {"description", "seed", "task", "eval", "baselines", "model", "train"});
  }
  run.description = get_string(root, "description", "description", "");
  run.seed = uint64_t(get_int(root, "seed", "seed", 0, 0, 1e18));
  if (root["bandit"]) {
    resolve_bandit(root, run);
    return run;
  }

  if (!root["task"]) fail("config {}: missing 'task'", source);
  Component task = component(root["task"], "task", false);
  task.name = registry_name(task.name, task.params, "task");
  run.task = make_task(task.name, task.params, "task");

  const YAML::Node ev = root["eval"];
  if (!ev) fail("config {}: missing 'eval'", source);
  parse_section(eval_section(), ev, "eval", run.eval);
  resolve_sets(ev, run, task);

  const YAML::Node bl = root["baselines"];
  if (bl && !bl.IsNull()) {
    if (!bl.IsSequence()) fail("baselines: expected a list, got {}", kind_of(bl));
    std::set<std::string> labels;
    for (size_t i = 0; i < bl.size(); ++i) {
      const std::string where = fmt::format("baselines.{}", i);
      const Component c = component(bl[i], where, true);
      std::shared_ptr<const Baseline> b = make_baseline(c.name, c.params, c.label, where);
      if (!labels.insert(b->label()).second)
        fail("{}: two baselines share the label '{}' (give one a 'label')", where, b->label());
      run.baselines.push_back(std::move(b));
    }
  }
  if (!root["model"]) refuse_replicas_without_model(root, name);
  if (root["train"] && !root["model"]) fail("train: given without a 'model' to train");
  if (root["model"]) resolve_model(root, run, run.eval.examples);
  return run;
}

std::vector<ResolvedRun> replica_runs(const YAML::Node& root, const std::string& name,
                                      const std::string& source) {
  const ResolvedRun all = resolve_run(root, name, source);
  std::vector<ResolvedRun> out;
  for (const Replica& r : all.replicas.runs) {
    YAML::Node one = YAML::Clone(root);
    one["seed"] = r.seed;
    YAML::Node train = one["train"];
    for (const char* key : kReplicaKeys) train.remove(key);
    if (!r.lr_text.empty()) train["lr"] = r.lr_text;
    out.push_back(resolve_run(one, name, source));
    ICL_ASSERT(out.back().replicas.runs.empty() && out.back().seed == r.seed &&
               out.back().train.schedule.lr == r.lr);
  }
  return out;
}

std::vector<ResolvedRun> replica_runs(const std::string& arg,
                                      const std::vector<std::string>& overrides) {
  std::string name, path;
  const YAML::Node root = load_config_tree(arg, overrides, &name, &path);
  try {
    return replica_runs(root, name, path);
  } catch (const YAML::Exception& e) {
    fail("config {}: {}", path, e.msg);
  }
}

ResolvedRun load_run(const std::string& arg, const std::vector<std::string>& overrides) {
  std::string name, path;
  const YAML::Node root = load_config_tree(arg, overrides, &name, &path);
  try {
    return resolve_run(root, name, path);
  } catch (const YAML::Exception& e) {  // e.g. a list where a name was expected
    fail("config {}: {}", path, e.msg);
  }
}

}  // namespace icl

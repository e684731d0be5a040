#include "python/bindings.h"

#include <pybind11/numpy.h>
#include <pybind11/stl.h>
#include <yaml-cpp/yaml.h>

#include <memory>

#include <fmt/format.h>

#include "baselines/baseline.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "core/threads.h"
#include "core/version.h"
#include "eval/generate.h"
#include "eval/results.h"
#include "eval/streams.h"
#include "models/model.h"
#include "python/prompt_rng.h"
#include "python/py_task.h"
#include "run/config_file.h"
#include "run/resolved_run.h"
#include "run/run_to_file.h"
#include "tasks/token_task.h"

namespace icl::py {

namespace pyb = pybind11;
using pyb::literals::operator""_a;

namespace {

// A long call: the GIL released (other Python threads run; DataLoader workers are processes) and
// SIGINT/SIGTERM ours for its length (core/interrupt.h): training stops at its next step with a
// checkpoint, sampling and baselines at their next chunk of prompts, and the interpreter's
// handlers are back afterwards. A signal that arrived while the call finished anyway is reported
// as KeyboardInterrupt all the same, as Python would.
template <class F>
auto interruptible(F&& f) {
  int sig = 0;
  auto result = [&] {
    pyb::gil_scoped_release nogil;
    interrupt::Scope scope;
    struct Check {  // records the signal as the scope ends, also when f throws
      int& sig;
      ~Check() { sig = interrupt::requested(); }
    } check{sig};
    return f();
  }();
  if (sig) {
    PyErr_SetString(PyExc_KeyboardInterrupt, "interrupted");
    throw pyb::error_already_set();
  }
  return result;
}

void check_interrupt(const char* what) {
  if (const int sig = interrupt::requested())
    throw Interrupted(sig, fmt::format("{} interrupted", what));
}

// Calls per chunk of prompts, so that Ctrl-C is seen within one chunk.
constexpr int64_t kChunk = 1024;

pyb::dict param_spec(const ParamSpec& s) {
  static const char* types[] = {"int", "real", "bool", "choice"};
  pyb::dict d("name"_a = s.name, "type"_a = types[int(s.type)], "help"_a = s.help,
              "training_only"_a = s.training_only);
  d["default"] = std::visit([](const auto& v) -> pyb::object { return pyb::cast(v); }, s.def);
  if (s.type == ParamType::Int || s.type == ParamType::Real) {
    d["min"] = s.min;
    d["max"] = s.max;
  }
  if (s.type == ParamType::Choice) d["choices"] = s.choices;
  d["describe"] = describe(s);
  return d;
}

pyb::list param_specs(const ParamSpecs& specs) {
  pyb::list l;
  for (const auto& s : specs) l.append(param_spec(s));
  return l;
}

// Every entry of a registry as {name, summary, params}.
template <class Registry>
pyb::list registry_list(const Registry& registry) {
  pyb::list l;
  for (const auto& e : registry)
    l.append(
        pyb::dict("name"_a = e.name, "summary"_a = e.summary, "params"_a = param_specs(e.params)));
  return l;
}

ParamSpecs specs_from(const pyb::list& specs) {
  // (name, type, default, help, min, max, choices) as iclbench.task reads them from the fields.
  ParamSpecs out;
  for (const pyb::handle h : specs) {
    const auto t = h.cast<pyb::tuple>();
    const auto name = t[0].cast<std::string>();
    const auto type = t[1].cast<std::string>();
    const auto help = t[3].cast<std::string>();
    const double lo = t[4].cast<double>(), hi = t[5].cast<double>();
    if (type == "int")
      out.push_back(ParamSpec::integer(name, t[2].cast<int64_t>(), help, lo, hi));
    else if (type == "real")
      out.push_back(ParamSpec::real(name, t[2].cast<double>(), help, lo, hi));
    else if (type == "bool")
      out.push_back(ParamSpec::boolean(name, t[2].cast<bool>(), help));
    else
      out.push_back(ParamSpec::choice(name, t[2].cast<std::string>(),
                                      t[6].cast<std::vector<std::string>>(), help));
    check_param(out.back(), out.back().def, "parameter " + name + " (its default)");
  }
  return out;
}

// Sampled prompts. The arrays handed to Python are views of the batch's own buffers (no copy);
// each keeps this object, and so the batch, alive.
struct Prompts {
  std::shared_ptr<const Task> task;
  std::shared_ptr<const PromptBatch> batch;
};

template <class T>
pyb::object view(const pyb::object& owner, const std::vector<T>& v, std::vector<int64_t> shape) {
  if (v.empty()) return pyb::none();
  return pyb::array_t<T>(shape, v.data(), owner);
}

pyb::object array_of(const pyb::object& self, const std::string& what) {
  const Prompts& p = self.cast<const Prompts&>();
  const PromptBatch& pb = *p.batch;
  const int64_t B = pb.batch(), K = pb.n_examples();
  if (const auto* t = pb.get<TokenPrompts>()) {
    if (what == "tokens") return view(self, t->tokens, {B, t->seq_len});
    if (what == "targets") return view(self, t->targets, {B, t->seq_len});
    if (what == "loss_mask") return view(self, t->loss_mask, {B, t->seq_len});
  } else if (const auto* h = pb.get<HistoryPrompts>()) {
    if (what == "xs") return view(self, h->xs, {B, K, h->dx});
    if (what == "ys") return view(self, h->ys, {B, K, h->dy});
    if (what == "targets") return view(self, h->targets, {B, K});
  } else {
    const auto& v = pb.as<VectorPrompts>("prompts");
    if (what == "xs") return view(self, v.xs, {B, K, v.dx});
    if (what == "ys") return view(self, v.ys, {B, K, v.dy});
    if (what == "xq") return view(self, v.xq, {B, K, v.dx});
    if (what == "yq") return view(self, v.yq, {B, K, v.dy});
    if (what == "x_cov") return view(self, v.x_cov, {v.dx, v.dx});
    if (what == "loss_mask") return view(self, v.loss_mask, {B, K});
  }
  if (what == "truth") return view(self, pb.common().truth, {B, pb.common().truth_dim});
  return pyb::none();
}

Prompts sample(const std::string& task_name, const RawParams& raw, int64_t prompts,
               int64_t examples, uint64_t seed, const std::string& stream, int64_t first) {
  // `icl generate`'s checks and prompts (eval/generate.h), in parts so that Ctrl-C is seen.
  if (prompts < 1) fail("prompts: must be >= 1, got {}", prompts);
  if (examples < 1) fail("examples: must be >= 1, got {}", examples);
  if (first < 0) fail("first: must be >= 0, got {}", first);
  if (seed > uint64_t(1e18)) fail("seed: must be an integer from 0 to 1e18, got {}", seed);
  const auto task = resolve_task(task_name, raw, task_name);
  auto batch = interruptible([&] {
    return std::make_shared<const PromptBatch>(generate_prompts(
        *task, seed, stream, first, prompts, examples, "stream",
        fmt::format("prompts {} x examples {}", prompts, examples),
        [] { check_interrupt("sample"); }, kChunk));
  });
  return {task, std::move(batch)};
}

std::vector<float> predict(const Predictor& p, const PromptBatch& pb) {
  return interruptible([&] {
    const int64_t B = pb.batch();
    if (B <= kChunk) return p.predict(pb);
    std::vector<float> out;
    for (int64_t at = 0; at < B; at += kChunk) {
      check_interrupt("baseline");
      const std::vector<float> part = p.predict(slice_prompts(pb, at, std::min(kChunk, B - at)));
      out.insert(out.end(), part.begin(), part.end());
    }
    return out;
  });
}

pyb::array_t<float> to_array(std::vector<float> v, std::vector<int64_t> shape) {
  auto* owned = new std::vector<float>(std::move(v));
  pyb::capsule free(owned, [](void* p) { delete static_cast<std::vector<float>*>(p); });
  return pyb::array_t<float>(shape, owned->data(), free);
}

using FloatArray = pyb::array_t<float, pyb::array::c_style | pyb::array::forcecast>;

// The prompts a regression baseline reads, from arrays made anywhere: xs [B, K, dx], ys [B, K]
// (or [B, K, 1]), optional queries xq [B, K, dx] and input covariance x_cov [dx, dx].
PromptBatch vector_prompts(const FloatArray& xs, const FloatArray& ys, const pyb::object& xq,
                           const pyb::object& x_cov) {
  if (xs.ndim() != 3) fail("xs: must be [prompts, examples, dx], got {} dimensions", xs.ndim());
  const int64_t B = xs.shape(0), K = xs.shape(1), dx = xs.shape(2);
  if (B < 1 || K < 1 || dx < 1)
    fail("xs: every dimension must be >= 1, got [{}, {}, {}]", B, K, dx);
  const bool ys_ok = (ys.ndim() == 2 || (ys.ndim() == 3 && ys.shape(2) == 1)) && ys.shape(0) == B &&
                     ys.shape(1) == K;
  if (!ys_ok)
    fail(
        "ys: must be [{}, {}] (or [{}, {}, 1]) to match xs, got {} dimensions of shape [{}, {}, "
        "...]",
        B, K, B, K, ys.ndim(), ys.ndim() > 0 ? ys.shape(0) : 0, ys.ndim() > 1 ? ys.shape(1) : 0);
  VectorPrompts p;
  p.batch = B;
  p.n_examples = K;
  p.dx = dx;
  p.dy = 1;
  p.xs.assign(xs.data(), xs.data() + xs.size());
  p.ys.assign(ys.data(), ys.data() + ys.size());
  if (!xq.is_none()) {
    const auto q = xq.cast<FloatArray>();
    if (q.ndim() != 3 || q.shape(0) != B || q.shape(1) != K || q.shape(2) != dx)
      fail("xq: must have the shape of xs, [{}, {}, {}]", B, K, dx);
    p.xq.assign(q.data(), q.data() + q.size());
    p.yq.assign(size_t(B * K), 0.f);  // never read by a predictor (only the scores use it)
  }
  if (!x_cov.is_none()) {
    const auto c = x_cov.cast<pyb::array_t<double, pyb::array::c_style | pyb::array::forcecast>>();
    if (c.ndim() != 2 || c.shape(0) != dx || c.shape(1) != dx)
      fail("x_cov: must be [{}, {}] (dx x dx)", dx, dx);
    p.x_cov.assign(c.data(), c.data() + c.size());
  }
  return PromptBatch(std::move(p));
}

struct RunSummary {
  std::string out, tables;
  int64_t trained_steps = 0;
  double final_loss = 0, seconds = 0;
  bool stopped_early = false;
  std::string checkpoint;
};

RunSummary run(const std::string& config, bool is_text, const std::vector<std::string>& overrides,
               std::string out, const std::string& device, const std::string& resume, bool force,
               int64_t until, bool progress) {
  if (device != "auto" && device != "cpu" && device != "cuda")
    fail("device: must be one of auto|cpu|cuda, got '{}'", device);
  ResolvedRun r;
  if (is_text) {
    YAML::Node root;
    try {
      root = YAML::Load(config);
    } catch (const YAML::Exception& e) {
      fail("config: {}", e.msg);
    }
    if (!root.IsMap()) fail("config: expected a map of sections, got {}", kind_of(root));
    refuse_duplicate_keys(root, "config");
    for (const auto& o : overrides) apply_override(root, o);
    const std::string name = root["benchmark"] && root["benchmark"].IsScalar()
                                 ? root["benchmark"].Scalar()
                                 : std::string("python");
    root.remove("benchmark");
    try {
      r = resolve_run(root, name, "<config from Python>");
    } catch (const YAML::Exception& e) {
      fail("config: {}", e.msg);
    }
  } else {
    r = load_run(config, overrides);
  }
  // Replicas are several results files; this call returns one run's (README, "Many replicas in
  // one process").
  if (!r.replicas.runs.empty())
    fail(
        "train.replicas: iclbench.run trains one model and returns its results; run the {} "
        "replicas with icl run (a file each), or call iclbench.run once per seed",
        r.replicas.runs.size());
  if (out.empty()) out = "results/" + r.name + ".h5";
  if (until < 0) fail("until: must be >= 1, got {}", until);
  if (until > 0 && !r.has_model()) fail("until: benchmark {} trains no model", r.name);
  if (!resume.empty() && !r.has_model()) fail("resume: benchmark {} trains no model", r.name);
  if (force && resume.empty()) fail("force: only means something with resume");
  RunRequest req;
  req.out = out;
  req.force = force;
  req.options.device = device;
  req.options.resume = resume;
  req.options.until = until;
  req.options.progress = progress;
  req.on_note = [](const std::string& line) { fmt::print(stderr, "icl: note: {}\n", line); };
  const BenchmarkResult res = interruptible([&] { return run_to_file(r, req); });
  RunSummary s;
  s.out = out;
  s.trained_steps = res.trained_steps;
  s.final_loss = res.final_loss;
  s.seconds = res.seconds;
  s.stopped_early = res.stopped_early;
  s.checkpoint = res.checkpoint_path;
  for (const auto& e : res.evals) s.tables += summary_table(e) + "\n";
  if (!res.regret.empty())
    s.tables += regret_table(r.bandit->setup, r.bandit->rollout.environments, res.regret) + "\n";
  return s;
}

}  // namespace

void define_module(pyb::module_& m) {
  m.doc() = "The C++ half of iclbench (use the package iclbench, which documents the API)";
  // icl::Error is the user's error: ValueError with its one line. Interrupted: the Ctrl-C that
  // stopped a call (a run's checkpoint is saved first).
  pyb::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Interrupted& e) {
      PyErr_SetString(PyExc_KeyboardInterrupt, e.what());
    } catch (const Error& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });

  m.def("version", [] {
    return pyb::dict("version"_a = icl::version(), "commit"_a = git_commit(),
                     "cuda_built"_a = cuda_built());
  });
  m.def(
      "set_threads", [](int n) { return threads::apply(n).threads; }, "n"_a = 0);

  m.def("tasks", [] { return registry_list(task_registry()); });
  m.def("baselines", [] {
    pyb::list l = registry_list(baseline_registry());
    for (size_t i = 0; i < l.size(); ++i)
      l[i].cast<pyb::dict>()["not_built"] = baseline_registry()[i].not_built;
    return l;
  });
  m.def("models", [] { return registry_list(model_registry()); });
  m.def("benchmarks", [] {
    pyb::list l;
    for (const auto& name : list_benchmarks())
      l.append(pyb::dict("name"_a = name, "description"_a = benchmark_description(name)));
    return l;
  });
  m.def("config_dir", &config_dir);

  pyb::class_<PromptRng, std::shared_ptr<PromptRng>>(m, "PromptRng")
      .def(pyb::init([](uint64_t seed, const std::string& stream, int64_t first, int64_t prompts) {
             return std::make_shared<PromptRng>(eval_stream(seed, stream), first, prompts);
           }),
           "seed"_a = 0, "stream"_a = "standard", "first"_a = 0, "prompts"_a = 1)
      .def_property_readonly("prompts", &PromptRng::prompts)
      .def_property_readonly("first", &PromptRng::first)
      .def("_normal",
           [](PromptRng& r, int64_t n) {
             pyb::array_t<double> a({r.prompts(), n});
             r.normal(a.mutable_data(), n);
             return a;
           })
      .def("_uniform",
           [](PromptRng& r, int64_t n, double lo, double hi) {
             pyb::array_t<double> a({r.prompts(), n});
             r.uniform(a.mutable_data(), n, lo, hi);
             return a;
           })
      .def("_integers",
           [](PromptRng& r, int64_t n, int64_t lo, int64_t hi) {
             pyb::array_t<int64_t> a({r.prompts(), n});
             r.integers(a.mutable_data(), n, lo, hi);
             return a;
           })
      .def("_signs",
           [](PromptRng& r, int64_t n) {
             pyb::array_t<double> a({r.prompts(), n});
             r.signs(a.mutable_data(), n);
             return a;
           })
      .def("_bernoulli",
           [](PromptRng& r, int64_t n, double p) {
             pyb::array_t<bool> a({r.prompts(), n});
             r.bernoulli(reinterpret_cast<uint8_t*>(a.mutable_data()), n, p);
             return a;
           })
      .def("_permutations", [](PromptRng& r, int64_t n) {
        pyb::array_t<int64_t> a({r.prompts(), n});
        r.permutations(a.mutable_data(), n);
        return a;
      });

  pyb::class_<Prompts>(m, "Prompts")
      .def_property_readonly("task", [](const Prompts& p) { return p.task->name(); })
      .def_property_readonly("kind", [](const Prompts& p) { return to_string(p.batch->kind()); })
      .def_property_readonly("loss", [](const Prompts& p) { return to_string(p.batch->loss()); })
      .def_property_readonly("metric", [](const Prompts& p) { return to_string(p.task->metric()); })
      .def_property_readonly("normalisation",
                             [](const Prompts& p) { return p.task->normalisation(); })
      .def_property_readonly("batch", [](const Prompts& p) { return p.batch->batch(); })
      .def_property_readonly("examples", [](const Prompts& p) { return p.batch->n_examples(); })
      .def_property_readonly("vocab",
                             [](const Prompts& p) -> pyb::object {
                               if (const TokenTask* t = as_token_task(*p.task))
                                 return pyb::int_(t->vocab());
                               return pyb::none();
                             })
      .def_property_readonly("task_params",
                             [](const Prompts& p) {
                               pyb::dict d;
                               for (const auto& [k, v] : p.task->params().values())
                                 d[pyb::str(k)] = std::visit(
                                     [](const auto& x) -> pyb::object { return pyb::cast(x); }, v);
                               return d;
                             })
      .def("_array", &array_of)
      .def("_exports", [](const Prompts& p) {
        pyb::dict d;
        const TaskExports ex = p.task->exports(*p.batch);
        for (const auto& a : ex.arrays) {
          if (!a.u8.empty() || a.i32.empty())
            d[pyb::str(a.path)] = pyb::array_t<uint8_t>(a.dims, a.u8.data());
          else
            d[pyb::str(a.path)] = pyb::array_t<int32_t>(a.dims, a.i32.data());
        }
        pyb::dict attrs;
        for (const auto& [where, v] : ex.group_attrs) attrs[pyb::str(where)] = v;
        return pyb::make_tuple(d, attrs);
      });

  m.def("sample", &sample, "task"_a, "params"_a, "prompts"_a, "examples"_a, "seed"_a, "stream"_a,
        "first"_a);

  pyb::class_<Baseline, std::shared_ptr<Baseline>>(m, "Baseline")
      .def(pyb::init([](const std::string& name, const RawParams& raw, const std::string& label) {
             return std::shared_ptr<Baseline>(make_baseline(name, raw, label, name));
           }),
           "name"_a, "params"_a, "label"_a = "")
      .def_property_readonly("name", &Baseline::name)
      .def_property_readonly("label", &Baseline::label)
      .def("_predict",
           [](const Baseline& b, const Prompts& p) {
             const PromptBatch& pb = *p.batch;
             std::vector<float> out = predict(b, pb);
             const int64_t B = pb.batch();
             const int64_t T =
                 pb.get<TokenPrompts>() ? pb.get<TokenPrompts>()->seq_len : pb.n_examples();
             const int64_t width = int64_t(out.size()) / std::max<int64_t>(1, B * T);
             return to_array(std::move(out), {B, T, width});
           })
      .def("_curve", [](const Baseline& b, const FloatArray& xs, const FloatArray& ys,
                        const pyb::object& xq, const pyb::object& x_cov) {
        const PromptBatch pb = vector_prompts(xs, ys, xq, x_cov);
        return to_array(predict(b, pb), {pb.batch(), pb.n_examples()});
      });

  pyb::class_<RunSummary>(m, "RunSummary")
      .def_readonly("out", &RunSummary::out)
      .def_readonly("tables", &RunSummary::tables)
      .def_readonly("trained_steps", &RunSummary::trained_steps)
      .def_readonly("final_loss", &RunSummary::final_loss)
      .def_readonly("seconds", &RunSummary::seconds)
      .def_readonly("stopped_early", &RunSummary::stopped_early)
      .def_readonly("checkpoint", &RunSummary::checkpoint);
  m.def("run", &run, "config"_a, "is_text"_a, "overrides"_a, "out"_a, "device"_a, "resume"_a,
        "force"_a, "until"_a, "progress"_a);

  m.def("register_task", [](pyb::object cls, const pyb::list& specs, const std::string& alias) {
    return register_python_task(std::move(cls), specs_from(specs), alias);
  });
  m.def("canonical_name", [](pyb::handle cls) { return canonical_name(cls); });
}

}  // namespace icl::py

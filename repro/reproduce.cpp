#include "repro/reproduce.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>

#include <yaml-cpp/yaml.h>

#include <fmt/format.h>

#include "core/error.h"
#include "core/interrupt.h"
#include "core/progress.h"
#include "core/python.h"
#include "core/version.h"
#include "io/atomic_output.h"
#include "io/h5.h"
#include "run/config_file.h"
#include "run/replicas.h"
#include "run/resolved_run.h"
#include "run/run_file.h"
#include "run/run_to_file.h"

#ifndef ICL_FIGURE_SCRIPT
#define ICL_FIGURE_SCRIPT "report/plot_figure.py"
#endif

namespace icl {

namespace fs = std::filesystem;

int ReproduceResult::failed() const {
  if (smoke) return 0;
  int n = 0;
  for (const auto& c : claims) n += c.result.status == ClaimStatus::Fails;
  return n;
}

std::string run_file_path(const std::string& dir, const std::string& scale, const std::string& id,
                          uint64_t seed) {
  return (fs::path(dir) / "runs" / scale / fmt::format("{}_seed{}.h5", id, seed)).string();
}

namespace {

// The overrides of one run at one seed. A smoke run trains one step and evaluates 32 prompts per
// set (a set's own prompts and spectrum prompts are capped at 32 as well); a bandit run rolls out
// in 4 environments (a paper-scale model's rollout is a forward pass over the history per step);
// then the run's own smoke_set.
std::vector<std::string> run_overrides(const FigureRun& r, const ResolvedRun& base, uint64_t seed,
                                       bool smoke) {
  std::vector<std::string> sets = r.sets;
  if (smoke) {
    if (base.has_model()) sets.insert(sets.end(), {"train.steps=1", "train.warmup=0"});
    if (base.bandit) sets.push_back("rollout.environments=4");
    if (!base.bandit) {
      sets.insert(sets.end(), {"eval.prompts=32", "eval.bootstrap=20"});
      std::string name, path;
      const YAML::Node tree = load_config_tree(r.config, r.sets, &name, &path);
      if (const YAML::Node s = tree["eval"]["sets"]; s && s.IsMap())
        for (const auto& kv : s) {
          const std::string set = kv.first.as<std::string>();
          if (kv.second.IsMap() && kv.second["prompts"])
            sets.push_back(fmt::format("eval.sets.{}.prompts=32", set));
          if (kv.second.IsMap() && kv.second["spectrum"] && kv.second["spectrum"]["prompts"])
            sets.push_back(fmt::format("eval.sets.{}.spectrum.prompts=32", set));
        }
    }
    sets.insert(sets.end(), r.smoke_sets.begin(), r.smoke_sets.end());
  }
  sets.push_back(fmt::format("seed={}", seed));
  return sets;
}

std::string device_of(const std::string& path) {
  const h5::Handle f = h5::open_file(path);
  const std::string d =
      h5::exists_attr(f.id(), "device") ? h5::read_attr_string(f.id(), "device") : "";
  return d.empty() ? "cpu" : d;
}

// One run of a figure at one seed, and what to do with it (plan_run: reuse its file, resume its
// checkpoint or run it).
struct Planned {
  const FigureRun* spec;
  ResolvedRun run;
  std::string path;
  RunPlan plan;
};

RunOutcome outcome_of(const Planned& p) {
  RunOutcome o;
  o.id = p.spec->id;
  o.config = p.spec->config;
  o.path = p.path;
  o.seed = p.run.seed;
  return o;
}

RunOutcome reuse(const Planned& p) {
  RunOutcome o = outcome_of(p);
  o.status = "reused";
  o.steps = p.plan.step > 0 ? p.plan.step : 0;
  o.device = device_of(p.path);
  fmt::print(stderr, "icl reproduce: {} seed {}: reused {}\n", p.spec->id, p.run.seed, p.path);
  return o;
}

// What run_to_file is asked to do for `p`: its file, resumed from its checkpoint where it has one.
RunRequest request_for(const Planned& p, const ReproduceOptions& opt) {
  RunRequest req;
  req.out = p.path;
  req.options.device = opt.device;
  req.options.progress = opt.progress;
  if (p.plan.kind == RunPlan::Resume) req.options.resume = p.plan.resume_from;
  req.on_note = [](const std::string& line) { fmt::print(stderr, "icl: note: {}\n", line); };
  req.options.on_start = [&p] {
    const bool resume = p.plan.kind == RunPlan::Resume;
    fmt::print(stderr, "icl reproduce: {} seed {}: {} {}{}\n", p.spec->id, p.run.seed,
               resume ? "resuming" : "running", p.run.name,
               resume ? fmt::format(" from step {}", p.plan.step) : "");
  };
  return req;
}

RunOutcome ran(const Planned& p, const BenchmarkResult& res) {
  RunOutcome o = outcome_of(p);
  o.status =
      p.plan.kind == RunPlan::Resume ? fmt::format("resumed at step {}", p.plan.step) : "ran";
  o.seconds = res.seconds;
  o.steps = res.trained_steps;
  o.final_loss = res.final_loss;
  o.device = device_of(p.path);
  return o;
}

// The seeds of one figure run that are not done yet (`todo`, indices into `planned`) side by side
// in one process (run/replicas.h), each into the file it has alone, resumed where it has a
// checkpoint; the outcomes into `outcomes`. Every replica runs to its end before a failure or an
// interruption is reported, so the files of the others are complete and reused next time.
void run_side_by_side(const std::vector<Planned>& planned, const std::vector<size_t>& todo,
                      const ReproduceOptions& opt, std::vector<RunOutcome>& outcomes) {
  std::vector<ReplicaJob> jobs;
  for (const size_t i : todo) {
    ReplicaJob j;
    j.run = &planned[i].run;
    j.req = request_for(planned[i], opt);
    j.label = fmt::format("{} seed {}", planned[i].spec->id, planned[i].run.seed);
    jobs.push_back(std::move(j));
  }
  ReplicaOptions ro;
  ro.progress = opt.progress;
  ro.on_start = [&](const ReplicaPlacement& place) {
    std::string seeds;
    for (const size_t i : todo)
      seeds += fmt::format("{}{}", seeds.empty() ? "" : ", ", planned[i].run.seed);
    fmt::print(stderr, "icl reproduce: {} seeds {}: side by side in one process, {}\n",
               planned[todo.front()].spec->id, seeds, place.text());
  };
  const std::vector<ReplicaOutcome> done = run_replicas(std::move(jobs), ro);
  std::string failure;
  int sig = 0;
  for (size_t k = 0; k < todo.size(); ++k) {
    const Planned& p = planned[todo[k]];
    const ReplicaOutcome& o = done[k];
    const std::string who = fmt::format("{} seed {}", p.spec->id, p.run.seed);
    if (o.status == ReplicaOutcome::Completed) {
      outcomes[todo[k]] = ran(p, o.result);
    } else if (o.status == ReplicaOutcome::Failed) {
      fmt::print(stderr, "icl reproduce: {}: failed: {}\n", who, o.message);
      if (failure.empty()) failure = fmt::format("{}: {}", who, o.message);
    } else if (o.status == ReplicaOutcome::Interrupted) {
      fmt::print(stderr, "icl reproduce: {}: {}\n", who, o.message);
      sig = o.signal;
    }
  }
  if (sig)
    throw Interrupted(sig,
                      "reproduce interrupted; every run stopped with its checkpoint saved (run the "
                      "same command again to continue)");
  if (!failure.empty()) fail("{}", failure);
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\')
      out += std::string("\\") + c;
    else if (c == '\n')
      out += "\\n";
    else if (static_cast<unsigned char>(c) < 0x20)
      out += fmt::format("\\u{:04x}", int(c));
    else
      out += c;
  }
  return out + "\"";
}

std::string json_numbers(const std::vector<double>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i)
    out += (i ? ", " : "") + (std::isfinite(v[i]) ? fmt::format("{:.9g}", v[i]) : "null");
  return out + "]";
}

std::string json_limits(const std::optional<std::pair<double, double>>& l) {
  return l ? fmt::format("[{:.9g}, {:.9g}]", l->first, l->second) : "null";
}

// The figure's data for report/plot_figure.py: panels, series with their bands, published points.
std::string figure_json(const Figure& f, const ReproduceOptions& opt, const ReproduceResult& r) {
  std::string out = fmt::format("{{\"title\": {}, \"paper\": {}, \"scale\": {}, \"panels\": [",
                                json_string(f.title), json_string(f.paper), json_string(opt.scale));
  for (size_t p = 0; p < f.panels.size(); ++p) {
    const FigurePanel& panel = f.panels[p];
    const Curve& first = r.curves.at(panel.series.front().id);
    out += fmt::format(
        "{}\n  {{\"title\": {}, \"x_label\": {}, \"y_label\": {}, \"y_scale\": {}, \"x_lim\": {}, "
        "\"y_lim\": {}, \"series\": [",
        p ? "," : "", json_string(panel.title),
        json_string(panel.x_label.empty() ? first.x_label : panel.x_label),
        json_string(panel.y_label.empty() ? first.y_label : panel.y_label),
        json_string(panel.y_scale), json_limits(panel.x_lim), json_limits(panel.y_lim));
    for (size_t i = 0; i < panel.series.size(); ++i) {
      const FigureSeries& s = panel.series[i];
      const Curve& c = r.curves.at(s.id);
      std::vector<double> px, pv;
      for (const auto& pub : f.published)
        if (pub.series == s.id) {
          px.push_back(pub.x);
          pv.push_back(pub.value);
        }
      out += fmt::format(
          "{}\n    {{\"id\": {}, \"label\": {}, \"style\": {}, \"x\": {}, \"mean\": {}, \"lo\": "
          "{}, "
          "\"hi\": {}, \"published_x\": {}, \"published\": {}}}",
          i ? "," : "", json_string(s.id), json_string(s.label), json_string(s.style),
          json_numbers(c.x), json_numbers(c.mean), json_numbers(c.lo), json_numbers(c.hi),
          json_numbers(px), json_numbers(pv));
    }
    out += "]}";
  }
  return out + "\n]}\n";
}

std::string today_utc() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", std::gmtime(&t));
  return buf;
}

// The index of x in c (exact up to rounding), or -1.
int64_t point_at(const Curve& c, double x) {
  for (size_t i = 0; i < c.x.size(); ++i)
    if (std::abs(c.x[i] - x) <= 1e-9 * std::max(1.0, std::abs(x))) return int64_t(i);
  return -1;
}

std::string cell(double v) { return std::isfinite(v) ? fmt::format("{:.4g}", v) : "nan"; }

}  // namespace

std::string summary_markdown(const Figure& f, const ReproduceOptions& opt,
                             const ReproduceResult& r) {
  const FigureScale& sc = f.scale(opt.scale);
  const int64_t seeds = opt.seeds > 0 ? opt.seeds : sc.seeds;
  std::vector<std::string> devices;
  for (const auto& o : r.runs)
    if (std::find(devices.begin(), devices.end(), o.device) == devices.end())
      devices.push_back(o.device);
  std::string dev;
  for (const auto& d : devices) dev += (dev.empty() ? "" : ", ") + d;
  std::string md = fmt::format("# {}\n\n{}\n\nFigure file: `{}`.\n\n", f.title, f.paper, f.path);
  md += fmt::format(
      "Reproduced with `{}`: scale **{}**{}, {} seed(s), device {}, in {} (expected about {:g} "
      "min); iclbench {}, commit {}, {}.\n\n",
      opt.command.empty() ? fmt::format("icl reproduce {}", f.name) : opt.command, opt.scale,
      r.smoke ? " (smoke run: one training step per run; claims not judged)" : "", seeds, dev,
      format_duration(r.seconds), sc.minutes, version(), git_commit(), today_utc());
  if (!f.note.empty()) md += f.note + "\n\n";
  if (!r.figure_png.empty())
    md += fmt::format("![{}]({})\n\n", f.title, fs::path(r.figure_png).filename().string());
  else if (!r.figure_error.empty())
    md += fmt::format("Figure not drawn: {}\n\n", r.figure_error);

  md += "## Claims\n\n";
  if (r.claims.empty())
    md += "This figure states no claims.\n\n";
  else {
    md += "| claim | status | our numbers |\n|---|---|---|\n";
    for (const auto& c : r.claims)
      md += fmt::format("| {} (`{}`) | {} | {} |\n", c.claim->text, c.claim->id,
                        r.smoke && c.result.status != ClaimStatus::OtherScale
                            ? "not judged (smoke run)"
                            : fmt::format("**{}**", c.result.status_text()),
                        c.result.numbers.empty() ? "-" : c.result.numbers);
    md += "\n";
  }

  if (!f.published.empty()) {
    md += "## Our numbers beside the published ones\n\n";
    md += "| series | x | ours | 90% band | published | source |\n|---|---|---|---|---|---|\n";
    for (const auto& p : f.published) {
      const Curve& c = r.curves.at(p.series);
      const int64_t i = point_at(c, p.x);
      md += fmt::format(
          "| {} | {:g} | {} | {} | {} | {} |\n", f.find_series(p.series)->label, p.x,
          i < 0 ? "no point" : cell(c.mean[size_t(i)]),
          i < 0 ? "-" : fmt::format("[{}, {}]", cell(c.lo[size_t(i)]), cell(c.hi[size_t(i)])),
          cell(p.value), p.source);
    }
    md += "\n";
  }

  md += "## Curves\n\n";
  for (const auto& panel : f.panels) {
    const Curve& first = r.curves.at(panel.series.front().id);
    const size_t n = first.x.size();
    std::vector<size_t> cols;
    for (const size_t c : {size_t(0), n / 4, n / 2, (3 * n) / 4, n - 1})
      if (n > 0 && (cols.empty() || cols.back() != c)) cols.push_back(c);
    md += fmt::format("{}{} by {}\n\n| series |",
                      panel.title.empty() ? "" : fmt::format("**{}**: ", panel.title),
                      panel.y_label.empty() ? first.y_label : panel.y_label,
                      panel.x_label.empty() ? first.x_label : panel.x_label);
    for (const size_t c : cols) md += fmt::format(" {:g} |", first.x[c]);
    md += "\n|---|";
    for (size_t c = 0; c < cols.size(); ++c) md += "---|";
    md += "\n";
    for (const auto& s : panel.series) {
      const Curve& c = r.curves.at(s.id);
      md += fmt::format("| {} |", s.label);
      for (const size_t i : cols)
        md += fmt::format(" {} |", i < c.x.size() && c.x[i] == first.x[i] ? cell(c.mean[i]) : "-");
      md += "\n";
    }
    md += "\n";
  }

  md +=
      "## Runs\n\n| run | seed | config | status | steps | final loss | time | device | file |\n"
      "|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& o : r.runs)
    md += fmt::format(
        "| {} | {} | `{}` | {} | {} | {} | {} | {} | `{}` |\n", o.id, o.seed, o.config, o.status,
        o.steps, o.steps > 0 && o.status != "reused" ? fmt::format("{:.5f}", o.final_loss) : "-",
        o.status == "reused" ? "-" : format_duration(o.seconds), o.device,
        fs::relative(o.path, r.dir).generic_string());
  return md;
}

ReproduceResult reproduce(const Figure& f, const ReproduceOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  const FigureScale& sc = f.scale(opt.scale);
  const int64_t seeds = opt.seeds > 0 ? opt.seeds : sc.seeds;
  ReproduceResult r;
  r.smoke = opt.smoke;
  r.dir = (fs::path(opt.out_dir) / f.name).string();
  const std::string runs_scale = opt.smoke ? opt.scale + "-smoke" : opt.scale;

  // Every run resolved before any work, so that a bad config or override is the only message.
  std::vector<Planned> planned;
  std::map<std::string, std::vector<std::string>> files;  // run id -> one file per seed
  for (const auto& fr : sc.runs) {
    const ResolvedRun base = load_run(fr.config, fr.sets);
    if (!base.replicas.runs.empty())
      fail(
          "run {} ({}): sets train.replicas; a figure's seeds are its scale's (icl reproduce "
          "trains the seeds of a run side by side itself)",
          fr.id, fr.config);
    for (int64_t i = 0; i < seeds; ++i) {
      const uint64_t seed = base.seed + uint64_t(i);
      Planned p{&fr,
                load_run(fr.config, run_overrides(fr, base, seed, opt.smoke)),
                run_file_path(r.dir, runs_scale, fr.id, seed),
                {}};
      files[fr.id].push_back(p.path);
      planned.push_back(std::move(p));
    }
  }
  // A run's seeds that are not done yet train side by side in one process (run/replicas.h: on the
  // CPU one per thread, on a GPU in turn), each into its own file as alone; a run without a model
  // (baselines only) and a lone seed go one by one.
  r.runs.resize(planned.size());
  for (size_t i = 0; i < planned.size();) {
    size_t end = i;
    while (end < planned.size() && planned[end].spec == planned[i].spec) ++end;
    std::vector<size_t> todo;
    for (size_t k = i; k < end; ++k) {
      Planned& p = planned[k];
      fmt::print(stderr, "icl reproduce {} ({} scale): run {} of {}\n", f.name, opt.scale, k + 1,
                 planned.size());
      p.plan =
          plan_run(p.path, YAML::Load(p.run.yaml()), p.run.has_model() ? p.run.train.steps : 0);
      if (p.plan.kind == RunPlan::Reuse)
        r.runs[k] = reuse(p);
      else if (p.run.has_model())
        todo.push_back(k);
      else
        r.runs[k] = ran(p, run_to_file(p.run, request_for(p, opt)));
    }
    if (todo.size() == 1)
      r.runs[todo[0]] = ran(planned[todo[0]],
                            run_to_file(planned[todo[0]].run, request_for(planned[todo[0]], opt)));
    else if (todo.size() > 1)
      run_side_by_side(planned, todo, opt, r.runs);
    i = end;
  }

  for (const auto& panel : f.panels)
    for (const auto& s : panel.series) {
      std::vector<Curve> per_seed;
      for (size_t k = 0; k < files.at(s.run).size(); ++k) {
        std::vector<Curve> parts;  // one per run of the series, this seed
        for (const std::string& id : s.runs) {
          FigureSeries part = s;
          part.run = id;  // errors name the run whose file is read
          parts.push_back(read_curve(files.at(id)[k], part, s.set.empty() ? panel.set : s.set));
        }
        per_seed.push_back(join_runs(parts, "series " + s.id));
      }
      r.curves[s.id] = combine_seeds(per_seed, s.times, "series " + s.id);
    }
  // A smoke run whose runs evaluate elsewhere (smoke_set) may lack a claim's points; the claim is
  // then not checked, and says why. Any other missing point is an error, smoke run or not.
  const bool moved =
      opt.smoke && std::any_of(sc.runs.begin(), sc.runs.end(),
                               [](const FigureRun& fr) { return !fr.smoke_sets.empty(); });
  for (const auto& c : f.claims) {
    ClaimResult cr;
    try {
      cr = check_claim(c, r.curves, opt.scale);
    } catch (const Error& e) {
      if (!moved) throw;
      cr.numbers = fmt::format("not checked: {} (the smoke run evaluates elsewhere)", e.what());
    }
    r.claims.push_back({&c, cr});
  }

  if (opt.figures) {
    const std::string data = (fs::path(r.dir) / "figure.json").string();
    write_text_file(data, figure_json(f, opt, r));
    const char* env = std::getenv("ICL_FIGURE_SCRIPT");
    const std::string script = env && *env ? env : ICL_FIGURE_SCRIPT;
    const std::string stem = (fs::path(r.dir) / fs::path(f.name).filename()).string();
    std::string why;
    const int rc = fs::exists(script) ? run_python(script, {data, "--out", stem}, &why) : -1;
    if (rc == 0)
      r.figure_png = stem + ".png";
    else
      r.figure_error = rc == -1    ? fmt::format("figure script {} not found", script)
                       : rc == 127 ? fmt::format("cannot run Python '{}'", python_interpreter())
                                   : (why.empty() ? fmt::format("exit code {}", rc) : why);
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  write_text_file((fs::path(r.dir) / "summary.md").string(), summary_markdown(f, opt, r));
  return r;
}

}  // namespace icl

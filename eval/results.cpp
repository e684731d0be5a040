#include "eval/results.h"

#include <algorithm>
#include <ctime>

#include <fmt/format.h>

#include "core/error.h"
#include "core/isa.h"
#include "core/mpi.h"
#include "core/threads.h"
#include "core/version.h"

namespace icl {

void write_run_attrs(hid_t root, const RunInfo& info) {
  char created[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  h5::attr(root, "iclbench_version", std::string(version()));
  h5::attr(root, "git_commit", std::string(git_commit()));
  h5::attr(root, "created", std::string(created));
  h5::attr(root, "seed", int64_t(info.seed));
  h5::attr(root, "config", info.config);
  h5::attr(root, "benchmark", info.benchmark);
  h5::attr(root, "device", info.device);
  h5::attr(root, "build_isa", std::string(build_isa()));
  // The CPU threads the run used (core/threads.h): a time in the file means little without it.
  h5::attr(root, "cpu_threads", int64_t(threads::in_use()));
  // Data parallelism (core/mpi.h): how many ranks trained the model, over what.
  h5::attr(root, "world_size", int64_t(mpi::world().size));
  h5::attr(root, "parallel_backend", mpi::world().backend);
  if (!info.resume_log.empty()) h5::attr(root, "resume_log", info.resume_log);
}

void write_params(hid_t obj, const ParamSet& params) {
  for (const auto& [k, v] : params.values()) {
    if (const auto* i = std::get_if<int64_t>(&v))
      h5::attr(obj, k, *i);
    else if (const auto* r = std::get_if<double>(&v))
      h5::attr(obj, k, *r);
    else
      h5::attr(obj, k, to_string(v));
  }
}

namespace {

// A curve's mean and 90% interval [points], and with per-prompt scores those too, [prompts,
// points] (EvalOptions::per_prompt).
void write_stats(hid_t g, const CurveStats& s, int64_t prompts) {
  h5::write(g, "mean", s.mean);
  h5::write(g, "lo", s.lo);
  h5::write(g, "hi", s.hi);
  if (s.per_prompt.empty()) return;
  ICL_ASSERT(int64_t(s.per_prompt.size()) == prompts * int64_t(s.mean.size()));
  h5::write(g, "per_prompt", s.per_prompt.data(), {prompts, int64_t(s.mean.size())});
}

}  // namespace

void write_eval(hid_t root, const EvalResult& r) {
  if (!h5::exists(root, "eval")) h5::create_group(root, "eval");
  const h5::Handle evals = h5::open_group(root, "eval");
  const h5::Handle g = h5::create_group(evals.id(), r.name);
  write_params(g.id(), r.task_params);
  h5::attr(g.id(), "task", r.task);
  h5::attr(g.id(), "metric", std::string(to_string(r.metric)));
  h5::attr(g.id(), "normalisation", r.normalisation);
  h5::attr(g.id(), "prompts", r.prompts);
  if (!r.lengths.empty()) {
    // Scaled accuracy: guessing scores 0 whatever |Y|, the reference line a figure draws.
    h5::write(g.id(), "length", r.lengths);
    h5::attr(g.id(), "answers", r.answers);
    h5::attr(g.id(), "chance", 0.0);
    h5::attr(g.id(), "x_label", r.length_label);
  } else {
    std::vector<int64_t> n(size_t(r.examples));
    for (int64_t k = 0; k < r.examples; ++k) n[size_t(k)] = k;
    h5::write(g.id(), "n_examples", n);
  }
  if (r.spectrum.points > 0) {
    std::vector<int64_t> f(size_t(r.spectrum.points / 2 + 1));
    for (size_t m = 0; m < f.size(); ++m) f[m] = int64_t(m);
    h5::write(g.id(), "spectrum_frequency", f);
    h5::attr(g.id(), "spectrum_points", r.spectrum.points);
    h5::attr(g.id(), "spectrum_context", r.spectrum.context);
    h5::attr(g.id(), "spectrum_prompts", r.spectrum.prompts);
    h5::attr(g.id(), "spectrum_lo", r.spectrum.lo);
    h5::attr(g.id(), "spectrum_hi", r.spectrum.hi);
  }
  for (const auto& c : r.curves) {
    const h5::Handle pg = h5::create_group(g.id(), c.label);
    write_params(pg.id(), c.params);
    h5::attr(pg.id(), "name", c.name);
    h5::attr(pg.id(), "kind", c.kind);
    write_stats(pg.id(), c.stats, r.prompts);
    if (!c.spectrum.empty()) h5::write(pg.id(), "spectrum", c.spectrum);
    for (size_t m = 0; m < c.extra.size(); ++m) {
      const auto& [metric, stats] = c.extra[m];
      const h5::Handle mg = h5::create_group(pg.id(), metric);
      h5::attr(mg.id(), "metric", metric);
      if (m < r.extra_metrics.size()) h5::attr(mg.id(), "label", r.extra_metrics[m].label);
      write_stats(mg.id(), stats, r.prompts);
    }
    if (r.difference != Difference::None) {
      const h5::Handle dg = h5::create_group(pg.id(), "difference");
      h5::attr(dg.id(), "metric", std::string(to_string(r.difference)));
      for (size_t j = 0; j < r.curves.size(); ++j) {
        if (&r.curves[j] == &c) continue;
        const h5::Handle og = h5::create_group(dg.id(), r.curves[j].label);
        write_stats(og.id(), c.difference[j], r.prompts);
      }
    }
  }
  if (r.difference != Difference::None)
    h5::attr(g.id(), "prediction_difference", std::string(to_string(r.difference)));
  // Readers find the further metrics' groups by name here rather than by guessing subgroups.
  std::string extra;
  if (!r.curves.empty())
    for (const auto& m : r.curves.front().extra) extra += (extra.empty() ? "" : " ") + m.first;
  if (!extra.empty()) h5::attr(g.id(), "extra_metrics", extra);
}

void write_results(AtomicH5Output& out, const RunInfo& info, const std::vector<EvalResult>& evals) {
  write_run_attrs(out.root(), info);
  for (const auto& e : evals) write_eval(out.root(), e);
  out.commit();
}

std::string summary_table(const EvalResult& r, const std::vector<int64_t>& columns) {
  std::vector<int64_t> cols = columns;
  if (cols.empty()) {
    const int64_t K = r.examples;
    for (int64_t c : {int64_t(0), K / 4, K / 2, (3 * K) / 4, K - 1})
      if (cols.empty() || cols.back() != c) cols.push_back(c);
  }
  size_t width = 9;
  for (const auto& c : r.curves) {
    width = std::max(width, c.label.size() + (r.difference != Difference::None ? 3 : 0));
    for (const auto& m : c.extra) width = std::max(width, c.label.size() + 1 + m.first.size());
  }
  std::string metric = to_string(r.metric);
  if (r.metric == Metric::SquaredError && r.normalisation != 1.0)
    metric += fmt::format(" / {:g}", r.normalisation);
  const bool by_length = !r.lengths.empty();
  if (by_length) metric += fmt::format(" (|Y| = {})", r.answers);
  std::string out = fmt::format("{} ({}, {} prompts{}): {} by {}\n", r.name, r.task, r.prompts,
                                by_length ? " per length" : "", metric,
                                by_length ? "sequence length" : "number of in-context examples");
  out += fmt::format("  {:<{}}", "predictor", width);
  for (int64_t c : cols)
    out += fmt::format(
        " {:>9}", by_length ? fmt::format("L={}", r.lengths[size_t(c)]) : fmt::format("k={}", c));
  out += "\n";
  for (const auto& c : r.curves) {
    out += fmt::format("  {:<{}}", c.label, width);
    for (int64_t k : cols) out += fmt::format(" {:>9.4f}", c.stats.mean[size_t(k)]);
    out += "\n";
    for (const auto& [name, stats] : c.extra) {
      out += fmt::format("  {:<{}}", c.label + " " + name, width);
      for (int64_t k : cols) out += fmt::format(" {:>9.4f}", stats.mean[size_t(k)]);
      out += "\n";
    }
  }
  // Prediction differences from the trained model (else the first predictor by label, as the
  // figure script picks it) to every other.
  if (r.difference != Difference::None && r.curves.size() > 1) {
    const auto first = [](const PredictorCurve& c) {
      return std::pair(c.kind != std::string("model"), c.label);
    };
    size_t from = 0;
    for (size_t i = 1; i < r.curves.size(); ++i)
      if (first(r.curves[i]) < first(r.curves[from])) from = i;
    out += fmt::format("  {} from {}{}:\n", to_string(r.difference), r.curves[from].label,
                       r.difference == Difference::SquaredDifference && r.normalisation != 1.0
                           ? " (not normalised)"
                           : "");
    for (size_t j = 0; j < r.curves.size(); ++j) {
      if (j == from) continue;
      out += fmt::format("  {:<{}}", "vs " + r.curves[j].label, width);
      for (int64_t k : cols)
        out += fmt::format(" {:>9.4f}", r.curves[from].difference[j].mean[size_t(k)]);
      out += "\n";
    }
  }
  return out;
}

void write_regret(hid_t root, const BanditSetup& setup, int64_t environments,
                  const std::vector<RegretCurve>& curves) {
  const h5::Handle g = h5::create_group(root, "bandit");
  h5::attr(g.id(), "metric", std::string("cumulative_regret"));
  h5::attr(g.id(), "setup", setup.kind);
  h5::attr(g.id(), "arms", setup.arms);
  h5::attr(g.id(), "dim", setup.dim);
  h5::attr(g.id(), "horizon", setup.horizon);
  h5::attr(g.id(), "noise_std", setup.noise);
  h5::attr(g.id(), "environments", environments);
  std::vector<int64_t> step(size_t(setup.horizon));
  for (int64_t t = 0; t < setup.horizon; ++t) step[size_t(t)] = t + 1;
  h5::write(g.id(), "step", step.data(), {setup.horizon});
  for (const auto& c : curves) {
    const h5::Handle p = h5::create_group(g.id(), c.label);
    h5::write(p.id(), "mean", c.mean.data(), {setup.horizon});
    h5::write(p.id(), "sem", c.sem.data(), {setup.horizon});
  }
}

std::string regret_table(const BanditSetup& setup, int64_t environments,
                         const std::vector<RegretCurve>& curves) {
  const int64_t T = setup.horizon;
  std::vector<int64_t> cols;
  for (int64_t c : {T / 4, T / 2, (3 * T) / 4, T})
    if (c >= 1 && (cols.empty() || cols.back() != c)) cols.push_back(c);
  size_t width = 9;
  for (const auto& c : curves) width = std::max(width, c.label.size());
  std::string out = fmt::format(
      "{} linear bandit ({} arms, d = {}, noise {:g}), {} environments: cumulative regret "
      "(mean ± SEM) by step\n",
      setup.kind, setup.arms, setup.dim, setup.noise, environments);
  out += fmt::format("  {:<{}}", "policy", width);
  for (int64_t c : cols) out += fmt::format(" {:>15}", fmt::format("t={}", c));
  out += "\n";
  for (const auto& c : curves) {
    out += fmt::format("  {:<{}}", c.label, width);
    for (int64_t t : cols)
      out += fmt::format(
          " {:>15}", fmt::format("{:.2f} ± {:.2f}", c.mean[size_t(t - 1)], c.sem[size_t(t - 1)]));
    out += "\n";
  }
  return out;
}

}  // namespace icl

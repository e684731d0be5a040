#include "sweep/collect.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <limits>
#include <map>

#include <fmt/format.h>

#include "core/error.h"
#include "core/version.h"
#include "io/atomic_output.h"
#include "io/h5.h"
#include "run/run_file.h"

namespace icl {

namespace fs = std::filesystem;

double student_t975(int64_t dof) {
  static const double table[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306,
                                 2.262,  2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120,
                                 2.110,  2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
                                 2.060,  2.056, 2.052, 2.048, 2.045, 2.042};
  if (dof < 1) fail("student_t975: dof must be >= 1, got {}", dof);
  if (dof <= 30) return table[dof - 1];
  return 1.959964 + 2.37 / double(dof);  // within 0.002 of the quantile above 30
}

namespace {

// One results file's curves, in file order.
std::vector<SweepCurve> read_curves(const std::string& path) {
  std::vector<SweepCurve> out;
  const h5::Handle f = h5::open_file(path);
  if (h5::is_group(f.id(), "eval"))
    for (const auto& set : h5::members(f.id(), "eval")) {
      const h5::Handle g = h5::open_group(f.id(), "eval/" + set);
      const bool tokens = h5::exists(g.id(), "length");
      const std::vector<int64_t> xi = h5::read<int64_t>(g.id(), tokens ? "length" : "n_examples");
      const std::string metric =
          h5::exists_attr(g.id(), "metric") ? h5::read_attr_string(g.id(), "metric") : "metric";
      const std::string x_label = h5::exists_attr(g.id(), "x_label")
                                      ? h5::read_attr_string(g.id(), "x_label")
                                  : tokens ? "length"
                                           : "in-context examples";
      for (const auto& p : h5::members(g.id(), ".")) {
        if (!h5::is_group(g.id(), p) || !h5::exists(g.id(), p + "/mean")) continue;
        const h5::Handle pg = h5::open_group(g.id(), p);
        SweepCurve c;
        c.set = set;
        c.predictor =
            h5::exists_attr(pg.id(), "kind") && h5::read_attr_string(pg.id(), "kind") == "model"
                ? "model"
                : p;
        c.metric = metric;
        c.x_label = x_label;
        c.x.assign(xi.begin(), xi.end());
        c.per_seed.push_back(h5::read<double>(pg.id(), "mean"));
        out.push_back(std::move(c));
      }
    }
  if (h5::is_group(f.id(), "bandit")) {
    const std::vector<int64_t> step = h5::read<int64_t>(f.id(), "bandit/step");
    for (const auto& p : h5::members(f.id(), "bandit")) {
      if (!h5::is_group(f.id(), "bandit/" + p)) continue;
      SweepCurve c;
      c.set = "bandit";
      c.predictor = p;
      c.metric = "cumulative_regret";
      c.x_label = "step";
      c.x.assign(step.begin(), step.end());
      const h5::Handle pg = h5::open_group(f.id(), "bandit/" + p);
      c.per_seed.push_back(h5::read<double>(pg.id(), "mean"));
      out.push_back(std::move(c));
    }
  }
  return out;
}

bool higher_is_better(const std::string& metric) {
  return metric.find("accuracy") != std::string::npos;
}

void combine(SweepCurve& c) {
  const size_t s = c.per_seed.size(), k = c.x.size();
  c.mean.assign(k, 0.0);
  c.lo.assign(k, 0.0);
  c.hi.assign(k, 0.0);
  for (size_t j = 0; j < k; ++j) {
    double sum = 0;
    for (const auto& v : c.per_seed) sum += v[j];
    const double m = sum / double(s);
    double ss = 0;
    for (const auto& v : c.per_seed) ss += (v[j] - m) * (v[j] - m);
    const double half =
        s > 1 ? student_t975(int64_t(s) - 1) * std::sqrt(ss / double(s - 1)) / std::sqrt(double(s))
              : 0.0;
    c.mean[j] = m;
    c.lo[j] = m - half;
    c.hi[j] = m + half;
  }
}

}  // namespace

SweepCollection collect_sweep(const SweepSpec& spec) {
  SweepCollection c;
  std::map<std::string, size_t> index;  // setting -> position
  for (const auto& r : spec.runs) {
    if (!holds_results(r.path)) {
      c.missing.push_back(r.name);
      continue;
    }
    auto [it, fresh] = index.emplace(r.setting, c.settings.size());
    if (fresh) {
      SweepSetting s;
      s.name = r.setting;
      s.values = r.values;
      c.settings.push_back(std::move(s));
    }
    SweepSetting& s = c.settings[it->second];
    std::vector<SweepCurve> curves;
    try {
      curves = read_curves(r.path);
    } catch (const Error& e) {
      fail("sweep collect: run {}: {}", r.name, e.what());
    }
    if (s.seeds.empty()) {
      s.curves = std::move(curves);
    } else {
      // Every seed of a setting has the same curves (the same config but the seed).
      if (curves.size() != s.curves.size())
        fail("sweep collect: run {} has {} curves, seed {} of its setting has {}", r.name,
             curves.size(), s.seeds.front(), s.curves.size());
      for (size_t i = 0; i < curves.size(); ++i) {
        if (curves[i].set != s.curves[i].set || curves[i].predictor != s.curves[i].predictor ||
            curves[i].x != s.curves[i].x)
          fail("sweep collect: run {}: curve {}/{} does not match its setting's other seeds",
               r.name, curves[i].set, curves[i].predictor);
        s.curves[i].per_seed.push_back(std::move(curves[i].per_seed.front()));
      }
    }
    s.seeds.push_back(r.seed);
    s.files.push_back(r.path);
    ++c.collected;
  }
  if (c.collected == 0)
    fail("sweep collect: none of the {} runs of {} has finished (run icl sweep {} first)",
         spec.runs.size(), spec.file, spec.file);
  for (auto& s : c.settings)
    for (auto& curve : s.curves) combine(curve);

  // The best value of the selection axis per group of the other axes' values.
  if (!spec.select.axis.empty()) {
    std::map<std::string, SweepBest> best;
    std::vector<std::string> order;
    for (const auto& s : c.settings) {
      std::string group, value;
      for (const auto& [k, v] : s.values) {
        if (k == spec.select.axis)
          value = v;
        else
          group += (group.empty() ? "" : ",") + k + "=" + v;
      }
      if (group.empty()) group = "all";
      const SweepCurve* curve = nullptr;
      for (const auto& cv : s.curves)
        if ((spec.select.set.empty() ? cv.set == s.curves.front().set
                                     : cv.set == spec.select.set) &&
            cv.predictor == spec.select.predictor) {
          curve = &cv;
          break;
        }
      if (!curve) {
        std::string have;
        for (const auto& cv : s.curves)
          have += (have.empty() ? "" : ", ") + cv.set + "/" + cv.predictor;
        fail("sweep select: setting {} has no curve {}/{} (it has: {})", s.name,
             spec.select.set.empty() ? "<first set>" : spec.select.set, spec.select.predictor,
             have);
      }
      double score = 0;
      for (const double v : curve->mean) score += v;
      score /= double(std::max<size_t>(curve->mean.size(), 1));
      const bool higher = higher_is_better(curve->metric);
      auto it = best.find(group);
      if (it == best.end()) order.push_back(group);
      if (it == best.end() || (higher ? score > it->second.score : score < it->second.score))
        best[group] = SweepBest{group, value, s.name, curve->set, curve->predictor, score};
    }
    for (const auto& g : order) c.best.push_back(best[g]);
  }
  return c;
}

void write_sweep_summary(const SweepSpec& spec, const SweepCollection& c, const std::string& path) {
  AtomicH5Output out(path);
  const hid_t root = out.root();
  char created[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  h5::attr(root, "sweep", spec.text);
  h5::attr(root, "base", spec.base);
  h5::attr(root, "runs", int64_t(spec.runs.size()));
  h5::attr(root, "collected", c.collected);
  std::string missing;
  for (const auto& m : c.missing) missing += m + "\n";
  h5::attr(root, "missing", missing);
  h5::attr(root, "git_commit", std::string(git_commit()));
  h5::attr(root, "created", std::string(created));
  const h5::Handle settings = h5::create_group(root, "settings");
  for (const auto& s : c.settings) {
    const h5::Handle g = h5::create_group(settings.id(), s.name);
    std::string values, files;
    for (const auto& [k, v] : s.values) values += k + "=" + v + "\n";
    for (const auto& f : s.files) files += f + "\n";
    h5::attr(g.id(), "values", values);
    h5::attr(g.id(), "seeds", int64_t(s.seeds.size()));
    h5::attr(g.id(), "files", files);
    std::vector<int64_t> seeds(s.seeds.begin(), s.seeds.end());
    h5::write(g.id(), "seed_values", seeds);
    for (const auto& curve : s.curves) {
      if (!h5::exists(g.id(), curve.set)) {
        const h5::Handle sg = h5::create_group(g.id(), curve.set);
        h5::write(sg.id(), "x", curve.x);
        h5::attr(sg.id(), "metric", curve.metric);
        h5::attr(sg.id(), "x_label", curve.x_label);
      }
      const h5::Handle sg = h5::open_group(g.id(), curve.set);
      const h5::Handle pg = h5::create_group(sg.id(), curve.predictor);
      h5::write(pg.id(), "mean", curve.mean);
      h5::write(pg.id(), "lo", curve.lo);
      h5::write(pg.id(), "hi", curve.hi);
      std::vector<double> flat;
      for (const auto& v : curve.per_seed) flat.insert(flat.end(), v.begin(), v.end());
      h5::write(pg.id(), "per_seed", flat.data(),
                {int64_t(curve.per_seed.size()), int64_t(curve.x.size())});
    }
  }
  if (!c.best.empty()) {
    const h5::Handle best = h5::create_group(root, "best");
    for (const auto& b : c.best) {
      const h5::Handle g = h5::create_group(best.id(), sweep_safe_name(b.group));
      h5::attr(g.id(), "axis", spec.select.axis);
      h5::attr(g.id(), "value", b.value);
      h5::attr(g.id(), "setting", b.setting);
      h5::attr(g.id(), "score", b.score);
      h5::attr(g.id(), "set", b.set);
      h5::attr(g.id(), "predictor", b.predictor);
    }
  }
  out.commit();
}

std::string sweep_table(const SweepCollection& c) {
  std::string t;
  std::vector<std::string> sets;
  for (const auto& s : c.settings)
    for (const auto& cv : s.curves)
      if (std::find(sets.begin(), sets.end(), cv.set) == sets.end()) sets.push_back(cv.set);
  for (const auto& set : sets) {
    std::vector<std::string> preds;
    std::string metric, at;
    for (const auto& s : c.settings)
      for (const auto& cv : s.curves)
        if (cv.set == set) {
          if (std::find(preds.begin(), preds.end(), cv.predictor) == preds.end())
            preds.push_back(cv.predictor);
          metric = cv.metric;
          if (!cv.x.empty()) at = fmt::format("{} {}", cv.x_label, cv.x.back());
        }
    size_t width = 7;
    for (const auto& s : c.settings) width = std::max(width, s.name.size());
    t += fmt::format("{}: {} at {} (mean over seeds ± 95% interval)\n", set, metric, at);
    t += fmt::format("{:<{}} {:>5}", "setting", width, "seeds");
    for (const auto& p : preds) t += fmt::format(" {:>20}", p.substr(0, 20));
    t += "\n";
    for (const auto& s : c.settings) {
      t += fmt::format("{:<{}} {:>5}", s.name, width, s.seeds.size());
      for (const auto& p : preds) {
        std::string cell = "-";
        for (const auto& cv : s.curves)
          if (cv.set == set && cv.predictor == p && !cv.mean.empty())
            cell = s.seeds.size() > 1 ? fmt::format("{:.4g} ± {:.2g}", cv.mean.back(),
                                                    (cv.hi.back() - cv.lo.back()) / 2)
                                      : fmt::format("{:.4g}", cv.mean.back());
        t += fmt::format(" {:>20}", cell);
      }
      t += "\n";
    }
    t += "\n";
  }
  if (!c.best.empty()) {
    t += "best per group (mean of the curve over its points):\n";
    for (const auto& b : c.best)
      t += fmt::format("  {}: {} (score {:.4g}, {}/{})\n", b.group, b.value, b.score, b.set,
                       b.predictor);
  }
  if (!c.missing.empty())
    t += fmt::format("{} run(s) not finished, left out: {}\n", c.missing.size(), [&] {
      std::string m;
      for (size_t i = 0; i < c.missing.size() && i < 5; ++i) m += (i ? ", " : "") + c.missing[i];
      return c.missing.size() > 5 ? m + ", ..." : m;
    }());
  return t;
}

}  // namespace icl

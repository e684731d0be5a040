#include "repro/curves.h"

#include <algorithm>
#include <cmath>
#include <tuple>

#include <fmt/format.h>

#include "core/error.h"
#include "io/h5.h"

namespace icl {

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s.empty() ? "none" : s;
}

std::vector<double> as_doubles(const std::vector<int64_t>& v) { return {v.begin(), v.end()}; }

std::string y_label_of(hid_t set) {
  const std::string metric = h5::read_attr_string(set, "metric");
  if (metric == "squared_error") {
    const double norm =
        h5::exists_attr(set, "normalisation") ? h5::read_attr_double(set, "normalisation") : 1.0;
    return norm == 1.0 ? "squared error" : fmt::format("squared error / {:g}", norm);
  }
  return metric == "scaled_accuracy" ? "scaled accuracy" : metric;
}

// The q-quantile of v, interpolating linearly between order statistics (numpy's default).
double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double at = q * double(v.size() - 1);
  const size_t i = size_t(at);
  return i + 1 < v.size() ? v[i] + (at - double(i)) * (v[i + 1] - v[i]) : v[i];
}

// Set "train": the training log's loss or gradient norm against the step, averaged in at most
// 200 bins of equal width, or a per-layer statistic against the block: the geometric mean over the
// chosen records; the band is the middle half (25% to 75%) of the bin's or the records' values (a
// gradient norm moves by orders of magnitude over training, so one record, or the arithmetic mean,
// says more about a loss spike than the depth).
Curve read_train_curve(hid_t f, const FigureSeries& s, const std::string& what) {
  if (!h5::exists(f, "train"))
    fail("{}: the file has no /train log (the run trained no model)", what);
  Curve c;
  if (s.metric == "loss" || s.metric == "grad_norm") {
    const std::vector<int64_t> step = h5::read<int64_t>(f, "train/step");
    const std::vector<double> v = h5::read<double>(f, "train/" + s.metric);
    if (v.size() != step.size() || v.empty())
      fail("{}: /train/{} has {} values for {} steps", what, s.metric, v.size(), step.size());
    const size_t width = (v.size() + 199) / 200;
    for (size_t a = 0; a < v.size(); a += width) {
      const size_t b = std::min(v.size(), a + width);
      std::vector<double> bin(v.begin() + ptrdiff_t(a), v.begin() + ptrdiff_t(b));
      double sum = 0;
      for (const double x : bin) sum += x;
      c.x.push_back(double(step[b - 1]));
      c.mean.push_back(sum / double(bin.size()));
      c.lo.push_back(quantile(bin, 0.25));
      c.hi.push_back(quantile(bin, 0.75));
    }
    c.x_label = "training step";
    c.y_label = s.metric == "loss" ? "training loss" : "gradient norm";
    return c;
  }
  if (!h5::exists(f, "train/layer_step") || h5::length(f, "train/layer_step") == 0)
    fail("{}: the run recorded no per-layer statistics (set train.layer_stats_every)", what);
  const std::vector<int64_t> step = h5::read<int64_t>(f, "train/layer_step");
  const std::vector<double> v = h5::read<double>(f, "train/" + s.metric);
  if (v.size() % step.size() != 0)
    fail("{}: /train/{} has {} values, not a multiple of its {} records", what, s.metric, v.size(),
         step.size());
  const size_t blocks = v.size() / step.size();
  std::vector<size_t> records;
  for (size_t r = 0; r < step.size(); ++r)
    if (!s.train_steps || (step[r] >= s.train_steps->first && step[r] <= s.train_steps->second))
      records.push_back(r);
  if (records.empty())
    fail("{}: no per-layer record in steps [{}, {}] (records at steps {} to {}, {} in all)", what,
         s.train_steps->first, s.train_steps->second, step.front(), step.back(), step.size());
  for (size_t l = 0; l < blocks; ++l) {
    double logs = 0;
    std::vector<double> values;
    for (const size_t r : records) {
      values.push_back(v[r * blocks + l]);
      logs += std::log(values.back());
    }
    c.x.push_back(double(l + 1));
    c.mean.push_back(std::exp(logs / double(records.size())));
    c.lo.push_back(quantile(values, 0.25));
    c.hi.push_back(quantile(values, 0.75));
  }
  c.x_label = "layer";
  c.y_label = s.metric == "layer_grad_norm" ? "gradient norm" : "hidden-state variance";
  return c;
}

}  // namespace

Curve read_curve(const std::string& path, const FigureSeries& s, const std::string& set_name) {
  const std::string what = fmt::format("series {} (run {}, {})", s.id, s.run, path);
  const h5::Handle f = h5::open_file(path);
  if (set_name == "train") return read_train_curve(f.id(), s, what);
  Curve c;
  // A bandit run's regret curves: /bandit/<policy>/{mean, sem}, the band mean ± SEM.
  if (set_name == "bandit" || (!h5::exists(f.id(), "eval") && h5::exists(f.id(), "bandit"))) {
    if (!h5::exists(f.id(), "bandit")) fail("{}: the file has no /bandit regret curves", what);
    if (!h5::exists(f.id(), "bandit/" + s.predictor))
      fail("{}: no policy '{}' in /bandit (policies: {})", what, s.predictor, [&] {
        auto m = h5::members(f.id(), "bandit");
        m.erase(std::remove(m.begin(), m.end(), "step"), m.end());
        return join(m);
      }());
    const h5::Handle g = h5::open_group(f.id(), "bandit/" + s.predictor);
    c.x = as_doubles(h5::read<int64_t>(f.id(), "bandit/step"));
    c.mean = h5::read<double>(g.id(), "mean");
    const std::vector<double> sem = h5::read<double>(g.id(), "sem");
    for (size_t i = 0; i < c.mean.size(); ++i) {
      c.lo.push_back(c.mean[i] - sem[i]);
      c.hi.push_back(c.mean[i] + sem[i]);
    }
    c.x_label = "step";
    c.y_label = "cumulative regret";
    return c;
  }
  if (!h5::exists(f.id(), "eval")) fail("{}: the file has no /eval results", what);
  const std::vector<std::string> sets = h5::members(f.id(), "eval");
  const std::string set = set_name.empty() ? sets.front() : set_name;
  if (!h5::exists(f.id(), "eval/" + set))
    fail("{}: no evaluation set '{}' (sets: {})", what, set, join(sets));
  const h5::Handle g = h5::open_group(f.id(), "eval/" + set);
  // The predictor by its label; else by its registry name when one predictor of the set has it
  // ("knn" for "knn(k=3)"); "model" is the trained model, whatever its name.
  const auto find_predictor = [&](const std::string& wanted) {
    if (h5::exists(g.id(), wanted)) return wanted;
    std::vector<std::string> named, preds;
    for (const auto& m : h5::members(f.id(), "eval/" + set)) {
      if (!h5::is_group(g.id(), m)) continue;
      preds.push_back(m);
      const h5::Handle pg = h5::open_group(g.id(), m);
      const std::string attr = wanted == "model" ? "kind" : "name";
      if (h5::exists_attr(pg.id(), attr) && h5::read_attr_string(pg.id(), attr) == wanted)
        named.push_back(m);
    }
    if (named.size() > 1)
      fail("{}: predictor '{}' is ambiguous in set {} ({}); name one by its label", what, wanted,
           set, join(named));
    if (named.empty())
      fail("{}: no predictor '{}' in set {} (predictors: {})", what, wanted, set, join(preds));
    return named.front();
  };
  const std::string predictor = find_predictor(s.predictor);
  const h5::Handle p = h5::open_group(g.id(), predictor);
  if (s.metric == "spectrum") {
    if (!h5::exists(p.id(), "spectrum"))
      fail("{}: set {} measured no spectrum (the run's eval set needs spectrum: {{...}})", what,
           set);
    c.x = as_doubles(h5::read<int64_t>(g.id(), "spectrum_frequency"));
    c.mean = h5::read<double>(p.id(), "spectrum");
    c.lo = c.hi = c.mean;
    c.x_label = "frequency";
    c.y_label = "amplitude";
    return c;
  }
  const bool by_length = h5::exists(g.id(), "length");
  c.x = as_doubles(h5::read<int64_t>(g.id(), by_length ? "length" : "n_examples"));
  c.x_label = by_length && h5::exists_attr(g.id(), "x_label")
                  ? h5::read_attr_string(g.id(), "x_label")
                  : (by_length ? "length" : "in-context examples");
  c.y_label = y_label_of(g.id());
  hid_t from = p.id();
  h5::Handle metric_group;
  if (!s.against.empty()) {
    const std::string other = find_predictor(s.against);
    if (other == predictor)
      fail("{}: against names the series' own predictor {}; name another", what, predictor);
    if (!h5::exists(p.id(), "difference/" + other))
      fail(
          "{}: set {} has no prediction differences (its eval set needs prediction_difference: "
          "true)",
          what, set);
    metric_group = h5::open_group(p.id(), "difference/" + other);
    from = metric_group.id();
    const std::string m = h5::read_attr_string(g.id(), "prediction_difference");
    c.y_label = m == "squared_difference" ? "squared prediction difference" : "sign disagreement";
  } else if (!s.metric.empty()) {
    const std::string extra = h5::exists_attr(g.id(), "extra_metrics")
                                  ? h5::read_attr_string(g.id(), "extra_metrics")
                                  : "";
    if (!h5::exists(p.id(), s.metric))
      fail("{}: no metric '{}' for {} in set {} (further metrics: {}; or spectrum)", what, s.metric,
           s.predictor, set, extra.empty() ? "none" : extra);
    metric_group = h5::open_group(p.id(), s.metric);
    from = metric_group.id();
    c.y_label = h5::exists_attr(from, "label") ? h5::read_attr_string(from, "label") : s.metric;
  }
  c.mean = h5::read<double>(from, "mean");
  c.lo = h5::read<double>(from, "lo");
  c.hi = h5::read<double>(from, "hi");
  if (c.mean.size() != c.x.size() || c.lo.size() != c.x.size() || c.hi.size() != c.x.size())
    fail("{}: curve of {} points against {} x values", what, c.mean.size(), c.x.size());
  return c;
}

Curve join_runs(const std::vector<Curve>& parts, const std::string& what) {
  if (parts.size() == 1) return parts.front();
  std::vector<std::tuple<double, size_t, size_t>> order;  // (x, part, index) of every point
  for (size_t p = 0; p < parts.size(); ++p)
    for (size_t i = 0; i < parts[p].x.size(); ++i) order.emplace_back(parts[p].x[i], p, i);
  std::sort(order.begin(), order.end());
  Curve c;
  c.x_label = parts.front().x_label;
  c.y_label = parts.front().y_label;
  for (size_t k = 0; k < order.size(); ++k) {
    const auto [x, p, i] = order[k];
    if (k > 0 && x == std::get<0>(order[k - 1]))
      fail("{}: two of its runs give x = {:g} (each run of a series gives other x)", what, x);
    c.x.push_back(parts[p].x[i]);
    c.mean.push_back(parts[p].mean[i]);
    c.lo.push_back(parts[p].lo[i]);
    c.hi.push_back(parts[p].hi[i]);
  }
  return c;
}

Curve combine_seeds(const std::vector<Curve>& seeds, double times, const std::string& what) {
  if (seeds.empty()) fail("{}: no curves to combine", what);
  Curve c = seeds.front();
  for (size_t s = 1; s < seeds.size(); ++s) {
    if (seeds[s].x != c.x) fail("{}: the seeds' curves have different x values", what);
    for (size_t i = 0; i < c.x.size(); ++i) {
      c.mean[i] += seeds[s].mean[i];
      c.lo[i] = std::min(c.lo[i], seeds[s].lo[i]);
      c.hi[i] = std::max(c.hi[i], seeds[s].hi[i]);
    }
  }
  for (size_t i = 0; i < c.x.size(); ++i) {
    c.mean[i] = c.mean[i] / double(seeds.size()) * times;
    c.lo[i] *= times;
    c.hi[i] *= times;
    if (times < 0) std::swap(c.lo[i], c.hi[i]);
  }
  return c;
}

}  // namespace icl

#include "repro/figure.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include <yaml-cpp/yaml.h>

#include <fmt/format.h>

#include "core/error.h"
#include "run/config_file.h"

namespace icl {

namespace fs = std::filesystem;

const std::vector<std::string>& figure_scales() {
  static const std::vector<std::string> scales = {"quick", "paper"};
  return scales;
}

const FigureSeries* Figure::find_series(const std::string& id) const {
  for (const auto& p : panels)
    for (const auto& s : p.series)
      if (s.id == id) return &s;
  return nullptr;
}

const FigureScale& Figure::scale(const std::string& which) const {
  const auto it = scales.find(which);
  if (it == scales.end()) {
    std::string known;
    for (const auto& [k, v] : scales) known += (known.empty() ? "" : ", ") + k;
    fail("figure {}: no scale '{}' (this figure has: {})", name, which, known);
  }
  return it->second;
}

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

std::string required_string(const YAML::Node& node, const std::string& key,
                            const std::string& where) {
  const std::string s = get_string(node, key, where + "." + key, "");
  if (s.empty()) fail("{}: '{}' is required", where, key);
  return s;
}

std::pair<double, double> number_pair(const YAML::Node& n, const std::string& where) {
  if (!n.IsSequence() || n.size() != 2 || !n[0].IsScalar() || !n[1].IsScalar())
    fail("{}: expected two numbers [a, b], got {}", where, kind_of(n));
  std::pair<double, double> p;
  YAML::Node pair = YAML::Node(YAML::NodeType::Map);
  pair["a"] = n[0];
  pair["b"] = n[1];
  p.first = get_real(pair, "a", where, 0, -1e300, 1e300);
  p.second = get_real(pair, "b", where, 0, -1e300, 1e300);
  if (!(p.first < p.second)) fail("{}: [{}, {}] must be increasing", where, p.first, p.second);
  return p;
}

std::vector<std::string> overrides_of(const YAML::Node& n, const std::string& where) {
  std::vector<std::string> out;
  if (!n) return out;
  if (!n.IsMap()) fail("{}: expected a map of overrides (key: value), got {}", where, kind_of(n));
  for (const auto& kv : n) {
    const std::string key = key_name(kv.first, where);
    if (!kv.second.IsDefined() || kv.second.IsNull())
      fail("{}.{}: expected a value, a list or a map, got nothing", where, key);
    YAML::Emitter e;
    e << YAML::Flow << kv.second;
    out.push_back(key + "=" + e.c_str());
  }
  return out;
}

FigureScale read_scale(const YAML::Node& n, const std::string& where) {
  check_keys(n, where, {"minutes", "seeds", "runs"});
  FigureScale s;
  s.minutes = get_real(n, "minutes", where + ".minutes", 0, 0, 1e7);
  s.seeds = get_int(n, "seeds", where + ".seeds", 1, 1, 1000);
  const YAML::Node runs = n["runs"];
  if (!runs || !runs.IsSequence() || runs.size() == 0)
    fail("{}.runs: expected a list of runs ({{id, config, set}}), got {}", where,
         runs ? kind_of(runs) : "nothing");
  std::set<std::string> ids;
  for (size_t i = 0; i < runs.size(); ++i) {
    const std::string w = fmt::format("{}.runs.{}", where, i);
    check_keys(runs[i], w, {"id", "config", "set", "smoke_set"});
    FigureRun r;
    r.id = required_string(runs[i], "id", w);
    r.config = required_string(runs[i], "config", w);
    r.sets = overrides_of(runs[i]["set"], w + ".set");
    r.smoke_sets = overrides_of(runs[i]["smoke_set"], w + ".smoke_set");
    if (!ids.insert(r.id).second) fail("{}: run id '{}' is given twice", w, r.id);
    resolve_benchmark_path(r.config, nullptr);  // an unknown config: one line listing the known
    s.runs.push_back(std::move(r));
  }
  return s;
}

// `at` or `over`: one value for every scale, or a map giving each scale its own.
template <class T, class Read>
std::map<std::string, T> per_scale(const YAML::Node& n, const std::string& where, Read read) {
  std::map<std::string, T> out;
  if (n.IsMap()) {
    check_keys(n, where, figure_scales());
    for (const auto& s : figure_scales()) {
      if (!n[s])
        fail("{}: gives no value for scale '{}' (give one per scale, or one for all)", where, s);
      out[s] = read(n[s], where + "." + s);
    }
  } else {
    const T v = read(n, where);
    for (const auto& s : figure_scales()) out[s] = v;
  }
  return out;
}

double number_of(const YAML::Node& n, const std::string& where) {
  if (!n.IsScalar()) fail("{}: expected a number, got {}", where, kind_of(n));
  YAML::Node m(YAML::NodeType::Map);
  m["v"] = n;
  return get_real(m, "v", where, 0, -1e300, 1e300);
}

Quantity read_quantity(const YAML::Node& n, const std::string& where) {
  Quantity q;
  if (n && n.IsScalar()) {
    q.value = number_of(n, where);
    return q;
  }
  if (!n || !n.IsMap()) fail("{}: expected a number or {{series, at | over}}", where);
  check_keys(n, where, {"series", "at", "over", "reduce", "times", "plus", "value"});
  q.times = get_real(n, "times", where + ".times", 1.0, -1e300, 1e300);
  q.plus = get_real(n, "plus", where + ".plus", 0.0, -1e300, 1e300);
  if (n["value"]) {
    if (n["series"] || n["at"] || n["over"])
      fail("{}: a constant 'value' takes no series, at or over", where);
    q.value = get_real(n, "value", where + ".value", 0, -1e300, 1e300);
    return q;
  }
  q.series = required_string(n, "series", where);
  if (n["at"].IsDefined() == n["over"].IsDefined())
    fail("{}: give exactly one of 'at: x' and 'over: [a, b]'", where);
  if (n["at"]) q.at = per_scale<double>(n["at"], where + ".at", number_of);
  if (n["over"])
    q.over = per_scale<std::pair<double, double>>(n["over"], where + ".over", number_pair);
  q.reduce = get_string(n, "reduce", where + ".reduce", "mean");
  if (q.reduce != "mean" && q.reduce != "max" && q.reduce != "min" && q.reduce != "growth" &&
      q.reduce != "spread")
    fail("{}.reduce: must be one of max|min|mean|growth|spread, got '{}'", where, q.reduce);
  if (n["reduce"] && q.over.empty()) fail("{}.reduce: only with 'over: [a, b]'", where);
  return q;
}

}  // namespace

Figure read_figure(const std::string& path, const std::string& name) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    fail("figure {}: cannot read {}", name, path);
  } catch (const YAML::Exception& e) {
    fail("figure {}: not valid YAML ({} at line {})", path, e.msg, e.mark.line + 1);
  }
  refuse_duplicate_keys(root, path);
  const std::string w = "figure " + name;
  check_keys(root, w, {"title", "paper", "note", "scales", "panels", "published", "claims"});
  Figure f;
  f.name = name;
  f.path = path;
  f.title = required_string(root, "title", w);
  f.paper = required_string(root, "paper", w);
  f.note = get_string(root, "note", w + ".note", "");

  const YAML::Node scales = root["scales"];
  if (!scales || !scales.IsMap())
    fail("{}: 'scales' is required (a map: {})", w, join(figure_scales()));
  check_keys(scales, w + ".scales", figure_scales());
  for (const auto& kv : scales) {
    const std::string s = kv.first.as<std::string>();
    f.scales[s] = read_scale(kv.second, w + ".scales." + s);
  }
  for (const auto& s : figure_scales())
    if (!f.scales.count(s))
      fail("{}.scales: scale '{}' is missing (every figure has: {})", w, s, join(figure_scales()));
  // Every scale runs the same runs (at other sizes), so that the series mean the same everywhere.
  std::vector<std::string> ids;
  for (const auto& r : f.scales.begin()->second.runs) ids.push_back(r.id);
  for (const auto& [s, sc] : f.scales) {
    std::vector<std::string> here;
    for (const auto& r : sc.runs) here.push_back(r.id);
    if (here != ids)
      fail("{}.scales.{}: runs [{}] differ from scale {}'s [{}] (every scale names the same runs)",
           w, s, join(here), f.scales.begin()->first, join(ids));
  }

  const YAML::Node panels = root["panels"];
  if (!panels || !panels.IsSequence() || panels.size() == 0)
    fail("{}: 'panels' is required (a list of panels, each with its series)", w);
  std::set<std::string> series_ids;
  for (size_t i = 0; i < panels.size(); ++i) {
    const std::string pw = fmt::format("{}.panels.{}", w, i);
    const YAML::Node p = panels[i];
    check_keys(p, pw,
               {"title", "set", "x_label", "y_label", "y_scale", "x_lim", "y_lim", "series"});
    FigurePanel panel;
    panel.title = get_string(p, "title", pw + ".title", "");
    panel.set = get_string(p, "set", pw + ".set", "");
    panel.x_label = get_string(p, "x_label", pw + ".x_label", "");
    panel.y_label = get_string(p, "y_label", pw + ".y_label", "");
    panel.y_scale = get_string(p, "y_scale", pw + ".y_scale", "linear");
    if (panel.y_scale != "linear" && panel.y_scale != "log")
      fail("{}.y_scale: must be one of linear|log, got '{}'", pw, panel.y_scale);
    if (p["x_lim"]) panel.x_lim = number_pair(p["x_lim"], pw + ".x_lim");
    if (p["y_lim"]) panel.y_lim = number_pair(p["y_lim"], pw + ".y_lim");
    const YAML::Node ss = p["series"];
    if (!ss || !ss.IsSequence() || ss.size() == 0) fail("{}: 'series' is required (a list)", pw);
    for (size_t j = 0; j < ss.size(); ++j) {
      const std::string sw = fmt::format("{}.series.{}", pw, j);
      check_keys(ss[j], sw,
                 {"id", "label", "run", "runs", "predictor", "set", "metric", "against", "times",
                  "style", "train_steps"});
      FigureSeries s;
      s.id = required_string(ss[j], "id", sw);
      s.label = get_string(ss[j], "label", sw + ".label", s.id);
      if (ss[j]["run"] && ss[j]["runs"]) fail("{}: give run or runs, not both", sw);
      if (ss[j]["runs"]) {
        const YAML::Node rs = ss[j]["runs"];
        if (!rs.IsSequence() || rs.size() < 2)
          fail("{}.runs: expected a list of at least two run ids (one run: use run), got {}", sw,
               rs.IsSequence() ? fmt::format("{} entries", rs.size()) : kind_of(rs));
        for (size_t k = 0; k < rs.size(); ++k) {
          if (!rs[k].IsScalar() || rs[k].Scalar().empty())
            fail("{}.runs.{}: expected a run id, got {}", sw, k, kind_of(rs[k]));
          s.runs.push_back(rs[k].Scalar());
        }
      } else {
        s.runs = {required_string(ss[j], "run", sw)};
      }
      s.run = s.runs.front();
      s.set = get_string(ss[j], "set", sw + ".set", "");
      const bool train = (s.set.empty() ? panel.set : s.set) == "train";
      s.predictor = train ? get_string(ss[j], "predictor", sw + ".predictor", "model")
                          : required_string(ss[j], "predictor", sw);
      s.metric = get_string(ss[j], "metric", sw + ".metric", "");
      s.against = get_string(ss[j], "against", sw + ".against", "");
      if (!s.against.empty() && !s.metric.empty())
        fail("{}: give metric or against, not both (against reads the prediction difference)", sw);
      if (train) {
        if (s.predictor != "model" || !s.against.empty())
          fail("{}: set train is the trained model's log (predictor model, no against)", sw);
        if (s.metric != "loss" && s.metric != "grad_norm" && s.metric != "layer_grad_norm" &&
            s.metric != "layer_variance")
          fail(
              "{}.metric: set train draws one of loss|grad_norm|layer_grad_norm|layer_variance, "
              "got '{}'",
              sw, s.metric);
        if (ss[j]["train_steps"]) {
          if (!s.metric.starts_with("layer_"))
            fail("{}.train_steps: only for the layer metrics (the per-layer records to average)",
                 sw);
          const auto [a, b] = number_pair(ss[j]["train_steps"], sw + ".train_steps");
          if (a < 1 || b < a)
            fail("{}.train_steps: [a, b] with 1 <= a <= b, got [{:g}, {:g}]", sw, a, b);
          s.train_steps = {int64_t(a), int64_t(b)};
        }
      } else if (ss[j]["train_steps"]) {
        fail("{}.train_steps: only with set train", sw);
      }
      s.times = get_real(ss[j], "times", sw + ".times", 1.0, -1e300, 1e300);
      s.style = get_string(ss[j], "style", sw + ".style", "");
      for (const std::string& id : s.runs)
        if (std::find(ids.begin(), ids.end(), id) == ids.end())
          fail("{}.{}: unknown run '{}' (runs: {})", sw, s.runs.size() > 1 ? "runs" : "run", id,
               join(ids));
      if (std::set<std::string>(s.runs.begin(), s.runs.end()).size() != s.runs.size())
        fail("{}.runs: a run is named twice", sw);
      if (!series_ids.insert(s.id).second) fail("{}: series id '{}' is given twice", sw, s.id);
      panel.series.push_back(std::move(s));
    }
    f.panels.push_back(std::move(panel));
  }
  const std::vector<std::string> known(series_ids.begin(), series_ids.end());
  const auto check_series = [&](const std::string& id, const std::string& where) {
    if (!series_ids.count(id)) fail("{}: unknown series '{}' (series: {})", where, id, join(known));
  };

  if (const YAML::Node pub = root["published"]) {
    if (!pub.IsSequence()) fail("{}.published: expected a list, got {}", w, kind_of(pub));
    for (size_t i = 0; i < pub.size(); ++i) {
      const std::string pw = fmt::format("{}.published.{}", w, i);
      check_keys(pub[i], pw, {"series", "x", "value", "source"});
      Published p;
      p.series = required_string(pub[i], "series", pw);
      check_series(p.series, pw + ".series");
      if (!pub[i]["x"] || !pub[i]["value"]) fail("{}: 'x' and 'value' are required", pw);
      p.x = get_real(pub[i], "x", pw + ".x", 0, -1e300, 1e300);
      p.value = get_real(pub[i], "value", pw + ".value", 0, -1e300, 1e300);
      p.source = required_string(pub[i], "source", pw);
      f.published.push_back(p);
    }
  }

  const YAML::Node claims = root["claims"];
  if (claims && !claims.IsSequence())
    fail("{}.claims: expected a list, got {}", w, kind_of(claims));
  std::set<std::string> claim_ids;
  for (size_t i = 0; claims && i < claims.size(); ++i) {
    const std::string cw = fmt::format("{}.claims.{}", w, i);
    const YAML::Node c = claims[i];
    check_keys(c, cw, {"id", "text", "scales", "left", "op", "right"});
    Claim claim;
    claim.id = required_string(c, "id", cw);
    if (!claim_ids.insert(claim.id).second) fail("{}: claim id '{}' is given twice", cw, claim.id);
    claim.text = required_string(c, "text", cw);
    claim.op = required_string(c, "op", cw);
    if (claim.op != "<" && claim.op != "<=" && claim.op != ">" && claim.op != ">=")
      fail("{}.op: must be one of <, <=, >, >=, got '{}'", cw, claim.op);
    if (!c["left"] || !c["right"]) fail("{}: 'left' and 'right' are required", cw);
    claim.left = read_quantity(c["left"], cw + ".left");
    claim.right = read_quantity(c["right"], cw + ".right");
    for (const Quantity* q : {&claim.left, &claim.right})
      if (!q->series.empty()) check_series(q->series, cw);
    if (claim.left.series.empty()) fail("{}.left: must name a series", cw);
    if (const YAML::Node sc = c["scales"]) {
      if (!sc.IsSequence() || sc.size() == 0)
        fail("{}.scales: expected a list of scales ({})", cw, join(figure_scales()));
      for (const auto& s : sc) {
        const std::string scale = s.IsScalar() ? s.as<std::string>() : "";
        if (!f.scales.count(scale))
          fail("{}.scales: unknown scale '{}' (scales: {})", cw, scale, join(figure_scales()));
        claim.scales.push_back(scale);
      }
    } else {
      claim.scales = figure_scales();
    }
    f.claims.push_back(std::move(claim));
  }
  return f;
}

std::vector<std::string> list_figures() {
  std::vector<std::string> out;
  std::error_code ec;
  const fs::path root(config_dir());
  for (const auto& paper : fs::directory_iterator(root, ec)) {
    const fs::path dir = paper.path() / "figures";
    if (!fs::is_directory(dir, ec)) continue;
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (e.is_regular_file() && e.path().extension() == ".yaml")
        out.push_back(paper.path().filename().string() + "/" + e.path().stem().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

Figure load_figure(const std::string& arg) {
  std::error_code ec;
  if (arg.size() > 5 && arg.ends_with(".yaml")) {
    if (!fs::is_regular_file(arg, ec)) fail("figure file {} does not exist", arg);
    const fs::path p(arg);
    // configs/<paper>/figures/<name>.yaml names itself "<paper>/<name>"; elsewhere, its stem.
    const fs::path parent = p.parent_path();
    const std::string name =
        parent.filename() == "figures" && parent.has_parent_path()
            ? parent.parent_path().filename().string() + "/" + p.stem().string()
            : p.stem().string();
    return read_figure(arg, name);
  }
  const size_t slash = arg.find('/');
  const fs::path p = slash == std::string::npos ? fs::path()
                                                : fs::path(config_dir()) / arg.substr(0, slash) /
                                                      "figures" / (arg.substr(slash + 1) + ".yaml");
  if (p.empty() || !fs::is_regular_file(p, ec)) {
    const std::vector<std::string> known = list_figures();
    fail("unknown figure '{}' (figures: {}; icl reproduce --list)", arg,
         known.empty() ? "none" : join(known));
  }
  return read_figure(p.string(), arg);
}

}  // namespace icl

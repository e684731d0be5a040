#pragma once
// A paper's figure as a file, configs/<paper>/figures/<name>.yaml: the runs it needs at each scale
// (benchmark configs with overrides, times seeds), the panels and series to draw, the published
// values, and the paper's claims as checks on our numbers. Read once, checked whole: a key, run,
// series or claim field the reader does not know is a one-line error naming it and what is
// allowed (docs/DESIGN.md, "Figures and claims").
//
//   title: "Fig. 2: linear regression"        paper: "Garg et al. 2022 (arXiv 2208.01066)"
//   note: optional text for summary.md
//   scales:
//     quick: {minutes: 6, seeds: 1, runs: [{id: tf, config: quickstart, set: {train.steps: 10}}]}
//     paper: {minutes: 3000, seeds: 3, runs: [...]}          every scale names the same run ids
//   panels:
//     - title: standard   set: standard (the run's evaluation set; default its first)
//       x_label / y_label (default: from the results file), y_scale: linear|log, x_lim, y_lim
//       series: [{id: transformer, label: Transformer, run: tf, predictor: model,
//                 metric: (a further metric, or spectrum), times: 1, style: "--",
//                 against: least_squares (the prediction difference from that predictor)}]
//       set: train reads the training log instead: metric loss | grad_norm | layer_grad_norm |
//                 layer_variance, predictor optional (model), train_steps: [a, b] (the layer
//                 metrics' records to average)
//   published: [{series: transformer, x: 40, value: 0.001, source: "Fig. 2"}]
//   claims:
//     - id: beats_averaging
//       text: "at k = 2d the transformer's error is below 1/4 of averaging's"
//       scales: [quick, paper]                              (default: every scale)
//       left: {series: transformer, at: 10}                  or over: [a, b], reduce: max|min|mean
//                                                |growth (last/first) |spread (max/min)
//                                                (at / over per scale: at: {quick: 10, paper: 40})
//       op: "<"                                              <, <=, >, >=
//       right: {series: averaging, at: 10, times: 0.25}      or a number; also plus: 0.1
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace icl {

struct FigureRun {
  std::string id;
  std::string config;             // a benchmark name or .yaml path
  std::vector<std::string> sets;  // "--set" overrides, "key=value"
  // Further overrides of a smoke run only (icl reproduce --smoke), after its one training step and
  // 32 prompts: what a CPU needs to smoke-run a model it cannot evaluate at the paper's size in a
  // smoke's time (the maze figure's 8M models decoding 30×30 paths: evaluated on small grids).
  std::vector<std::string> smoke_sets;
};

struct FigureScale {
  double minutes = 0;  // the expected wall time (quick: on a 2-core CPU)
  int64_t seeds = 1;
  std::vector<FigureRun> runs;
};

struct FigureSeries {
  std::string id, label, run;
  // The runs its points come from: `run` alone, or (runs: [a, b, ...]) several runs that each give
  // other x, joined in order of x: one model per grid size, as Nolte et al. train theirs. `run` is
  // then the first of them.
  std::vector<std::string> runs;
  std::string predictor;  // a predictor's label in the results file; "model": the trained model
  std::string set;        // "" = the panel's set
  std::string metric;     // "" = the evaluation's metric; else a further metric, or "spectrum"
  // A predictor of the same set: the curve is then the prediction difference between `predictor`
  // and it (the set needs eval prediction_difference); metric must be empty.
  std::string against;
  double times = 1.0;  // multiplies every value (a normalisation the paper applies in its plot)
  std::string style;   // a matplotlib line style, "" for solid
  // Set "train" (the training log): metric loss | grad_norm (against step, in at most 200 bins)
  // or layer_grad_norm | layer_variance (against the block 1..L: the geometric mean over the
  // per-layer records with step in `train_steps`, default all; these statistics span orders of
  // magnitude over training). The band is the middle half of the bin's or the records' values.
  std::optional<std::pair<int64_t, int64_t>> train_steps;
};

struct FigurePanel {
  std::string title, set, x_label, y_label, y_scale = "linear";
  std::optional<std::pair<double, double>> x_lim, y_lim;
  std::vector<FigureSeries> series;
};

struct Published {
  std::string series;
  double x = 0, value = 0;
  std::string source;
};

// A number taken from the curves: one series at one x, or reduced over an x range; or a constant.
// `at` and `over` may differ by scale (`at: {quick: 10, paper: 40}`, k = 2d at each scale's d).
struct Quantity {
  std::string series;                                     // "" = the constant `value`
  std::map<std::string, double> at;                       // scale -> x
  std::map<std::string, std::pair<double, double>> over;  // scale -> [a, b]
  // Over a range: max | min | mean | growth (the value at the range's last point over its first) |
  // spread (max over min).
  std::string reduce = "mean";
  double value = 0;
  double times = 1.0;  // value = times * (series or constant) + plus
  double plus = 0.0;
};

struct Claim {
  std::string id, text;
  std::vector<std::string> scales;  // where it can be checked
  Quantity left, right;
  std::string op;
};

struct Figure {
  std::string name;  // "garg2022/linear_regression"
  std::string path;
  std::string title, paper, note;
  std::map<std::string, FigureScale> scales;
  std::vector<FigurePanel> panels;
  std::vector<Published> published;
  std::vector<Claim> claims;

  const FigureSeries* find_series(const std::string& id) const;
  const FigureScale& scale(const std::string& name) const;  // an icl::Error naming the scales
};

// The scales a figure may declare, in the order they are listed.
const std::vector<std::string>& figure_scales();

// Reads and checks a figure file. Run configs are checked to exist; they are resolved when run.
Figure read_figure(const std::string& path, const std::string& name);
// A figure name ("garg2022/linear_regression") or a .yaml path.
Figure load_figure(const std::string& name_or_path);
// Every figure under config_dir(): "<paper>/<name>" for configs/<paper>/figures/<name>.yaml.
std::vector<std::string> list_figures();

}  // namespace icl

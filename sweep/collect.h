#pragma once
// `icl sweep collect FILE`: the sweep's finished runs merged into one summary.
//
// Per setting (the runs that differ only in seed), every curve of every run is read: each
// evaluation set's predictors (their metric against n_examples, or prompt length for token tasks)
// and a bandit run's policies (cumulative regret against the step). Across seeds, per point: the
// mean and a 95% Student-t interval of the mean (mean ± t(0.975, S−1)·sd/√S; with one seed the
// interval is that point alone and flagged as such by seeds = 1).
//
// With a selection axis (the file's `select`, by default train.lr when it is an axis), the runs
// are grouped by every other axis value, and in each group the axis value with the best score is
// picked: the selected predictor's seed-mean curve on the selected set, averaged over its points
// (lowest for errors and regret, highest for accuracies), as papers pick a learning rate per
// setting.
//
// Output, written whole or not at all (io/atomic_output.h), default OUT/sweep.h5:
//   /                         attrs: sweep (the file's text), base, runs, collected, missing
//                             (the names of runs without a finished file, one per line),
//                             git_commit, created
//   /settings/<setting>       attrs: values ("key=value" per line), seeds (count), files
//   /settings/<setting>/<set>/x                       [K] n_examples, length or step
//   /settings/<setting>/<set>/<predictor>/{mean,lo,hi}   [K] across seeds
//   /settings/<setting>/<set>/<predictor>/per_seed     [S, K] each seed's curve
//                             (<set> is "bandit" for a bandit run; the set group's attrs: metric,
//                             x_label)
//   /best/<group>             attrs: axis, value, setting, score, set, predictor
#include <cstdint>
#include <string>
#include <vector>

#include "sweep/spec.h"

namespace icl {

struct SweepCurve {
  std::string set, predictor, metric, x_label;
  std::vector<double> x;
  std::vector<std::vector<double>> per_seed;
  std::vector<double> mean, lo, hi;
};

struct SweepSetting {
  std::string name;
  std::vector<std::pair<std::string, std::string>> values;
  std::vector<uint64_t> seeds;
  std::vector<std::string> files;
  std::vector<SweepCurve> curves;
};

struct SweepBest {
  std::string group;  // the other axes' values ("model.n_layer=2"; "all" when there are none)
  std::string value, setting, set, predictor;
  double score = 0;
};

struct SweepCollection {
  std::vector<SweepSetting> settings;
  std::vector<std::string> missing;  // runs without a finished results file
  std::vector<SweepBest> best;
  int64_t collected = 0;
};

SweepCollection collect_sweep(const SweepSpec& spec);

// Writes the summary (above); an existing file is replaced only when this one is complete.
void write_sweep_summary(const SweepSpec& spec, const SweepCollection& c, const std::string& path);

// The table printed at the end: per set, each setting's predictors at the last point, mean ± half
// the interval over seeds; then the best value per group.
std::string sweep_table(const SweepCollection& c);

// t(0.975, dof), Student's t quantile for a two-sided 95% interval (dof >= 1).
double student_t975(int64_t dof);

}  // namespace icl

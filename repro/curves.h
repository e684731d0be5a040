#pragma once
// A figure's numbers: each series' curve read from its run's results files (one per seed) and
// combined over seeds. The mean is the mean over seeds of each seed's mean over prompts; the band
// runs from the lowest to the highest of the seeds' 90% bootstrap intervals, so it covers the
// spread over prompts and over seeds (a spectrum has no interval: its band is the seeds' range).
#include <string>
#include <vector>

#include "repro/figure.h"

namespace icl {

struct Curve {
  std::vector<double> x, mean, lo, hi;
  std::string x_label, y_label;  // from the results file (attributes x_label, metric, ...)
};

// One seed's curve of `series` from results file `path`; `set` is the set to read ("" = the
// file's first evaluation set). An icl::Error names the series, the file and what is missing with
// what the file has instead (sets, predictors, metrics).
Curve read_curve(const std::string& path, const FigureSeries& series, const std::string& set);

// The curves of a series over several runs (FigureSeries::runs) as one, its points in order of x;
// two runs giving the same x is an icl::Error naming it.
Curve join_runs(const std::vector<Curve>& parts, const std::string& what);

// The seeds' curves of one series combined (they must share x); `times` applied.
Curve combine_seeds(const std::vector<Curve>& seeds, double times, const std::string& what);

}  // namespace icl

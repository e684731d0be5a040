#pragma once
// `icl reproduce`: a figure file's runs at one scale, times seeds, each into its own results file
// under DIR/<paper>/<name>/runs/<scale>/; then the series read back and combined over seeds, the
// claims checked, the figure drawn (report/plot_figure.py, PNG and PDF) and summary.md written.
// A run whose file already holds the same resolved config finished is reused; one that holds a
// checkpoint of the same run is resumed; so a reproduce that was stopped continues where it
// stopped. The seeds of a run that still have to train run side by side in one process
// (run/replicas.h: one per CPU thread, in turn on a GPU), each into the file it has alone.
#include <string>
#include <vector>

#include "repro/claims.h"
#include "repro/figure.h"

namespace icl {

struct ReproduceOptions {
  std::string scale = "quick";
  int64_t seeds = 0;            // 0: the scale's own
  std::string device = "auto";  // where models train (icl run --device)
  std::string out_dir = "results/reproduce";
  bool figures = true;  // draw the PNG and PDF
  bool smoke = false;   // one training step and few prompts per run: the
                        // machinery checked, the claims not judged
  bool progress = true;
  std::string command;  // the command line, for summary.md
};

struct RunOutcome {
  std::string id, config, path, status, device;  // status: "ran", "reused", "resumed at step N"
  uint64_t seed = 0;
  double seconds = 0;
  double final_loss = 0;
  int64_t steps = 0;
};

struct ClaimOutcome {
  const Claim* claim = nullptr;
  ClaimResult result;
};

struct ReproduceResult {
  std::string dir;  // DIR/<paper>/<name>
  std::string figure_png, figure_error;
  std::vector<RunOutcome> runs;
  std::vector<ClaimOutcome> claims;
  SeriesCurves curves;
  double seconds = 0;
  int failed() const;  // claims that fail (0 in a smoke run: nothing is judged)
  bool smoke = false;
};

ReproduceResult reproduce(const Figure& figure, const ReproduceOptions& opt);

// The path of one run's results file.
std::string run_file_path(const std::string& dir, const std::string& scale, const std::string& id,
                          uint64_t seed);

// summary.md's text (also what the tests read).
std::string summary_markdown(const Figure& figure, const ReproduceOptions& opt,
                             const ReproduceResult& r);

}  // namespace icl

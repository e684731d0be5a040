#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "core/error.h"
#include "core/python.h"
#include "io/h5.h"

#ifndef ICL_REPORT_SCRIPT
#define ICL_REPORT_SCRIPT "report/plot_curves.py"
#endif

namespace icl::cli {

namespace fs = std::filesystem;

int draw_figures(const std::string& results, const std::string& out_dir, bool quiet_on_missing,
                 std::string* error_line) {
  const char* env = std::getenv("ICL_REPORT");
  const std::string script = env && *env ? env : ICL_REPORT_SCRIPT;
  if (!fs::exists(script)) {
    if (!quiet_on_missing) fail("report script {} not found (set ICL_REPORT)", script);
    return 1;
  }
  std::vector<std::string> args{results};
  if (!out_dir.empty()) args.insert(args.end(), {"--out", out_dir});
  return run_python(script, args, error_line);
}

int cmd_report(const Args& args) {
  po::options_description opts("options");
  std::string file, out;
  opts.add_options()("file", po::value(&file)->required(), "results.h5 of a run")(
      "out,o", po::value(&out), "directory for the figures (default <file stem>_figures/)");
  po::positional_options_description pos;
  pos.add("file", 1);
  po::variables_map vm;
  if (!parse(
          "report", "FILE.h5 [--out DIR]",
          "Draws metric vs number of in-context examples for every predictor of every evaluation "
          "in a results file (PNG and PDF), with 90% bootstrap intervals.",
          opts, pos, args, vm))
    return 0;
  // An empty --out is not "the default directory" (that is --out left out), as for icl run.
  if (vm.count("out") && out.empty())
    fail("--out: must name a directory for the figures, got ''; leave it out for {}_figures/",
         fs::path(file).stem().string());
  if (!fs::exists(file)) fail("report: {} does not exist", file);
  if (!h5::is_hdf5(file)) fail("report: {} is not an HDF5 file", file);
  bool results = false;
  try {
    const h5::Handle f = h5::open_file(file);
    // Evaluation curves, or a bandit run's regret curves (a baselines-only bandit run has no
    // /eval): the figure script draws both.
    results = h5::exists(f.id(), "eval") || h5::exists(f.id(), "bandit");
  } catch (const Error&) {
    fail("report: {} is not a readable HDF5 file (truncated or damaged)", file);
  }
  if (!results)
    fail(
        "report: {} has no /eval results (nor a bandit run's /bandit; is it a results file of icl "
        "run?)",
        file);
  std::string why;
  const int rc = draw_figures(file, out, false, &why);
  if (rc != 0) {
    // "plot_curves: error: cannot write ..." -> "report: cannot write ..."
    const size_t at = why.find("error: ");
    if (at != std::string::npos) fail("report: {}", why.substr(at + 7));
    if (rc == 127)  // the shell found no such program
      fail("report: cannot run Python '{}' (set ICL_PYTHON to a python3 with h5py and matplotlib)",
           python_interpreter());
    fail("report: drawing the figures of {} failed (exit code {})", file, rc);
  }
  return 0;
}

}  // namespace icl::cli

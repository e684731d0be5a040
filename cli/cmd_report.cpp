#include <sys/wait.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

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

static std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

int draw_figures(const std::string& results, const std::string& out_dir, bool quiet_on_missing,
                 std::string* error_line) {
  const char* env = std::getenv("ICL_REPORT");
  const std::string script = env && *env ? env : ICL_REPORT_SCRIPT;
  if (!fs::exists(script)) {
    if (!quiet_on_missing) fail("report script {} not found (set ICL_REPORT)", script);
    return 1;
  }
  std::string cmd =
      shell_quote(python_interpreter()) + " " + shell_quote(script) + " " + shell_quote(results);
  if (!out_dir.empty()) cmd += " --out " + shell_quote(out_dir);
  // The script's stderr is kept aside: on success it is passed on as it was; on failure its last
  // line (the script's own "error: ..." line) becomes the reason in icl's one line.
  const fs::path err_file =
      fs::temp_directory_path() / fmt::format("icl_report_{}.err", ::getpid());
  cmd += " 2>" + shell_quote(err_file.string());
  const int status = std::system(cmd.c_str());
  std::string err, line, last;
  {
    std::ifstream in(err_file);
    while (std::getline(in, line)) {
      err += line + "\n";
      if (!line.empty()) last = line;
    }
  }
  std::error_code ec;
  fs::remove(err_file, ec);
  const int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
  if (rc != 0 && error_line)
    *error_line = last;
  else
    std::fputs(err.c_str(), stderr);
  return rc;
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

#pragma once
// The `icl` subcommands. Each takes the arguments after its name and returns the exit code; user
// errors are thrown as icl::Error and reported by main().
#include <string>
#include <vector>

namespace icl::cli {

using Args = std::vector<std::string>;

int cmd_list(const Args& args);
int cmd_run(const Args& args);
int cmd_generate(const Args& args);
int cmd_report(const Args& args);
int cmd_eval(const Args& args);

// Draws the figures of a results file with report/plot_curves.py; returns the python exit code.
int draw_figures(const std::string& results, const std::string& out_dir, bool quiet_on_missing);

}  // namespace icl::cli

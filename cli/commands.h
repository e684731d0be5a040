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
int cmd_reproduce(const Args& args);
int cmd_sweep(const Args& args);

// Draws the figures of a results file with report/plot_curves.py; returns the python exit code.
// Runs the figure script; with error_line, a failure's last stderr line goes there instead of to
// stderr (icl report makes it its one error line).
int draw_figures(const std::string& results, const std::string& out_dir, bool quiet_on_missing,
                 std::string* error_line = nullptr);

}  // namespace icl::cli

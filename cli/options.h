#pragma once
// Shared Boost.Program_options plumbing: parse a subcommand's arguments, print --help, and turn
// option errors into one-line icl::Error messages.
#include <boost/program_options.hpp>
#include <map>
#include <string>
#include <vector>

namespace icl::cli {

namespace po = boost::program_options;

// "key=value" task parameters from repeated --set options (icl::Error on a malformed one).
std::map<std::string, std::string> parse_assignments(const std::vector<std::string>& sets);

// --threads N, the OpenMP threads of a command that computes (core/threads.h: the default follows
// the CPU affinity, Slurm and MPI; OMP_NUM_THREADS replaces it, --threads replaces both).
void add_threads_option(po::options_description& opts);
// Applies --threads, or the default, before the command's work; icl::Error for N < 1.
void apply_threads(const po::variables_map& vm);

// Returns false when --help was printed (the caller exits 0).
bool parse(const std::string& command, const std::string& usage, const std::string& about,
           po::options_description& opts, const po::positional_options_description& pos,
           const std::vector<std::string>& args, po::variables_map& vm);

}  // namespace icl::cli

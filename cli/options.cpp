#include "cli/options.h"

#include <iostream>

#include <fmt/format.h>

#include "core/error.h"
#include "core/threads.h"

namespace icl::cli {

std::map<std::string, std::string> parse_assignments(const std::vector<std::string>& sets) {
  std::map<std::string, std::string> raw;
  for (const auto& s : sets) {
    const size_t eq = s.find('=');
    if (eq == std::string::npos || eq == 0)
      fail("--set {}: expected key=value, e.g. --set d=10", s);
    // The same key twice is refused, as in a config file: which one was meant is a guess.
    const auto [it, fresh] = raw.emplace(s.substr(0, eq), s.substr(eq + 1));
    if (!fresh)
      fail("--set {}: {} is given twice ('{}' and '{}')", s, it->first, it->second,
           s.substr(eq + 1));
  }
  return raw;
}

void add_threads_option(po::options_description& opts) {
  opts.add_options()("threads", po::value<int>(),
                     "CPU threads (default: the CPUs this process may use, or OMP_NUM_THREADS)");
}

void apply_threads(const po::variables_map& vm) {
  int n = 0;
  if (vm.count("threads")) {
    n = vm["threads"].as<int>();
    if (n < 1) fail("--threads: must be >= 1, got {}", n);
  }
  threads::apply(n);
}

namespace {
// Boost.Program_options fills its message by replacing each "%name%" token until none is left,
// and derives %canonical_option% from the option's text, so an argument holding "%value%" or
// "%canonical_option%" made what() loop forever (both found by fuzz_generate). Its substitutions
// are protected; a member pointer formed in a derived class reaches them, and a word joiner
// (U+2060, invisible) after every '%' they hold keeps any token from forming in a replacement.
struct Substitutions : po::error_with_option_name {
  static constexpr auto member = &Substitutions::m_substitutions;
};

void defuse_placeholders(po::error_with_option_name& e) {
  for (auto& [name, value] : e.*Substitutions::member)
    for (size_t at = value.find('%'); at != std::string::npos; at = value.find('%', at + 1))
      value.insert(at + 1, "\u2060");
}
}  // namespace

bool parse(const std::string& command, const std::string& usage, const std::string& about,
           po::options_description& opts, const po::positional_options_description& pos,
           const std::vector<std::string>& args, po::variables_map& vm) {
  opts.add_options()("help,h", "show this help");
  try {
    po::store(po::command_line_parser(args).options(opts).positional(pos).run(), vm);
    if (vm.count("help")) {
      std::cout << "usage: icl " << command << " " << usage << "\n\n" << about << "\n\n" << opts;
      return false;
    }
    po::notify(vm);
  } catch (po::error_with_option_name& e) {
    defuse_placeholders(e);
    throw UsageError(fmt::format("{}: {} (see icl {} --help)", command, e.what(), command));
  } catch (const po::error& e) {
    throw UsageError(fmt::format("{}: {} (see icl {} --help)", command, e.what(), command));
  }
  return true;
}

}  // namespace icl::cli

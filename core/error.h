#pragma once
// One exception type for everything a user can get wrong (bad config, bad file, bad flag).
// Its message is a single line that names the offending thing and what is allowed; the CLI
// prints it as "icl: error: <message>" and exits nonzero.
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace icl {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg) : std::runtime_error(msg) {}
};

// A malformed command line (unknown option, missing argument): the CLI exits 2 instead of 1.
class UsageError : public Error {
 public:
  using Error::Error;
};

template <class... Args>
[[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) {
  throw Error(fmt::format(f, std::forward<Args>(args)...));
}

// Internal invariant: a broken one is a bug in iclbench, not a user error.
#define ICL_ASSERT(cond)                                                         \
  do {                                                                           \
    if (!(cond))                                                                 \
      throw std::logic_error(                                                    \
          fmt::format("internal error: {} ({}:{})", #cond, __FILE__, __LINE__)); \
  } while (0)

}  // namespace icl

#pragma once
// SIGINT and SIGTERM, handled once for the whole program.
//
// By default either signal ends the process as the default action would (exit status 128 + signal),
// after the registered cleanup has run (io/atomic_output.cpp removes unfinished temporaries; no
// destructor runs when a signal ends a process). While a `Deferral` is alive (training), the first
// signal is only recorded: the trainer sees `requested()` after its current step, saves a
// checkpoint and stops, and the caller ends the process with `Interrupted`. A second signal ends
// the process at once, so a stuck run can still be stopped.
#include <csignal>

#include "core/error.h"

namespace icl::interrupt {

// Installs the handlers (idempotent). `cleanup` must be async-signal-safe; one per program.
void install(void (*cleanup)());

// The signal that asked to stop (SIGINT or SIGTERM), or 0.
int requested();

// Signals arriving while one is alive are deferred to the next step boundary.
class Deferral {
 public:
  Deferral();
  ~Deferral();
  Deferral(const Deferral&) = delete;
  Deferral& operator=(const Deferral&) = delete;
};

// The handlers for one call of a host program that has its own (the Python module: the
// interpreter's SIGINT handler): while a Scope is alive, SIGINT and SIGTERM are ours and deferred
// as under a Deferral (training stops at its next step with a checkpoint; long loops poll
// requested()); the handlers before it come back when it ends, and the recorded signal is cleared
// at both ends. Scopes do not nest.
class Scope {
 public:
  Scope();
  ~Scope();
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  struct sigaction old_int_ {
  }, old_term_{};
};

// Ends the process as `sig` would have: the default action, after the cleanup (main's last step
// after printing the interruption's one line).
[[noreturn]] void die_by(int sig);

}  // namespace icl::interrupt

namespace icl {

// Thrown when training stopped for a signal, after its checkpoint was saved; main prints the
// message and ends by the signal.
class Interrupted : public Error {
 public:
  Interrupted(int sig, const std::string& msg) : Error(msg), signal_(sig) {}
  int signal() const { return signal_; }

 private:
  int signal_;
};

}  // namespace icl

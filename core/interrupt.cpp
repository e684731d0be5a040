#include "core/interrupt.h"

#include <unistd.h>

#include <atomic>

namespace icl::interrupt {

namespace {
volatile std::sig_atomic_t g_requested = 0;
std::atomic<int> g_deferrals{0};
void (*g_cleanup)() = nullptr;

void on_signal(int sig) {
  if (g_deferrals.load() > 0 && g_requested == 0) {
    g_requested = sig;  // the trainer stops at its next step boundary with a checkpoint
    return;
  }
  if (g_cleanup) g_cleanup();
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}
}  // namespace

void install(void (*cleanup)()) {
  if (cleanup) g_cleanup = cleanup;
  static const bool installed = [] {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;  // a deferred signal must not fail a write in progress with EINTR
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    return true;
  }();
  (void)installed;
}

int requested() { return g_requested; }

Scope::Scope() {
  g_requested = 0;
  ++g_deferrals;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, &old_int_);
  sigaction(SIGTERM, &sa, &old_term_);
}

Scope::~Scope() {
  sigaction(SIGINT, &old_int_, nullptr);
  sigaction(SIGTERM, &old_term_, nullptr);
  --g_deferrals;
  g_requested = 0;
}

Deferral::Deferral() {
  install(nullptr);
  ++g_deferrals;
}
Deferral::~Deferral() { --g_deferrals; }

void die_by(int sig) {
  if (g_cleanup) g_cleanup();
  std::signal(sig, SIG_DFL);
  std::raise(sig);
  _exit(128 + sig);  // not reached: the default action of SIGINT/SIGTERM ends the process
}

}  // namespace icl::interrupt

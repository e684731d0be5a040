#include "io/atomic_output.h"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "core/error.h"

namespace icl {

namespace fs = std::filesystem;

namespace {

// Temporary files still being written, so that SIGINT/SIGTERM can remove them too (destructors do
// not run when a signal ends the process). A fixed table: the handler may only use
// async-signal-safe calls, so no allocation and no locks.
constexpr int kSlots = 16;
char g_pending[kSlots][4096];
volatile std::sig_atomic_t g_used[kSlots];

void on_signal(int sig) {
  for (int i = 0; i < kSlots; ++i)
    if (g_used[i]) ::unlink(g_pending[i]);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

int track(const std::string& path) {
  static const bool installed = [] {
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    return true;
  }();
  (void)installed;
  if (path.size() >= sizeof g_pending[0]) return -1;
  for (int i = 0; i < kSlots; ++i)
    if (!g_used[i]) {
      std::memcpy(g_pending[i], path.c_str(), path.size() + 1);
      g_used[i] = 1;
      return i;
    }
  return -1;  // more than kSlots outputs open at once: those are only cleaned up by destructors
}

void untrack(int slot) {
  if (slot >= 0) g_used[slot] = 0;
}

}  // namespace

AtomicH5Output::AtomicH5Output(const std::string& path) : path_(path) {
  const fs::path p(path);
  if (p.filename().empty()) fail("output path '{}' names a directory, not a file", path);
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    // Create what is missing, one level at a time, remembering what we made.
    std::vector<fs::path> missing;
    for (fs::path d = dir; !d.empty() && !fs::exists(d, ec); d = d.parent_path()) {
      missing.push_back(d);
      if (d == d.parent_path()) break;
    }
    for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
      if (!fs::create_directory(*it, ec) || ec) {
        remove_created_dirs();
        fail("cannot write {}: cannot create directory {}: {}", path, it->string(),
             ec ? ec.message() : "it exists and is not a directory");
      }
      created_dirs_.push_back(it->string());
    }
    if (!fs::is_directory(dir, ec)) {
      remove_created_dirs();
      fail("cannot write {}: {} is not a directory", path, dir.string());
    }
  }
  if (fs::is_directory(p, ec)) fail("cannot write {}: it is a directory", path);
  // fmt rather than operator+: GCC 12 warns falsely (-Wrestrict) on "." + std::string.
  static std::atomic<int> counter{0};  // several outputs to one path may be open (checkpoints)
  tmp_ =
      (dir / fmt::format(".{}.tmp-{}-{}", p.filename().string(), ::getpid(), counter++)).string();
  if (::access(dir.c_str(), W_OK) != 0) {
    remove_created_dirs();
    fail("cannot write {}: directory is not writable", path);
  }
  slot_ = track(tmp_);
  try {
    file_ = h5::create_file(tmp_);
  } catch (...) {
    untrack(slot_);
    remove_created_dirs();
    throw;
  }
}

void AtomicH5Output::remove_created_dirs() {
  std::error_code ec;
  for (auto it = created_dirs_.rbegin(); it != created_dirs_.rend(); ++it)
    if (fs::is_empty(*it, ec)) fs::remove(*it, ec);
  created_dirs_.clear();
}

AtomicH5Output::~AtomicH5Output() {
  if (!committed_) {
    file_.close();
    std::remove(tmp_.c_str());
    remove_created_dirs();
  }
  untrack(slot_);
}

void AtomicH5Output::commit() {
  file_.close();
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    std::remove(tmp_.c_str());
    fail("cannot move the finished file into place at {}", path_);
  }
  committed_ = true;
}

}  // namespace icl

#include "io/atomic_output.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>

#include <fmt/format.h>

#include "core/error.h"
#include "core/interrupt.h"
#include "core/rng.h"

namespace icl {

namespace fs = std::filesystem;

namespace {

// Temporary files still being written, so that SIGINT/SIGTERM can remove them too (destructors do
// not run when a signal ends the process). A fixed table: the handler may only use
// async-signal-safe calls, so no allocation and no locks. 64 slots: train.replicas opens a results
// file and a first checkpoint per replica at once (run/replicas.h).
constexpr int kSlots = 64;
char g_pending[kSlots][4096];
volatile std::sig_atomic_t g_used[kSlots];
// Outputs are opened from several threads at once (the replicas' workers): a slot is claimed under
// this lock (the handler only reads the table, and takes no lock).
std::mutex g_slots;

void remove_pending() {
  for (int i = 0; i < kSlots; ++i)
    if (g_used[i]) ::unlink(g_pending[i]);
}

int track(const std::string& path) {
  interrupt::install(remove_pending);
  if (path.size() >= sizeof g_pending[0]) return -1;
  const std::lock_guard<std::mutex> held(g_slots);
  for (int i = 0; i < kSlots; ++i)
    if (!g_used[i]) {
      std::memcpy(g_pending[i], path.c_str(), path.size() + 1);
      g_used[i] = 1;
      return i;
    }
  return -1;  // more than kSlots outputs open at once: those are only cleaned up by destructors
}

void untrack(int slot) {
  const std::lock_guard<std::mutex> held(g_slots);
  if (slot >= 0) g_used[slot] = 0;
}

const char* file_kind(mode_t m) {
  if (S_ISCHR(m)) return "character device";
  if (S_ISBLK(m)) return "block device";
  if (S_ISFIFO(m)) return "FIFO";
  if (S_ISSOCK(m)) return "socket";
  return "special file";
}

}  // namespace

// What --out names decides where the file goes: a symbolic link is written through (the file it
// names is replaced and the link stays), an existing regular file keeps its mode, and anything
// that is not a regular file is refused rather than replaced (as root, renaming over /dev/null
// would replace the device). A read-only file is refused: its mode says it is not to be changed.
std::string AtomicH5Output::resolve_target(const std::string& path) {
  std::string target = path;
  for (int hops = 0;; ++hops) {
    struct stat st;
    if (::lstat(target.c_str(), &st) != 0) return target;  // nothing there yet
    if (S_ISLNK(st.st_mode)) {
      if (hops == 40) fail("cannot write {}: too many levels of symbolic links", path);
      std::error_code ec;
      const fs::path link = fs::read_symlink(target, ec);
      if (ec) fail("cannot write {}: cannot read the link {}: {}", path, target, ec.message());
      target =
          link.is_absolute() ? link.string() : (fs::path(target).parent_path() / link).string();
      continue;
    }
    if (S_ISDIR(st.st_mode)) fail("cannot write {}: it is a directory", path);
    if (!S_ISREG(st.st_mode))
      fail("cannot write {}: it is a {}, not a regular file (refusing to replace it)", path,
           file_kind(st.st_mode));
    if ((st.st_mode & 0222) == 0)
      fail("cannot write {}: the file is read-only (mode {:o}); remove it or choose another --out",
           path, st.st_mode & 07777);
    keep_mode_ = int(st.st_mode & 07777);
    return target;
  }
}

AtomicH5Output::AtomicH5Output(const std::string& out) {
  path_ = resolve_target(out);
  const std::string& path = path_;
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
  // fmt rather than operator+: GCC 12 warns falsely (-Wrestrict) on "." + std::string.
  static std::atomic<int> counter{0};  // several outputs to one path may be open (checkpoints)
  const std::string name = p.filename().string();
  std::string tmp_name = fmt::format(".{}.tmp-{}-{}", name, ::getpid(), counter++);
  if (tmp_name.size() > 255) {  // NAME_MAX: a name near the limit has no room for the suffix
    // A hash of the whole name (FNV-1a, as stream names) keeps such temporaries apart.
    tmp_name = fmt::format(".{}-{:016x}.tmp-{}-{}", name.substr(0, 200), stream_id(name),
                           ::getpid(), counter++);
  }
  tmp_ = (dir / tmp_name).string();
  remove_stale_temporaries(dir, name);
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

// A run killed by SIGKILL (or a power cut) leaves its ".<name>.tmp-<pid>-<n>" behind: removed by
// the next output to the same name once that process is gone. Another live process's temporary is
// never touched.
void AtomicH5Output::remove_stale_temporaries(const fs::path& dir, const std::string& name) {
  const std::string prefix = "." + name + ".tmp-";
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    const std::string f = it->path().filename().string();
    if (f.rfind(prefix, 0) != 0) continue;
    const char* rest = f.data() + prefix.size();  // "<pid>-<n>"
    long pid = 0;
    const auto [end, err] = std::from_chars(rest, f.data() + f.size(), pid);
    if (err != std::errc() || *end != '-' || pid <= 0 || pid == long(::getpid())) continue;
    if (::kill(pid_t(pid), 0) != 0 && errno == ESRCH) {
      std::error_code rm;
      fs::remove(it->path(), rm);
    }
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
  if (keep_mode_ >= 0) ::chmod(tmp_.c_str(), mode_t(keep_mode_));
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    std::remove(tmp_.c_str());
    fail("cannot move the finished file into place at {}", path_);
  }
  committed_ = true;
}

void write_text_file(const std::string& path, const std::string& text) {
  const fs::path p(path);
  std::error_code ec;
  if (p.has_parent_path()) fs::create_directories(p.parent_path(), ec);
  if (ec) fail("cannot create directory {}: {}", p.parent_path().string(), ec.message());
  const std::string tmp = fmt::format("{}.tmp-{}", path, ::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) {
      fs::remove(tmp, ec);
      fail("cannot write {}", path);
    }
  }
  fs::rename(tmp, p, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    fail("cannot write {}: {}", path, ec.message());
  }
}

}  // namespace icl

#include "core/memory.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"

namespace icl::memory {

namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr const char* kEnv = "ICL_MAX_MEMORY";

// The first whitespace-separated field of a one-number file (cgroup files, "max" for no limit);
// -1 when the file is missing or holds no number.
int64_t read_number(const std::string& path) {
  std::ifstream in(path);
  std::string word;
  if (!(in >> word)) return -1;
  int64_t v = 0;
  const auto [p, ec] = std::from_chars(word.data(), word.data() + word.size(), v);
  if (ec != std::errc() || p != word.data() + word.size() || v < 0) return -1;
  return v;
}

// MemAvailable in bytes; -1 when the kernel does not report it.
int64_t mem_available() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  int64_t kb = 0;
  std::string unit;
  while (in >> key >> kb) {
    std::getline(in, unit);
    if (key == "MemAvailable:") return kb > kMax / 1024 ? kMax : kb * 1024;
  }
  return -1;
}

// limit − usage of cgroup directory `dir` (v2: memory.max/current; v1: memory.limit_in_bytes/
// usage_in_bytes); kMax without a limit there. v1 writes "no limit" as a number near 2^63.
int64_t cgroup_room(const std::string& dir, bool v2) {
  const int64_t limit = read_number(dir + (v2 ? "/memory.max" : "/memory.limit_in_bytes"));
  if (limit < 0 || limit >= (int64_t(1) << 60)) return kMax;
  const int64_t usage =
      std::max<int64_t>(0, read_number(dir + (v2 ? "/memory.current" : "/memory.usage_in_bytes")));
  return std::max<int64_t>(0, limit - usage);
}

// The smallest room of this process's memory cgroup and of every cgroup above it. In a container
// with its own cgroup namespace /proc/self/cgroup says "/", and the mount's root is the cgroup.
int64_t cgroup_available() {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  int64_t room = kMax;
  while (std::getline(in, line)) {
    // "hierarchy-id:controllers:path"; v2's line is "0::path", v1's memory line "N:memory:path".
    const size_t a = line.find(':'), b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    const std::string controllers = line.substr(a + 1, b - a - 1);
    std::string path = line.substr(b + 1);
    bool v2 = false;
    if (controllers.empty() && line.compare(0, a, "0") == 0) {
      v2 = true;
    } else {
      std::stringstream ss(controllers);
      std::string c;
      bool memory = false;
      while (std::getline(ss, c, ',')) memory |= c == "memory";
      if (!memory) continue;
    }
    const std::string mount = v2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/memory";
    // The cgroup itself and each ancestor up to the mount's root.
    while (true) {
      room = std::min(room, cgroup_room(mount + path, v2));
      if (path.empty() || path == "/") break;
      const size_t slash = path.find_last_of('/');
      path = slash == std::string::npos || slash == 0 ? std::string("/") : path.substr(0, slash);
    }
  }
  return room;
}

struct Budget {
  int64_t bytes;
  std::string source;
};

// The live Share (1: none) and what it says.
int64_t g_share = 1;
std::string g_share_why;

Budget whole_budget() {
  if (const char* env = std::getenv(kEnv); env != nullptr) {
    const int64_t v = parse_size(env);
    if (v < 0)
      fail(
          "{}: expected a number of bytes with an optional K, M, G or T suffix (e.g. 512M), got "
          "'{}'",
          kEnv, env);
    return {v, kEnv};
  }
  const int64_t free = mem_available(), cg = cgroup_available();
  if (cg < kMax && (free < 0 || cg < free)) return {cg, "cgroup memory limit"};
  // Without /proc/meminfo (not Linux) nothing is known: no limit is imposed.
  return {free < 0 ? kMax : free, "free memory"};
}

Budget budget() {
  Budget b = whole_budget();
  if (g_share > 1 && b.bytes < kMax) b.bytes /= g_share;
  return b;
}

// ", a 1/4 share: 4 replicas train at once" while a Share is alive.
std::string share_text() {
  return g_share > 1 ? fmt::format(", a 1/{} share: {}", g_share, g_share_why) : "";
}

}  // namespace

int64_t parse_size(const std::string& text) {
  if (text.empty()) return -1;
  size_t n = text.size();
  // K, M, G, T (either case): powers of 1024.
  const size_t unit = std::string_view("KMGT").find(char(std::toupper(text.back())));
  const int shift = unit == std::string_view::npos ? 0 : 10 * int(unit + 1);
  if (shift) --n;
  if (n == 0) return -1;
  int64_t v = 0;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + n, v);
  if (ec != std::errc() || p != text.data() + n || v < 0) return -1;
  if (v > (kMax >> shift)) return -1;
  return v << shift;
}

int64_t available() { return budget().bytes; }

std::string available_source() { return budget().source; }

std::string format_bytes(double bytes) {
  static const char* units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
  int u = 0;
  while (bytes >= 1000.0 && u < 6) {
    bytes /= 1000.0;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f} B", bytes) : fmt::format("{:.1f} {}", bytes, units[u]);
}

std::string format_count(double n) {
  static const char* units[] = {"", " k", " M", " G", " T", " P", " E"};
  int u = 0;
  while (n >= 1000.0 && u < 6) {
    n /= 1000.0;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f}", n) : fmt::format("{:.1f}{}", n, units[u]);
}

int64_t to_bytes(double bytes) {
  if (!(bytes > 0)) return 0;
  // 2^63 is the first double past int64's range.
  return bytes >= 9223372036854775808.0 ? kMax : int64_t(std::ceil(bytes));
}

int64_t checked_product(std::initializer_list<int64_t> factors, const std::string& what) {
  int64_t p = 1;
  for (int64_t f : factors) {
    ICL_ASSERT(f >= 0);
    if (f != 0 && p > kMax / f) {
      std::string text;
      for (int64_t g : factors) text += (text.empty() ? "" : " x ") + std::to_string(g);
      fail("{}: the size {} overflows a 64-bit count", what, text);
    }
    p *= f;
  }
  return p;
}

int64_t checked_sum(std::initializer_list<int64_t> terms, const std::string& what) {
  int64_t s = 0;
  for (int64_t t : terms) {
    ICL_ASSERT(t >= 0);
    if (s > kMax - t) fail("{}: the total size overflows a 64-bit count of bytes", what);
    s += t;
  }
  return s;
}

void check_fits(int64_t bytes, const std::string& what) {
  const Budget b = budget();
  if (bytes <= b.bytes) return;
  fail("{} need about {}, {} is available ({}{}{})", what, format_bytes(double(bytes)),
       format_bytes(double(b.bytes)), b.source, share_text(),
       b.source == kEnv ? "" : fmt::format("; {} sets another budget", kEnv));
}

Share::Share(int64_t n, const std::string& why) {
  ICL_ASSERT(g_share == 1 && n >= 1);
  g_share = n;
  g_share_why = why;
}

Share::~Share() {
  g_share = 1;
  g_share_why.clear();
}

}  // namespace icl::memory

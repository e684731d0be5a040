#include "io/atomic_output.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include <fmt/format.h>

#include "core/error.h"

namespace icl {

namespace fs = std::filesystem;

AtomicH5Output::AtomicH5Output(const std::string& path) : path_(path) {
  const fs::path p(path);
  if (p.filename().empty()) fail("output path '{}' names a directory, not a file", path);
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    fail("cannot write {}: directory {} does not exist", path, dir.string());
  if (fs::is_directory(p, ec)) fail("cannot write {}: it is a directory", path);
  // fmt rather than operator+: GCC 12 warns falsely (-Wrestrict) on "." + std::string.
  tmp_ = (dir / fmt::format(".{}.tmp-{}", p.filename().string(), ::getpid())).string();
  if (::access(dir.c_str(), W_OK) != 0) fail("cannot write {}: directory is not writable", path);
  file_ = h5::create_file(tmp_);
}

AtomicH5Output::~AtomicH5Output() {
  if (!committed_) {
    file_.close();
    std::remove(tmp_.c_str());
  }
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

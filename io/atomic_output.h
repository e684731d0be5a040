#pragma once
// An HDF5 output that appears under its final name only when complete.
//
// The constructor creates "<dir>/.<name>.tmp-<pid>-<n>" at once (a name near NAME_MAX gets a
// shortened one with a hash of the name), so an unwritable destination fails
// before any work is done; commit() closes and renames it into place. If commit() is never reached
// (an error, an exception, SIGINT or SIGTERM) the temporary file is removed and nothing is left.
// Missing directories on the way to the output are created (a fresh clone has no results/), and
// removed again, if still empty, when the output is never committed.
#include <filesystem>
#include <string>
#include <vector>

#include "io/h5.h"

namespace icl {

class AtomicH5Output {
 public:
  // `path` may be a symbolic link (the file it names is written); path() is that file.
  explicit AtomicH5Output(const std::string& path);
  ~AtomicH5Output();
  AtomicH5Output(const AtomicH5Output&) = delete;
  AtomicH5Output& operator=(const AtomicH5Output&) = delete;

  hid_t root() const { return file_.id(); }
  const std::string& path() const { return path_; }
  void commit();

 private:
  void remove_created_dirs();  // those still empty, innermost first
  void remove_stale_temporaries(const std::filesystem::path& dir, const std::string& name);
  std::string resolve_target(const std::string& path);  // sets keep_mode_

  std::string path_, tmp_;
  std::vector<std::string> created_dirs_;  // outermost first
  int keep_mode_ = -1;                     // the replaced file's mode, or -1 for a new file
  h5::Handle file_;
  bool committed_ = false;
  int slot_ = -1;  // entry in the table the SIGINT/SIGTERM handler cleans up
};

// A small text output (summary.md, a figure's data) written whole: to "<path>.tmp-<pid>" beside
// it, then renamed into place, creating missing directories. An icl::Error names the path.
void write_text_file(const std::string& path, const std::string& text);

}  // namespace icl

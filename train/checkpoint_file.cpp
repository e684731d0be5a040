#include "train/checkpoint_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "core/error.h"
#include "core/rng.h"
#include "io/atomic_output.h"
#include "train/checkpoint.h"

namespace icl {

namespace fs = std::filesystem;

namespace {

// Hidden names beside the output, in the form of AtomicH5Output's temporaries
// (".<name>.tmp-<pid>-…"), so that the next output to the same name removes those of a process
// that was killed, and never those of a live one.
std::string slot_name(const std::string& target, int object, int slot) {
  const fs::path p(target);
  const std::string name = p.filename().string();
  const char tag = slot == 0 ? 'a' : 'b';
  std::string n = fmt::format(".{}.tmp-{}-ck{}{}", name, ::getpid(), object, tag);
  if (n.size() > 255)  // NAME_MAX, as AtomicH5Output shortens its temporaries
    n = fmt::format(".{}-{:016x}.tmp-{}-ck{}{}", name.substr(0, 200), stream_id(name), ::getpid(),
                    object, tag);
  return (p.has_parent_path() ? p.parent_path() / n : fs::path(n)).string();
}

// Data written in place is not ordered against the rename that publishes it: without this, a
// power cut could leave the published name on a file whose new blocks never reached the disk.
void sync_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("cannot open {} to sync it: {}", path, std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) fail("cannot sync {}: {}", path, std::strerror(err));
}

// Handle::close ignores HDF5's status; a write that only fails when the file is flushed (a full
// disk) must not be published.
void close_checked(h5::Handle& f, const std::string& path) {
  {
    const auto held = h5::lock();  // a direct HDF5 call (io/h5.h: the library is not thread-safe)
    if (H5Fflush(f.id(), H5F_SCOPE_LOCAL) < 0) fail("HDF5: cannot write {}", path);
  }
  f.close();
}

}  // namespace

CheckpointFile::CheckpointFile(std::string path, std::function<void(hid_t root)> write_header)
    : path_(std::move(path)), write_header_(std::move(write_header)) {}

CheckpointFile::~CheckpointFile() {
  if (current_ < 0 || !links_) return;
  for (const auto& n : slot_name_) ::unlink(n.c_str());  // `target_` keeps the file it names
}

void CheckpointFile::write_contents(hid_t root, const Model& model, const TrainState& state,
                                    uint64_t seed) const {
  write_header_(root);
  create_train_log(root, state.log);
  write_checkpoint(root, model, state, seed);
}

void CheckpointFile::write_whole(const std::string& file, const Model& model,
                                 const TrainState& state, uint64_t seed) {
  // A new file rather than truncating the old one: a reader may still hold the old one open.
  ::unlink(file.c_str());
  h5::Handle f = h5::create_file(file);
  write_contents(f.id(), model, state, seed);
  close_checked(f, file);
  struct stat st;
  if (::stat(target_.c_str(), &st) == 0) ::chmod(file.c_str(), st.st_mode & 07777);
}

void CheckpointFile::publish(int slot) {
  if (std::rename(slot_name_[slot].c_str(), target_.c_str()) != 0)
    fail("cannot move the checkpoint into place at {}: {}", target_, std::strerror(errno));
  current_ = slot;
  // The slot's hidden name again, for its update two saves from now; without it the slot is
  // written whole then.
  slot_ready_[slot] = ::link(target_.c_str(), slot_name_[slot].c_str()) == 0;
}

void CheckpointFile::save(const Model& model, const TrainState& state, uint64_t seed) {
  in_place_ = false;
  if (current_ < 0 || !links_) {
    AtomicH5Output ck(path_);
    write_contents(ck.root(), model, state, seed);
    ck.commit();
    if (current_ >= 0) return;           // no hard links here: every save is whole
    static std::atomic<int> objects{0};  // two runs in one process may write the same path
    const int object = objects++;
    target_ = ck.path();
    for (int s = 0; s < 2; ++s) slot_name_[s] = slot_name(target_, object, s);
    current_ = 0;
    ::unlink(slot_name_[0].c_str());
    links_ = ::link(target_.c_str(), slot_name_[0].c_str()) == 0;
    slot_ready_[0] = links_;
    return;
  }
  const int other = 1 - current_;
  if (slot_ready_[other]) {
    try {
      h5::Handle f = h5::open_file_rw(slot_name_[other]);
      append_train_log(f.id(), state.log);
      overwrite_checkpoint(f.id(), model, state, seed);
      close_checked(f, slot_name_[other]);
      in_place_ = true;
    } catch (const Error&) {
      // Open elsewhere (HDF5 locks it) or not what we left there: it is written whole below.
    }
  }
  slot_ready_[other] = false;  // until it is complete again
  if (!in_place_) write_whole(slot_name_[other], model, state, seed);
  sync_file(slot_name_[other]);
  slot_ready_[other] = true;
  publish(other);
}

}  // namespace icl

#pragma once
// A run's checkpoint file kept up to date as training goes (docs/DESIGN.md, results.h5): the same
// layout as a whole file (root attributes, /train, /checkpoint), but a checkpoint after the first
// appends to /train only the log entries since the previous one and writes the checkpoint's arrays
// over the old ones, instead of writing the whole file again.
//
// Why two files. A file changed in place is not atomic: measured with HDF5 1.10.8 (h5py, a log
// appended and a 4 MB array overwritten per checkpoint, SIGKILL at random), 14 of 40 killed files
// held a step attribute that did not match the log or the array; in SWMR write mode all 15 killed
// files refused a plain H5Fopen ("file is already open for write", h5clear needed) and 11 of 30
// opened with SWMR read were as inconsistent; the same in-place saves made on the published file
// itself left 36 of 60 files of the kill test (tests/test_checkpoint_append.cpp) inconsistent. So
// the checkpoint lives in two files, both of this process, with hidden names in the output's
// directory
// ("slots"); `path` is a hard link to the one holding the last complete checkpoint. A save updates
// the other slot in place, closes and syncs it, and renames it onto `path`: a process killed at any
// moment leaves `path` naming a closed, complete file, and only the hidden slot it was writing is
// torn (removed by the next output to the same name, io/atomic_output.h, once this process is
// gone). Each slot is two checkpoints behind when it is written, so a save writes the log entries
// of two intervals plus the arrays.
//
// The first save creates `path` whole through AtomicH5Output, so a file already there is replaced
// only once this process holds a complete checkpoint; the other slot is written whole on its first
// use. A slot that cannot be updated in place (a reader still holds it open, or it is damaged) is
// written whole again; on a filesystem without hard links every save writes the file whole.
// The destructor removes the hidden names; `path` stays.
#include <cstdint>
#include <functional>
#include <string>

#include "io/h5.h"
#include "models/model.h"
#include "train/trainer.h"

namespace icl {

class CheckpointFile {
 public:
  // write_header(root) writes the root attributes of a new file (train/ does not know the run's
  // attributes: eval/results.h writes them).
  CheckpointFile(std::string path, std::function<void(hid_t root)> write_header);
  ~CheckpointFile();
  CheckpointFile(const CheckpointFile&) = delete;
  CheckpointFile& operator=(const CheckpointFile&) = delete;

  // The model's host values and moments (to_host() first on a GPU), state.step and state.log.
  void save(const Model& model, const TrainState& state, uint64_t seed);

  // The file that `path` names once saved (a symbolic link's target); empty before the first save.
  const std::string& path() const { return target_; }
  // How the last save was written, for tests: true when it changed a slot in place.
  bool last_save_in_place() const { return in_place_; }

 private:
  // The header, the whole log and the checkpoint into a new file's root.
  void write_contents(hid_t root, const Model& model, const TrainState& state, uint64_t seed) const;
  void write_whole(const std::string& file, const Model& model, const TrainState& state,
                   uint64_t seed);
  void publish(int slot);  // makes slot `slot` the file at target_

  std::string path_, target_;
  std::function<void(hid_t)> write_header_;
  std::string slot_name_[2];
  bool slot_ready_[2] = {false, false};  // the slot's hidden name holds a complete file of ours
  int current_ = -1;                     // the slot target_ names, -1 before the first save
  bool links_ = true;                    // false: the filesystem refused a hard link
  bool in_place_ = false;
};

}  // namespace icl

#pragma once
// Thin RAII layer over the HDF5 C API: files, groups, whole-array and extendable datasets,
// scalar/string attributes. Every failing call becomes an icl::Error naming the file and object
// (HDF5's own error stack printing is switched off so the user sees one line).
//
// Debian's HDF5 is the serial build, which is not thread-safe: two threads must never be inside
// the library at once, even on different files (train.replicas trains several models on worker
// threads, each writing its own results and checkpoints: run/replicas.h). Every function here
// holds one process-wide lock while it calls HDF5, as the library's thread-safe build does around
// each of its calls; code that calls HDF5 directly takes lock() for as long.
#include <hdf5.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace icl::h5 {

// The process-wide HDF5 lock (above); recursive, so a function holding it may call another.
std::unique_lock<std::recursive_mutex> lock();

class Handle {
 public:
  Handle() = default;
  Handle(hid_t id, herr_t (*closer)(hid_t)) : id_(id), close_(closer) {}
  Handle(Handle&& o) noexcept : id_(o.id_), close_(o.close_) { o.id_ = -1; }
  Handle& operator=(Handle&& o) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle();
  hid_t id() const { return id_; }
  void close();

 private:
  hid_t id_ = -1;
  herr_t (*close_)(hid_t) = nullptr;
};

bool is_hdf5(const std::string& path);  // false for missing, unreadable or non-HDF5 files

Handle create_file(const std::string& path);   // truncates
Handle open_file(const std::string& path);     // read-only; icl::Error if not a readable HDF5 file
Handle open_file_rw(const std::string& path);  // read-write, to change a file in place
Handle create_group(hid_t loc, const std::string& name);
Handle open_group(hid_t loc, const std::string& name);
bool exists(hid_t loc, const std::string& path);
// The names of a group's members (groups, datasets, links), in name order.
std::vector<std::string> members(hid_t loc, const std::string& group);
bool is_group(hid_t loc, const std::string& name);  // false for a dataset or a missing name

template <class T>
void write(hid_t loc, const std::string& name, const T* data, const std::vector<int64_t>& dims);
template <class T>
void write(hid_t loc, const std::string& name, const std::vector<T>& v) {
  write(loc, name, v.data(), {int64_t(v.size())});
}
// Overwrites a dataset in place: it must exist with exactly these dims and this element type, so
// that nothing in the file but the values moves (icl::Error otherwise).
template <class T>
void overwrite(hid_t loc, const std::string& name, const T* data, const std::vector<int64_t>& dims);

// One-dimensional datasets that grow at the end: chunked, `chunk` values a chunk, with no maximum
// size. append() extends the dataset by n values and writes only those, so the values already there
// stay where they are, and the bytes written are the chunks the new values fall in.
template <class T>
void create_extendable(hid_t loc, const std::string& name, const std::vector<T>& v, int64_t chunk);
template <class T>
void append(hid_t loc, const std::string& name, const T* data, int64_t n);
int64_t length(hid_t loc, const std::string& name);  // first dimension of a dataset
// Number of elements of a dataset (the product of its dimensions; INT64_MAX when that overflows):
// a reader that knows the size it needs checks it before reading.
int64_t element_count(hid_t loc, const std::string& name);

// Reads a whole dataset; dims receives its shape.
template <class T>
std::vector<T> read(hid_t loc, const std::string& name, std::vector<int64_t>* dims = nullptr);

void attr(hid_t obj, const std::string& name, const std::string& value);
void attr(hid_t obj, const std::string& name, double value);
void attr(hid_t obj, const std::string& name, int64_t value);
// Overwrites an existing scalar int64 attribute in place (its size does not change, so neither
// does the object header that holds it).
void set_attr(hid_t obj, const std::string& name, int64_t value);
bool exists_attr(hid_t obj, const std::string& name);
std::string read_attr_string(hid_t obj, const std::string& name);
int64_t read_attr_int(hid_t obj, const std::string& name);
double read_attr_double(hid_t obj, const std::string& name);  // converted from any number

}  // namespace icl::h5

#pragma once
// Thin RAII layer over the HDF5 C API: files, groups, whole-array datasets, scalar/string
// attributes. Every failing call becomes an icl::Error naming the file and object (HDF5's own error
// stack printing is switched off so the user sees one line).
#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

namespace icl::h5 {

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

Handle create_file(const std::string& path);  // truncates
Handle open_file(const std::string& path);    // read-only; icl::Error if not a readable HDF5 file
Handle create_group(hid_t loc, const std::string& name);
Handle open_group(hid_t loc, const std::string& name);
bool exists(hid_t loc, const std::string& path);

template <class T>
void write(hid_t loc, const std::string& name, const T* data, const std::vector<int64_t>& dims);
template <class T>
void write(hid_t loc, const std::string& name, const std::vector<T>& v) {
  write(loc, name, v.data(), {int64_t(v.size())});
}
// Reads a whole dataset; dims receives its shape.
template <class T>
std::vector<T> read(hid_t loc, const std::string& name, std::vector<int64_t>* dims = nullptr);

void attr(hid_t obj, const std::string& name, const std::string& value);
void attr(hid_t obj, const std::string& name, double value);
void attr(hid_t obj, const std::string& name, int64_t value);
bool exists_attr(hid_t obj, const std::string& name);
std::string read_attr_string(hid_t obj, const std::string& name);
int64_t read_attr_int(hid_t obj, const std::string& name);

}  // namespace icl::h5

#include "io/h5.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"

namespace icl::h5 {
namespace {

// Silence HDF5's automatic error-stack printing once; errors are reported as icl::Error.
const bool quiet = [] {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  return true;
}();

hid_t check(hid_t id, const std::string& what) {
  (void)quiet;
  if (id < 0) fail("HDF5: {}", what);
  return id;
}

template <class T>
hid_t mem_type();
template <>
hid_t mem_type<float>() {
  return H5T_NATIVE_FLOAT;
}
template <>
hid_t mem_type<double>() {
  return H5T_NATIVE_DOUBLE;
}
template <>
hid_t mem_type<int32_t>() {
  return H5T_NATIVE_INT32;
}
template <>
hid_t mem_type<int64_t>() {
  return H5T_NATIVE_INT64;
}
template <>
hid_t mem_type<uint8_t>() {
  return H5T_NATIVE_UINT8;
}

std::string object_name(hid_t loc, const std::string& name) {
  char buf[512];
  const ssize_t n = H5Iget_name(loc, buf, sizeof buf);
  std::string base = n > 0 ? std::string(buf, size_t(n)) : "";
  if (base == "/") base.clear();
  return base + "/" + name;
}

}  // namespace

Handle& Handle::operator=(Handle&& o) noexcept {
  if (this != &o) {
    close();
    id_ = o.id_;
    close_ = o.close_;
    o.id_ = -1;
  }
  return *this;
}
Handle::~Handle() { close(); }
void Handle::close() {
  if (id_ >= 0 && close_) close_(id_);
  id_ = -1;
}

bool is_hdf5(const std::string& path) {
  (void)quiet;
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  std::fclose(f);
  return H5Fis_hdf5(path.c_str()) > 0;
}

Handle create_file(const std::string& path) {
  return {check(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT),
                "cannot create " + path),
          H5Fclose};
}

Handle open_file(const std::string& path) {
  if (!is_hdf5(path)) fail("{} is not a readable HDF5 file", path);
  return {check(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "cannot open " + path),
          H5Fclose};
}

Handle create_group(hid_t loc, const std::string& name) {
  return {check(H5Gcreate2(loc, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                "cannot create group " + object_name(loc, name)),
          H5Gclose};
}

Handle open_group(hid_t loc, const std::string& name) {
  return {check(H5Gopen2(loc, name.c_str(), H5P_DEFAULT), "no group " + object_name(loc, name)),
          H5Gclose};
}

bool exists(hid_t loc, const std::string& path) {
  // Walk the path so that a missing intermediate group is "no" rather than an error.
  size_t pos = 0;
  while (true) {
    const size_t next = path.find('/', pos);
    const std::string prefix = path.substr(0, next);
    if (!prefix.empty() && H5Lexists(loc, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    if (next == std::string::npos) return true;
    pos = next + 1;
  }
}

template <class T>
void write(hid_t loc, const std::string& name, const T* data, const std::vector<int64_t>& dims) {
  std::vector<hsize_t> d(dims.begin(), dims.end());
  Handle space(check(H5Screate_simple(int(d.size()), d.data(), nullptr), "dataspace"), H5Sclose);
  Handle set(check(H5Dcreate2(loc, name.c_str(), mem_type<T>(), space.id(), H5P_DEFAULT,
                              H5P_DEFAULT, H5P_DEFAULT),
                   "cannot create dataset " + object_name(loc, name)),
             H5Dclose);
  check(H5Dwrite(set.id(), mem_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data),
        "cannot write " + object_name(loc, name));
}

template <class T>
std::vector<T> read(hid_t loc, const std::string& name, std::vector<int64_t>* dims) {
  Handle set(
      check(H5Dopen2(loc, name.c_str(), H5P_DEFAULT), "no dataset " + object_name(loc, name)),
      H5Dclose);
  Handle space(check(H5Dget_space(set.id()), "dataspace"), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.id());
  std::vector<hsize_t> d(size_t(std::max(rank, 0)));
  H5Sget_simple_extent_dims(space.id(), d.data(), nullptr);
  // A foreign file's shape may multiply past size_t (or past any memory): one line, not
  // std::length_error or a wrapped count.
  size_t n = 1;
  for (auto x : d) {
    if (x != 0 && n > std::vector<T>().max_size() / size_t(x))
      fail("HDF5: dataset {} is too large to read ({} dimensions of up to {} values)",
           object_name(loc, name), d.size(), *std::max_element(d.begin(), d.end()));
    n *= size_t(x);
  }
  std::vector<T> out(n);
  check(H5Dread(set.id(), mem_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()),
        "cannot read " + object_name(loc, name));
  if (dims) dims->assign(d.begin(), d.end());
  return out;
}

#define ICL_H5_INSTANTIATE(T)                                                               \
  template void write<T>(hid_t, const std::string&, const T*, const std::vector<int64_t>&); \
  template std::vector<T> read<T>(hid_t, const std::string&, std::vector<int64_t>*);
ICL_H5_INSTANTIATE(float)
ICL_H5_INSTANTIATE(double)
ICL_H5_INSTANTIATE(int32_t)
ICL_H5_INSTANTIATE(int64_t)
ICL_H5_INSTANTIATE(uint8_t)
#undef ICL_H5_INSTANTIATE

static void write_attr(hid_t obj, const std::string& name, hid_t type, const void* v) {
  Handle space(check(H5Screate(H5S_SCALAR), "dataspace"), H5Sclose);
  Handle a(check(H5Acreate2(obj, name.c_str(), type, space.id(), H5P_DEFAULT, H5P_DEFAULT),
                 "cannot create attribute " + name),
           H5Aclose);
  check(H5Awrite(a.id(), type, v), "cannot write attribute " + name);
}

void attr(hid_t obj, const std::string& name, const std::string& value) {
  // Variable-length UTF-8 strings: h5py reads them back as str.
  Handle type(check(H5Tcopy(H5T_C_S1), "string type"), H5Tclose);
  H5Tset_size(type.id(), H5T_VARIABLE);
  H5Tset_cset(type.id(), H5T_CSET_UTF8);
  const char* p = value.c_str();
  write_attr(obj, name, type.id(), &p);
}
void attr(hid_t obj, const std::string& name, double value) {
  write_attr(obj, name, H5T_NATIVE_DOUBLE, &value);
}
void attr(hid_t obj, const std::string& name, int64_t value) {
  write_attr(obj, name, H5T_NATIVE_INT64, &value);
}

bool exists_attr(hid_t obj, const std::string& name) { return H5Aexists(obj, name.c_str()) > 0; }

// Attributes are read into one variable: one of another shape (an array in a foreign file) would
// be written past it.
static void check_single_value(hid_t a, const std::string& name) {
  Handle space(check(H5Aget_space(a), "dataspace of attribute " + name), H5Sclose);
  const hssize_t n = H5Sget_simple_extent_npoints(space.id());
  if (n != 1) fail("HDF5: attribute {} holds {} values, expected one", name, n);
}

std::string read_attr_string(hid_t obj, const std::string& name) {
  Handle a(check(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "no attribute " + name), H5Aclose);
  check_single_value(a.id(), name);
  Handle type(check(H5Tcopy(H5T_C_S1), "string type"), H5Tclose);
  H5Tset_size(type.id(), H5T_VARIABLE);
  H5Tset_cset(type.id(), H5T_CSET_UTF8);
  char* p = nullptr;
  check(H5Aread(a.id(), type.id(), &p), "cannot read attribute " + name);
  std::string out = p ? p : "";
  H5free_memory(p);
  return out;
}

int64_t read_attr_int(hid_t obj, const std::string& name) {
  Handle a(check(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "no attribute " + name), H5Aclose);
  check_single_value(a.id(), name);
  int64_t v = 0;
  check(H5Aread(a.id(), H5T_NATIVE_INT64, &v), "cannot read attribute " + name);
  return v;
}

}  // namespace icl::h5

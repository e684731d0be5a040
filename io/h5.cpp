#include "io/h5.h"

#include <algorithm>
#include <mutex>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"
#include "core/memory.h"

namespace icl::h5 {

std::unique_lock<std::recursive_mutex> lock() {
  static std::recursive_mutex m;
  return std::unique_lock<std::recursive_mutex>(m);
}

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
  if (id_ >= 0 && close_) {
    const auto held = lock();
    close_(id_);
  }
  id_ = -1;
}

bool is_hdf5(const std::string& path) {
  const auto held = lock();
  (void)quiet;
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  std::fclose(f);
  return H5Fis_hdf5(path.c_str()) > 0;
}

Handle create_file(const std::string& path) {
  const auto held = lock();
  return {check(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT),
                "cannot create " + path),
          H5Fclose};
}

Handle open_file(const std::string& path) {
  const auto held = lock();
  if (!is_hdf5(path)) fail("{} is not a readable HDF5 file", path);
  return {check(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "cannot open " + path),
          H5Fclose};
}

Handle open_file_rw(const std::string& path) {
  const auto held = lock();
  if (!is_hdf5(path)) fail("{} is not a readable HDF5 file", path);
  return {
      check(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), "cannot open " + path + " to write"),
      H5Fclose};
}

Handle create_group(hid_t loc, const std::string& name) {
  const auto held = lock();
  return {check(H5Gcreate2(loc, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                "cannot create group " + object_name(loc, name)),
          H5Gclose};
}

Handle open_group(hid_t loc, const std::string& name) {
  const auto held = lock();
  return {check(H5Gopen2(loc, name.c_str(), H5P_DEFAULT), "no group " + object_name(loc, name)),
          H5Gclose};
}

bool exists(hid_t loc, const std::string& path) {
  const auto held = lock();
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

bool is_group(hid_t loc, const std::string& name) {
  const auto held = lock();
  if (!exists(loc, name)) return false;
  const hid_t o = H5Oopen(loc, name.c_str(), H5P_DEFAULT);
  if (o < 0) return false;
  const bool group = H5Iget_type(o) == H5I_GROUP;
  H5Oclose(o);
  return group;
}

std::vector<std::string> members(hid_t loc, const std::string& group) {
  const auto held = lock();
  const Handle g = open_group(loc, group);
  std::vector<std::string> names;
  const auto collect = [](hid_t, const char* name, const H5L_info_t*, void* out) -> herr_t {
    static_cast<std::vector<std::string>*>(out)->emplace_back(name);
    return 0;
  };
  check(H5Literate(g.id(), H5_INDEX_NAME, H5_ITER_INC, nullptr, collect, &names),
        "members of " + object_name(loc, group));
  return names;
}

template <class T>
void write(hid_t loc, const std::string& name, const T* data, const std::vector<int64_t>& dims) {
  const auto held = lock();
  std::vector<hsize_t> d(dims.begin(), dims.end());
  Handle space(check(H5Screate_simple(int(d.size()), d.data(), nullptr), "dataspace"), H5Sclose);
  Handle set(check(H5Dcreate2(loc, name.c_str(), mem_type<T>(), space.id(), H5P_DEFAULT,
                              H5P_DEFAULT, H5P_DEFAULT),
                   "cannot create dataset " + object_name(loc, name)),
             H5Dclose);
  check(H5Dwrite(set.id(), mem_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data),
        "cannot write " + object_name(loc, name));
}

namespace {
// An existing dataset whose elements are T, for writing into it (`what`: "overwrite", "append to").
template <class T>
Handle open_typed(hid_t loc, const std::string& name, const char* what) {
  Handle set(
      check(H5Dopen2(loc, name.c_str(), H5P_DEFAULT), "no dataset " + object_name(loc, name)),
      H5Dclose);
  Handle type(check(H5Dget_type(set.id()), "datatype"), H5Tclose);
  if (H5Tequal(type.id(), mem_type<T>()) <= 0)
    fail("HDF5: cannot {} {}: it holds another element type", what, object_name(loc, name));
  return set;
}
}  // namespace

template <class T>
void overwrite(hid_t loc, const std::string& name, const T* data,
               const std::vector<int64_t>& dims) {
  const auto held = lock();
  const Handle set = open_typed<T>(loc, name, "overwrite");
  Handle space(check(H5Dget_space(set.id()), "dataspace"), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.id());
  std::vector<hsize_t> d(size_t(std::max(rank, 0)));
  H5Sget_simple_extent_dims(space.id(), d.data(), nullptr);
  if (!std::equal(d.begin(), d.end(), dims.begin(), dims.end(),
                  [](hsize_t a, int64_t b) { return int64_t(a) == b; }))
    fail("HDF5: cannot overwrite {}: it has another shape", object_name(loc, name));
  check(H5Dwrite(set.id(), mem_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data),
        "cannot write " + object_name(loc, name));
}

template <class T>
void create_extendable(hid_t loc, const std::string& name, const std::vector<T>& v, int64_t chunk) {
  const auto held = lock();
  const hsize_t size = v.size(), unlimited = H5S_UNLIMITED,
                rows = hsize_t(std::max<int64_t>(chunk, 1));
  Handle space(check(H5Screate_simple(1, &size, &unlimited), "dataspace"), H5Sclose);
  Handle dcpl(check(H5Pcreate(H5P_DATASET_CREATE), "dataset properties"), H5Pclose);
  check(H5Pset_chunk(dcpl.id(), 1, &rows), "chunk size");
  Handle set(check(H5Dcreate2(loc, name.c_str(), mem_type<T>(), space.id(), H5P_DEFAULT, dcpl.id(),
                              H5P_DEFAULT),
                   "cannot create dataset " + object_name(loc, name)),
             H5Dclose);
  if (!v.empty())
    check(H5Dwrite(set.id(), mem_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()),
          "cannot write " + object_name(loc, name));
}

template <class T>
void append(hid_t loc, const std::string& name, const T* data, int64_t n) {
  const auto held = lock();
  if (n <= 0) return;
  const Handle set = open_typed<T>(loc, name, "append to");
  hsize_t old = 0;
  {
    Handle space(check(H5Dget_space(set.id()), "dataspace"), H5Sclose);
    if (H5Sget_simple_extent_ndims(space.id()) != 1)
      fail("HDF5: cannot append to {}: it is not one-dimensional", object_name(loc, name));
    H5Sget_simple_extent_dims(space.id(), &old, nullptr);
  }
  const hsize_t size = old + hsize_t(n), count = hsize_t(n);
  check(H5Dset_extent(set.id(), &size), "cannot extend " + object_name(loc, name));
  Handle file_space(check(H5Dget_space(set.id()), "dataspace"), H5Sclose);
  check(H5Sselect_hyperslab(file_space.id(), H5S_SELECT_SET, &old, nullptr, &count, nullptr),
        "selection");
  Handle mem_space(check(H5Screate_simple(1, &count, nullptr), "dataspace"), H5Sclose);
  check(H5Dwrite(set.id(), mem_type<T>(), mem_space.id(), file_space.id(), H5P_DEFAULT, data),
        "cannot write " + object_name(loc, name));
}

int64_t length(hid_t loc, const std::string& name) {
  const auto held = lock();
  Handle set(
      check(H5Dopen2(loc, name.c_str(), H5P_DEFAULT), "no dataset " + object_name(loc, name)),
      H5Dclose);
  Handle space(check(H5Dget_space(set.id()), "dataspace"), H5Sclose);
  if (H5Sget_simple_extent_ndims(space.id()) < 1) return 0;
  std::vector<hsize_t> d(size_t(H5Sget_simple_extent_ndims(space.id())));
  H5Sget_simple_extent_dims(space.id(), d.data(), nullptr);
  return int64_t(d[0]);
}

namespace {
// The dataset's shape.
std::vector<hsize_t> shape_of(const Handle& set) {
  Handle space(check(H5Dget_space(set.id()), "dataspace"), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.id());
  std::vector<hsize_t> d(size_t(std::max(rank, 0)));
  H5Sget_simple_extent_dims(space.id(), d.data(), nullptr);
  return d;
}
}  // namespace

int64_t element_count(hid_t loc, const std::string& name) {
  const auto held = lock();
  Handle set(
      check(H5Dopen2(loc, name.c_str(), H5P_DEFAULT), "no dataset " + object_name(loc, name)),
      H5Dclose);
  const std::vector<hsize_t> d = shape_of(set);
  int64_t n = 1;
  for (auto x : d) {
    if (x != 0 && uint64_t(n) > uint64_t(INT64_MAX) / x) return INT64_MAX;
    n *= int64_t(x);
  }
  return n;
}

template <class T>
std::vector<T> read(hid_t loc, const std::string& name, std::vector<int64_t>* dims) {
  const auto held = lock();
  Handle set(
      check(H5Dopen2(loc, name.c_str(), H5P_DEFAULT), "no dataset " + object_name(loc, name)),
      H5Dclose);
  const std::vector<hsize_t> d = shape_of(set);
  // A foreign file's shape may multiply past size_t (or past any memory): one line, not
  // std::length_error or a wrapped count.
  size_t n = 1;
  for (auto x : d) {
    if (x != 0 && n > std::vector<T>().max_size() / size_t(x))
      fail("HDF5: dataset {} is too large to read ({} dimensions of up to {} values)",
           object_name(loc, name), d.size(), *std::max_element(d.begin(), d.end()));
    n *= size_t(x);
  }
  // A chunked dataset may claim any extent and store nothing: the shape alone would have us
  // allocate terabytes. Checked against this process's memory before allocating.
  memory::check_fits(
      memory::to_bytes(double(n) * double(sizeof(T))),
      fmt::format("HDF5 dataset {}: {} values", object_name(loc, name), fmt::join(d, " x ")));
  std::vector<T> out(n);
  check(H5Dread(set.id(), mem_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()),
        "cannot read " + object_name(loc, name));
  if (dims) dims->assign(d.begin(), d.end());
  return out;
}

#define ICL_H5_INSTANTIATE(T)                                                                    \
  template void write<T>(hid_t, const std::string&, const T*, const std::vector<int64_t>&);      \
  template std::vector<T> read<T>(hid_t, const std::string&, std::vector<int64_t>*);             \
  template void overwrite<T>(hid_t, const std::string&, const T*, const std::vector<int64_t>&);  \
  template void create_extendable<T>(hid_t, const std::string&, const std::vector<T>&, int64_t); \
  template void append<T>(hid_t, const std::string&, const T*, int64_t);
ICL_H5_INSTANTIATE(float)
ICL_H5_INSTANTIATE(double)
ICL_H5_INSTANTIATE(int32_t)
ICL_H5_INSTANTIATE(int64_t)
ICL_H5_INSTANTIATE(uint8_t)
#undef ICL_H5_INSTANTIATE

static void write_attr(hid_t obj, const std::string& name, hid_t type, const void* v) {
  const auto held = lock();
  Handle space(check(H5Screate(H5S_SCALAR), "dataspace"), H5Sclose);
  Handle a(check(H5Acreate2(obj, name.c_str(), type, space.id(), H5P_DEFAULT, H5P_DEFAULT),
                 "cannot create attribute " + name),
           H5Aclose);
  check(H5Awrite(a.id(), type, v), "cannot write attribute " + name);
}

void attr(hid_t obj, const std::string& name, const std::string& value) {
  const auto held = lock();
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

void set_attr(hid_t obj, const std::string& name, int64_t value) {
  const auto held = lock();
  Handle a(check(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "no attribute " + name), H5Aclose);
  Handle type(check(H5Aget_type(a.id()), "attribute type"), H5Tclose);
  Handle space(check(H5Aget_space(a.id()), "dataspace of attribute " + name), H5Sclose);
  if (H5Tget_class(type.id()) != H5T_INTEGER || H5Tget_size(type.id()) != sizeof value ||
      H5Sget_simple_extent_npoints(space.id()) != 1)
    fail("HDF5: cannot overwrite attribute {}: it is not one int64", name);
  check(H5Awrite(a.id(), H5T_NATIVE_INT64, &value), "cannot write attribute " + name);
}

bool exists_attr(hid_t obj, const std::string& name) {
  const auto held = lock();
  return H5Aexists(obj, name.c_str()) > 0;
}

// Attributes are read into one variable: one of another shape (an array in a foreign file) would
// be written past it.
static void check_single_value(hid_t a, const std::string& name) {
  Handle space(check(H5Aget_space(a), "dataspace of attribute " + name), H5Sclose);
  const hssize_t n = H5Sget_simple_extent_npoints(space.id());
  if (n != 1) fail("HDF5: attribute {} holds {} values, expected one", name, n);
}

std::string read_attr_string(hid_t obj, const std::string& name) {
  const auto held = lock();
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

// One numeric attribute, converted by HDF5 to T (mem_type<T>: int64 or double).
template <class T>
static T read_attr_number(hid_t obj, const std::string& name) {
  const auto held = lock();
  Handle a(check(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "no attribute " + name), H5Aclose);
  check_single_value(a.id(), name);
  T v = 0;
  check(H5Aread(a.id(), mem_type<T>(), &v), "cannot read attribute " + name);
  return v;
}

int64_t read_attr_int(hid_t obj, const std::string& name) {
  return read_attr_number<int64_t>(obj, name);
}

double read_attr_double(hid_t obj, const std::string& name) {
  return read_attr_number<double>(obj, name);
}

}  // namespace icl::h5

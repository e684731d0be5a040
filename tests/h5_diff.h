#pragma once
// Compares two HDF5 files object by object: every dataset's shape and bytes and every attribute's
// value, on every group and dataset. The kill soak test uses it to show that an interrupted and
// resumed run wrote the same file as an uninterrupted one.
#include <hdf5.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace icl::test {

namespace h5diff_detail {

using Items = std::map<std::string, std::string>;  // "/train/loss" or "/eval@metric" -> value

inline std::string read_attr(hid_t a) {
  const hid_t ft = H5Aget_type(a);
  std::string v;
  if (H5Tget_class(ft) == H5T_STRING && H5Tis_variable_str(ft) > 0) {
    const hid_t mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, H5T_VARIABLE);
    char* p = nullptr;
    if (H5Aread(a, mt, &p) >= 0 && p) v = p;
    H5free_memory(p);
    H5Tclose(mt);
  } else {
    const hid_t sp = H5Aget_space(a);
    const hsize_t n = hsize_t(H5Sget_simple_extent_npoints(sp));
    const hid_t nt = H5Tget_native_type(ft, H5T_DIR_ASCEND);
    v.resize(n * H5Tget_size(nt));
    if (H5Aread(a, nt, v.data()) < 0) v = "(unreadable)";
    H5Tclose(nt);
    H5Sclose(sp);
  }
  H5Tclose(ft);
  return v;
}

inline herr_t on_attr(hid_t obj, const char* name, const H5A_info_t*, void* data) {
  auto* ctx = static_cast<std::pair<Items*, std::string>*>(data);
  const hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
  (*ctx->first)[ctx->second + "@" + name] = read_attr(a);
  H5Aclose(a);
  return 0;
}

inline void read_attrs(hid_t obj, const std::string& path, Items& out) {
  std::pair<Items*, std::string> ctx{&out, path};
  hsize_t idx = 0;
  H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, &idx, on_attr, &ctx);
}

inline herr_t on_object(hid_t loc, const char* name, const H5O_info_t* info, void* data) {
  Items& out = *static_cast<Items*>(data);
  const std::string path = std::string(name) == "." ? "/" : "/" + std::string(name);
  const hid_t obj = H5Oopen(loc, name, H5P_DEFAULT);
  if (info->type == H5O_TYPE_DATASET) {
    const hid_t sp = H5Dget_space(obj), ft = H5Dget_type(obj);
    const int rank = H5Sget_simple_extent_ndims(sp);
    std::vector<hsize_t> dims(size_t(std::max(rank, 0)));
    H5Sget_simple_extent_dims(sp, dims.data(), nullptr);
    const hid_t nt = H5Tget_native_type(ft, H5T_DIR_ASCEND);
    std::string bytes(size_t(H5Sget_simple_extent_npoints(sp)) * H5Tget_size(nt), '\0');
    if (H5Dread(obj, nt, H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes.data()) < 0) bytes = "(unreadable)";
    out[path] = fmt::format("{}|", fmt::join(dims, "x")) + bytes;
    H5Tclose(nt);
    H5Tclose(ft);
    H5Sclose(sp);
  } else {
    out[path] = "(group)";
  }
  read_attrs(obj, path, out);
  H5Oclose(obj);
  return 0;
}

inline Items items(const std::string& file) {
  Items out;
  const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) return {{"(file)", "cannot open " + file}};
  H5Ovisit2(f, H5_INDEX_NAME, H5_ITER_INC, on_object, &out, H5O_INFO_BASIC);
  H5Fclose(f);
  return out;
}

}  // namespace h5diff_detail

// Paths of the datasets ("/train/loss") and attributes ("/eval@metric", "/@created") that differ
// between files a and b, or exist in one only; `ignore` lists paths not to compare.
inline std::vector<std::string> h5_differences(const std::string& a, const std::string& b,
                                               const std::set<std::string>& ignore = {}) {
  const auto x = h5diff_detail::items(a), y = h5diff_detail::items(b);
  std::vector<std::string> out;
  for (const auto& [k, v] : x)
    if (!ignore.count(k) && (!y.count(k) || y.at(k) != v)) out.push_back(k);
  for (const auto& [k, v] : y)
    if (!ignore.count(k) && !x.count(k)) out.push_back(k);
  return out;
}

// The number of objects and attributes compared (a test checks that it compared something).
inline size_t h5_item_count(const std::string& file) { return h5diff_detail::items(file).size(); }

}  // namespace icl::test

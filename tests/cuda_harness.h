#pragma once
// Device helpers for the CUDA checks: the op harness's (tests/op_harness.h, which compares every
// op case's CUDA twin with the CPU) and the hand-written tests/test_cuda_*.cpp (what the harness
// cannot express). Every CUDA test starts with ICL_REQUIRE_GPU(), which skips it -- visibly, as
// skipped -- without a CUDA build or a GPU. Compiles in builds without CUDA too (the device calls
// then throw), so the harness needs no #ifdef around it.
//
//   DeviceBuffer d(host_vector);      // upload
//   DeviceBuffer out(n);              // n floats, poisoned with NaN: an unwritten element fails
//   launch(...); ctx().synchronize();
//   expect_close(out.download(), cpu_result, 1e-5, "y");   // per-tensor relative tolerance
//
// Inputs are fresh random numbers (counter-based stream per test label) at odd shapes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "core/cuda_context.h"
#include "core/device.h"
#include "core/rng.h"

namespace icl::test {

inline bool gpu_available() { return kCudaBuilt && cuda_device_count() > 0; }

#define ICL_REQUIRE_GPU()                                                  \
  do {                                                                     \
    if (!::icl::kCudaBuilt) GTEST_SKIP() << "CUDA backend not built";      \
    if (::icl::cuda_device_count() == 0) GTEST_SKIP() << "no GPU visible"; \
  } while (0)

// One context for the whole test binary (tests are not the library: a static here is fine).
inline CudaContext& ctx(bool tf32 = false) {
  static std::unique_ptr<CudaContext> strict, fast;
  auto& c = tf32 ? fast : strict;
  if (!c) c = std::make_unique<CudaContext>(0, tf32);
  return *c;
}

// A device array of floats or int32s, owned.
template <class T = float>
class DeviceArray {
 public:
  explicit DeviceArray(size_t n) : n_(n), p_(static_cast<T*>(device_alloc(n * sizeof(T)))) {
    poison();
  }
  explicit DeviceArray(const std::vector<T>& h) : DeviceArray(h.size()) { upload(h); }
  ~DeviceArray() { device_free(p_); }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;

  T* get() const { return p_; }
  size_t size() const { return n_; }
  void upload(const std::vector<T>& h) {
    ICL_ASSERT(h.size() == n_);
    copy_to_device(p_, h.data(), n_ * sizeof(T), ctx().stream());
    ctx().synchronize();
  }
  std::vector<T> download() const {
    std::vector<T> h(n_);
    copy_to_host(h.data(), p_, n_ * sizeof(T), ctx().stream());
    ctx().synchronize();
    return h;
  }
  // NaN for floats, 0x7fc00000 bit pattern for int32s.
  void poison() {
    std::vector<T> h(n_);
    const float nan = std::numeric_limits<float>::quiet_NaN();
    for (auto& v : h) std::memcpy(&v, &nan, sizeof(float) < sizeof(T) ? sizeof(float) : sizeof(T));
    if (n_) {
      copy_to_device(p_, h.data(), n_ * sizeof(T), ctx().stream());
      ctx().synchronize();
    }
  }

 private:
  size_t n_;
  T* p_;
};
using DeviceBuffer = DeviceArray<float>;

// n standard normals (times scale) from the stream named `label`.
inline std::vector<float> random_vector(size_t n, const std::string& label, double scale = 1.0,
                                        uint64_t seed = 7) {
  Rng r({seed, stream_id(label)}, 0);
  std::vector<float> v(n);
  for (auto& x : v) x = float(scale * r.normal());
  return v;
}

// max |a − b| / max |b| <= rel, and NaN exactly where b is NaN (so poison left behind fails).
inline void expect_close(const std::vector<float>& gpu, const std::vector<float>& cpu, double rel,
                         const std::string& what) {
  ASSERT_EQ(gpu.size(), cpu.size()) << what;
  double scale = 1e-30, err = 0;
  size_t worst = 0;
  for (float v : cpu) scale = std::max(scale, double(std::abs(v)));
  for (size_t i = 0; i < cpu.size(); ++i) {
    if (std::isnan(gpu[i]) != std::isnan(cpu[i])) {
      ADD_FAILURE() << what << ": element " << i << " is " << gpu[i] << " on the GPU, " << cpu[i]
                    << " on the CPU (unwritten?)";
      return;
    }
    const double e = std::abs(double(gpu[i]) - double(cpu[i]));
    if (e > err) err = e, worst = i;
  }
  EXPECT_LE(err / scale, rel) << what << ": worst element " << worst << " gpu " << gpu[worst]
                              << " cpu " << cpu[worst] << " (scale " << scale << ")";
}

}  // namespace icl::test

// The op harness's CUDA comparison (check_twin in tests/op_harness.h) checked without a GPU:
// kern::'s own fp32 kernels in the place of the twin pass, and twins with the faults the
// comparison exists to catch (an unwritten element, a wrong saved value, a gradient overwritten
// instead of accumulated, a gradient off by more than the tolerance, a rerun that differs) fail,
// each with a message naming it.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "tests/op_harness.h"

namespace icl {
namespace {

using test::CpuResult;
using test::GpuResult;

// y = s·x + b with s·x saved (aux); dx += s·dy, db += dy. Compared against fp64, so a faithful
// fp32 run is off by rounding only.
struct AxpyCase {
  int64_t n;
  double s = 2.5;
  std::vector<Shape> inputs() const { return {{n}, {n}}; }
  Shape output() const { return {n}; }
  template <class T>
  void forward(const std::vector<const T*>& x, T* y, std::vector<T>& aux) const {
    aux.assign(size_t(n), T(0));
    for (int64_t i = 0; i < n; ++i) {
      aux[size_t(i)] = T(s) * x[0][i];
      y[i] = aux[size_t(i)] + x[1][i];
    }
  }
  template <class T>
  void backward(const std::vector<const T*>&, const T*, const T* dy, const std::vector<T*>& dx,
                std::vector<T>&) const {
    for (int64_t i = 0; i < n; ++i) {
      if (dx[0]) dx[0][i] += T(s) * dy[i];
      if (dx[1]) dx[1][i] += dy[i];
    }
  }
  test::CudaTolerance cuda_tolerance() const {
    return {.fwd = 1e-6,
            .aux = 1e-6,
            .bwd = 1e-6,
            .against = test::Against::Fp64,
            .each_gradient_alone = true};
  }
};

using Fault = std::function<void(GpuResult&, const CpuResult&, int call)>;

// The failure messages check_twin reports for AxpyCase when `fault` spoils each run of the CPU
// twin (call counts the runs: 0 is the first).
std::vector<std::string> failures(const Fault& fault) {
  const AxpyCase c{37};
  int calls = 0;
  ::testing::TestPartResultArray results;
  {
    ::testing::ScopedFakeTestPartResultReporter reporter(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &results);
    test::check_twin(c, "axpy", 1,
                     [&](const std::vector<std::vector<float>>& in32, const std::vector<float>& r32,
                         const CpuResult& ref, const std::vector<bool>& wanted) {
                       GpuResult r = test::cpu_as_twin(c, in32, r32, ref, wanted);
                       fault(r, ref, calls++);
                       return r;
                     });
  }
  std::vector<std::string> msgs;
  for (int i = 0; i < results.size(); ++i) msgs.push_back(results.GetTestPartResult(i).message());
  return msgs;
}

bool mentions(const std::vector<std::string>& msgs, const std::string& what) {
  for (const auto& m : msgs)
    if (m.find(what) != std::string::npos) return true;
  return false;
}

TEST(OpHarness, FaithfulTwinPasses) {
  EXPECT_TRUE(failures([](GpuResult&, const CpuResult&, int) {}).empty());
}

TEST(OpHarness, UnwrittenOutputFails) {
  const auto msgs = failures([](GpuResult& r, const CpuResult&, int) {
    r.out[5] = std::numeric_limits<float>::quiet_NaN();
  });
  EXPECT_TRUE(mentions(msgs, "unwritten")) << msgs.size();
}

TEST(OpHarness, WrongSavedValueFails) {
  const auto msgs = failures([](GpuResult& r, const CpuResult&, int) { r.aux[3] += 1; });
  EXPECT_TRUE(mentions(msgs, "saved for the backward")) << msgs.size();
}

TEST(OpHarness, OverwrittenGradientFails) {
  // The twin wrote the gradient instead of adding it to the start values.
  const auto msgs = failures([](GpuResult& r, const CpuResult& ref, int) {
    if (r.grad[0].empty()) return;
    for (size_t i = 0; i < r.grad[0].size(); ++i) r.grad[0][i] -= ref.start[0][i];
  });
  EXPECT_TRUE(mentions(msgs, "gradient of input 0 (start + gradient)")) << msgs.size();
  EXPECT_TRUE(mentions(msgs, "gradient of input 0 (the increment)")) << msgs.size();
}

TEST(OpHarness, InaccurateGradientFails) {
  // One element off by 1e-5 of the gradient's largest magnitude: ten times the tolerance.
  const auto msgs = failures([](GpuResult& r, const CpuResult& ref, int) {
    if (r.grad[1].empty()) return;
    double scale = 0;
    for (size_t i = 0; i < r.grad[1].size(); ++i)
      scale = std::max(scale, std::abs(ref.grad[1][i] - double(ref.start[1][i])));
    r.grad[1][7] += float(1e-5 * scale);
  });
  EXPECT_TRUE(mentions(msgs, "gradient of input 1 (the increment)")) << msgs.size();
}

TEST(OpHarness, DifferentRerunFails) {
  const auto msgs = failures([](GpuResult& r, const CpuResult&, int call) {
    if (call == 1) r.out[0] = std::nextafter(r.out[0], 1e30f);
  });
  EXPECT_TRUE(mentions(msgs, "output differs between two runs")) << msgs.size();
}

TEST(OpHarness, GradientAloneThatDiffersFails) {
  // Runs 2 and 3 ask for one gradient each (check 4); the first of them comes back changed.
  const auto msgs = failures([](GpuResult& r, const CpuResult&, int call) {
    if (call == 2 && !r.grad[0].empty()) r.grad[0][0] = std::nextafter(r.grad[0][0], 1e30f);
  });
  EXPECT_TRUE(mentions(msgs, "gradient of input 0 alone differs")) << msgs.size();
}

}  // namespace
}  // namespace icl

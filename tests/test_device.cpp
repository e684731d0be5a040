// Device discovery. The GPU half skips (visibly) on machines without a GPU or without a CUDA build.
#include <gtest/gtest.h>

#include "core/device.h"
#include "core/version.h"

namespace icl {
namespace {

TEST(Device, SummaryNamesTheCpuAndTheBuild) {
  const std::string s = device_summary();
  EXPECT_EQ(s.rfind("cpu (", 0), 0u) << s;
  EXPECT_NE(s.find(cuda_built() ? "CUDA backend built" : "CUDA backend not built"),
            std::string::npos)
      << s;
}

TEST(Device, EveryVisibleGpuIsDescribed) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no GPU visible (" << device_summary() << ")";
  const std::string s = device_summary();
  for (int i = 0; i < cuda_device_count(); ++i)
    EXPECT_NE(s.find("cuda:" + std::to_string(i) + " "), std::string::npos) << s;
}

}  // namespace
}  // namespace icl

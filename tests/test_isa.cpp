// The build's instruction-set level (core/isa.h): what CMake's ICL_ARCH asked for is what the
// compiler was allowed to use, the running CPU has it, and a missing feature is named.
#include <gtest/gtest.h>

#include <string>

#include "core/isa.h"

namespace icl {
namespace {

bool required(const char* name) { return required_cpu_features() & cpu_feature_bit(name); }

TEST(Isa, TheLevelIsTheOneTheCompilerTargeted) {
  const std::string isa = build_isa();
  EXPECT_TRUE(required("sse4.2") && required("popcnt")) << isa;  // every level is at least v2
  if (isa == "x86-64-v2") {
    EXPECT_FALSE(required("avx"));
  } else if (isa == "x86-64-v3") {
    EXPECT_TRUE(required("avx2") && required("fma") && required("bmi2"));
    EXPECT_FALSE(required("avx512f"));
  } else if (isa == "x86-64-v4") {
    for (const char* f : {"avx2", "fma", "avx512f", "avx512bw", "avx512dq", "avx512vl"})
      EXPECT_TRUE(required(f)) << f;
  } else {
    EXPECT_EQ(isa, "native");
  }
}

TEST(Isa, TheRunningCpuHasEverythingTheBuildUses) {
  EXPECT_EQ(missing_cpu_features(required_cpu_features(), cpu_features()), "");
}

TEST(Isa, MissingFeaturesAreNamedInOrder) {
  const uint32_t avx2 = cpu_feature_bit("avx2"), fma = cpu_feature_bit("fma"),
                 f512 = cpu_feature_bit("avx512f");
  ASSERT_NE(avx2, 0u);
  ASSERT_NE(fma, 0u);
  EXPECT_EQ(cpu_feature_bit("no-such-feature"), 0u);
  EXPECT_EQ(missing_cpu_features(avx2 | fma | f512, avx2), "fma avx512f");
  EXPECT_EQ(missing_cpu_features(avx2 | fma, avx2 | fma | f512), "");
}

}  // namespace
}  // namespace icl

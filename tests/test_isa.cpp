// The build's instruction-set level (core/isa.h): what CMake's ICL_ARCH asked for is what the
// compiler was allowed to use, the running CPU has it, and a missing feature is named.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/isa.h"
#include "tests/asan.h"

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

// End to end on an older CPU: QEMU's user-mode emulator (Debian's qemu-user, which
// scripts/install-deps.sh installs) runs `icl version` as a Nehalem (x86-64-v2, no AVX). A v2
// build runs; any higher level prints the one line naming what is missing and exits 1, never
// SIGILL.
TEST(Isa, AnOlderCpuGetsOneLineNotSigill) {
#ifdef ICL_UNDER_ASAN
  // An AddressSanitizer binary (scripts/sanitize.sh) maps terabytes of shadow memory before main;
  // under QEMU's user-mode emulator that runs for minutes and is killed, whatever the CPU check
  // says.
  GTEST_SKIP() << "an AddressSanitizer build does not start under qemu-user";
#endif
  if (std::system("command -v qemu-x86_64 >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "qemu-x86_64 (Debian package qemu-user) is not installed";
  const std::string out = testing::TempDir() + "icl_isa_qemu_" + std::to_string(::getpid());
  const std::string cmd = "qemu-x86_64 -cpu Nehalem " + std::string(ICL_BINARY) + " version >" +
                          out + ".out 2>" + out + ".err";
  const int status = std::system(cmd.c_str());
  auto slurp = [](const std::string& path) {
    std::string text;
    if (FILE* f = std::fopen(path.c_str(), "r")) {
      char buf[4096];
      size_t n;
      while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
      std::fclose(f);
    }
    std::remove(path.c_str());
    return text;
  };
  const std::string stdout_text = slurp(out + ".out"), stderr_text = slurp(out + ".err");
  ASSERT_TRUE(WIFEXITED(status)) << "killed by a signal: " << stderr_text;
  if (std::string(build_isa()) == "x86-64-v2") {
    EXPECT_EQ(WEXITSTATUS(status), 0) << stderr_text;
    EXPECT_NE(stdout_text.find("CPU code for x86-64-v2"), std::string::npos) << stdout_text;
    return;
  }
  EXPECT_EQ(WEXITSTATUS(status), 1);
  // QEMU itself may warn about CPUID bits it cannot emulate; ours is the one "icl:" line.
  const size_t at = stderr_text.find("icl: error: this build is for ");
  ASSERT_NE(at, std::string::npos) << stderr_text;
  const std::string line = stderr_text.substr(at, stderr_text.find('\n', at) - at);
  EXPECT_NE(line.find(std::string(build_isa()) + " but this CPU lacks"), std::string::npos) << line;
  EXPECT_NE(line.find("avx2"), std::string::npos) << line;
  EXPECT_NE(line.find("-DICL_ARCH="), std::string::npos) << line;
  EXPECT_TRUE(stdout_text.empty()) << stdout_text;
}

}  // namespace
}  // namespace icl

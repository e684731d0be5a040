// Compiled for plain x86-64 whatever ICL_ARCH is (CMakeLists.txt), so that it can run on any
// x86-64 CPU and say what is missing before code built for a higher level executes.
#include "core/isa.h"

#include <cpuid.h>
#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <cstring>

extern "C" {
extern const uint32_t icl_isa_required;
extern const char icl_isa_name[];
// Referenced by the link line of every program (CMakeLists.txt), so this file is always linked.
int icl_isa_anchor = 0;
}

namespace icl {

namespace {

// The bit order of isa_required.cpp.
constexpr const char* kNames[] = {"ssse3",
                                  "sse4.2",
                                  "popcnt",
                                  "avx",
                                  "avx2",
                                  "fma",
                                  "bmi2",
                                  "f16c",
                                  "avx512f",
                                  "avx512bw",
                                  "avx512dq",
                                  "avx512vl",
                                  "avx512cd",
                                  "avx512vbmi",
                                  "avx512vbmi2",
                                  "avx512ifma",
                                  "avx512vnni",
                                  "avx512bitalg",
                                  "avx512vpopcntdq",
                                  "avx512bf16",
                                  "gfni",
                                  "vaes",
                                  "avxvnni",
                                  "avx512fp16"};
constexpr int kCount = int(sizeof kNames / sizeof kNames[0]);

// Plain C strings: library templates instantiated here could be merged by the linker with the
// copies compiled for the build's level, and this must run before the level is known to be there.
void missing_names(uint32_t required, uint32_t present, char* out, size_t size) {
  size_t used = 0;
  out[0] = '\0';
  for (int i = 0; i < kCount; ++i) {
    if (!(required >> i & 1u) || (present >> i & 1u)) continue;
    const size_t n = std::strlen(kNames[i]);
    if (used + n + 2 > size) break;
    if (used) out[used++] = ' ';
    std::memcpy(out + used, kNames[i], n + 1);
    used += n;
  }
}

#ifdef __clang__
// Clang (14, used by the sanitizer and fuzz builds) knows no f16c, vaes, avxvnni or avx512fp16 in
// __builtin_cpu_supports; their CPUID bits instead, counted only where the OS has enabled the
// register state they need, which the builtin's avx (resp. avx512f) answer includes.
bool cpuid_bit(unsigned leaf, unsigned sub, int reg, int bit) {
  unsigned r[4] = {0, 0, 0, 0};
  if (!__get_cpuid_count(leaf, sub, &r[0], &r[1], &r[2], &r[3])) return false;
  return r[reg] >> bit & 1u;
}
constexpr int kEax = 0, kEcx = 2, kEdx = 3;
#define ICL_HAS_F16C (__builtin_cpu_supports("avx") && cpuid_bit(1, 0, kEcx, 29))
#define ICL_HAS_VAES (__builtin_cpu_supports("avx") && cpuid_bit(7, 0, kEcx, 9))
#define ICL_HAS_AVXVNNI (__builtin_cpu_supports("avx") && cpuid_bit(7, 1, kEax, 4))
#define ICL_HAS_AVX512FP16 (__builtin_cpu_supports("avx512f") && cpuid_bit(7, 0, kEdx, 23))
#else
#define ICL_HAS_F16C __builtin_cpu_supports("f16c")
#define ICL_HAS_VAES __builtin_cpu_supports("vaes")
#define ICL_HAS_AVXVNNI __builtin_cpu_supports("avxvnni")
#define ICL_HAS_AVX512FP16 __builtin_cpu_supports("avx512fp16")
#endif

[[gnu::constructor(101)]] void check_cpu() {
  char missing[256];
  missing_names(icl_isa_required, cpu_features(), missing, sizeof missing);
  if (missing[0] == '\0') return;
  std::fprintf(stderr,
               "icl: error: this build is for %s but this CPU lacks %s; rebuild here with "
               "-DICL_ARCH=native or a lower level (bash scripts/build.sh -DICL_ARCH=x86-64-v2)\n",
               icl_isa_name, missing);
  ::_exit(1);
}

}  // namespace

const char* build_isa() { return icl_isa_name; }
uint32_t required_cpu_features() { return icl_isa_required; }

uint32_t cpu_features() {
  // __builtin_cpu_supports takes string literals only: one line per feature, in kNames' order.
  __builtin_cpu_init();
  const bool have[] = {bool(__builtin_cpu_supports("ssse3")),
                       bool(__builtin_cpu_supports("sse4.2")),
                       bool(__builtin_cpu_supports("popcnt")),
                       bool(__builtin_cpu_supports("avx")),
                       bool(__builtin_cpu_supports("avx2")),
                       bool(__builtin_cpu_supports("fma")),
                       bool(__builtin_cpu_supports("bmi2")),
                       bool(ICL_HAS_F16C),
                       bool(__builtin_cpu_supports("avx512f")),
                       bool(__builtin_cpu_supports("avx512bw")),
                       bool(__builtin_cpu_supports("avx512dq")),
                       bool(__builtin_cpu_supports("avx512vl")),
                       bool(__builtin_cpu_supports("avx512cd")),
                       bool(__builtin_cpu_supports("avx512vbmi")),
                       bool(__builtin_cpu_supports("avx512vbmi2")),
                       bool(__builtin_cpu_supports("avx512ifma")),
                       bool(__builtin_cpu_supports("avx512vnni")),
                       bool(__builtin_cpu_supports("avx512bitalg")),
                       bool(__builtin_cpu_supports("avx512vpopcntdq")),
                       bool(__builtin_cpu_supports("avx512bf16")),
                       bool(__builtin_cpu_supports("gfni")),
                       bool(ICL_HAS_VAES),
                       bool(ICL_HAS_AVXVNNI),
                       bool(ICL_HAS_AVX512FP16)};
  static_assert(sizeof have / sizeof have[0] == kCount);
  uint32_t mask = 0;
  for (int i = 0; i < kCount; ++i)
    if (have[i]) mask |= 1u << i;
  return mask;
}

uint32_t cpu_feature_bit(const char* name) {
  for (int i = 0; i < kCount; ++i)
    if (std::strcmp(name, kNames[i]) == 0) return 1u << i;
  return 0;
}

void missing_cpu_features(uint32_t required, uint32_t present, char* out, size_t size) {
  missing_names(required, present, out, size);
}

}  // namespace icl

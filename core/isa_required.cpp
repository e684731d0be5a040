// Compiled with the build's -march: which features the compiler was allowed to use, as data that
// the check in isa_check.cpp reads before any code built for the level runs. Bits in the order of
// isa_check.cpp's kNames.
#include <cstdint>
#include <string>

#include "core/isa.h"

extern "C" {
// clang-format off
extern const uint32_t icl_isa_required = 0
#ifdef __SSSE3__
    | 1u << 0
#endif
#ifdef __SSE4_2__
    | 1u << 1
#endif
#ifdef __POPCNT__
    | 1u << 2
#endif
#ifdef __AVX__
    | 1u << 3
#endif
#ifdef __AVX2__
    | 1u << 4
#endif
#ifdef __FMA__
    | 1u << 5
#endif
#ifdef __BMI2__
    | 1u << 6
#endif
#ifdef __F16C__
    | 1u << 7
#endif
#ifdef __AVX512F__
    | 1u << 8
#endif
#ifdef __AVX512BW__
    | 1u << 9
#endif
#ifdef __AVX512DQ__
    | 1u << 10
#endif
#ifdef __AVX512VL__
    | 1u << 11
#endif
#ifdef __AVX512CD__
    | 1u << 12
#endif
#ifdef __AVX512VBMI__
    | 1u << 13
#endif
#ifdef __AVX512VBMI2__
    | 1u << 14
#endif
#ifdef __AVX512IFMA__
    | 1u << 15
#endif
#ifdef __AVX512VNNI__
    | 1u << 16
#endif
#ifdef __AVX512BITALG__
    | 1u << 17
#endif
#ifdef __AVX512VPOPCNTDQ__
    | 1u << 18
#endif
#ifdef __AVX512BF16__
    | 1u << 19
#endif
#ifdef __GFNI__
    | 1u << 20
#endif
#ifdef __VAES__
    | 1u << 21
#endif
#ifdef __AVXVNNI__
    | 1u << 22
#endif
#ifdef __AVX512FP16__
    | 1u << 23
#endif
    ;
// clang-format on
extern const char icl_isa_name[] = ICL_ISA_NAME;
}

// The std::string form lives here, in code built for the build's level like the rest of the
// library (isa_check.cpp keeps to C strings).
std::string icl::missing_cpu_features(uint32_t required, uint32_t present) {
  char buf[256];
  missing_cpu_features(required, present, buf, sizeof buf);
  return buf;
}

#pragma once
// The CPU instruction-set level this build was compiled for (CMake's ICL_ARCH), and the check that
// the running CPU has it. Training results are bit-identical between machines only within one
// level (README, "Reproducibility"): the matrix-product kernels sum in an order set by the vector
// width, and glibc's libm picks its FMA variants by the CPU. Every results.h5 records the level
// (root attribute `build_isa`).
//
// The check runs before any other code of the program (a priority constructor in a file compiled
// for plain x86-64), so a CPU without the level gets one line naming what it lacks and how to
// rebuild, not SIGILL.
#include <cstddef>
#include <cstdint>
#include <string>

namespace icl {

const char* build_isa();  // "x86-64-v2", "x86-64-v3", "x86-64-v4" or "native"

// Feature sets as bit masks over a fixed list (ssse3, sse4.2, popcnt, avx, avx2, fma, ...).
uint32_t required_cpu_features();            // what this build's compiler was allowed to use
uint32_t cpu_features();                     // what the running CPU has
uint32_t cpu_feature_bit(const char* name);  // the bit of one name; 0 for an unknown one
// The names of the features in `required` and not in `present`, space-separated ("" if none).
void missing_cpu_features(uint32_t required, uint32_t present, char* out, size_t size);
std::string missing_cpu_features(uint32_t required, uint32_t present);

}  // namespace icl

#pragma once
// Build identity, recorded in every results.h5 (version.cpp is generated at build time).
namespace icl {
const char* version();
const char* git_commit();  // "abc1234", "abc1234-dirty", or "unknown" outside a git checkout
bool cuda_built();         // whether this binary contains the CUDA backend
}  // namespace icl

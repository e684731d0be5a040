#pragma once
// Lookup by name in a registry of components (tasks, baselines, models): an unknown name is an
// icl::Error listing every known one, e.g. "unknown model 'x' (known models: transformer)".
#include <string>
#include <vector>

#include "core/error.h"

namespace icl {

template <class Registry>
const auto& find_named(const Registry& registry, const std::string& name, const char* kind) {
  std::string known;
  for (const auto& info : registry) {
    if (info.name == name) return info;
    known += (known.empty() ? "" : ", ") + info.name;
  }
  fail("unknown {} '{}' (known {}s: {})", kind, name, kind, known);
}

}  // namespace icl

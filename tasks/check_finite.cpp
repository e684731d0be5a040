#include "tasks/check_finite.h"

#include <cmath>
#include <variant>

#include <fmt/format.h>

#include "core/error.h"

namespace icl {

namespace {

// Index of the first non-finite entry of v, or -1.
template <class V>
int64_t first_non_finite(const V& v) {
  for (size_t i = 0; i < v.size(); ++i)
    if (!std::isfinite(v[i])) return int64_t(i);
  return -1;
}

}  // namespace

std::string suspect_params(const Task& task) {
  std::string out;
  for (const auto& s : find_task(task.name()).params) {
    if (s.type != ParamType::Real || !task.params().has(s.name)) continue;
    const double v = task.params().r(s.name), def = std::get<double>(s.def);
    if (v == def) continue;
    out += fmt::format("{}{}={:g} (default {:g})", out.empty() ? "" : ", ", s.name, v, def);
  }
  return out;
}

void check_finite(const PromptBatch& pb, const Task& task, const std::string& where) {
  const char* buffer = nullptr;
  int64_t at = -1;
  double value = 0.0;
  const auto probe = [&](const char* name, const auto& v) {
    if (buffer) return;
    at = first_non_finite(v);
    if (at >= 0) {
      buffer = name;
      value = double(v[size_t(at)]);
    }
  };
  // Token ids are integers; what can overflow is the real-valued data of the other kinds.
  if (const auto* v = pb.get<VectorPrompts>()) {
    probe("xs", v->xs);
    probe("ys", v->ys);
    probe("xq", v->xq);
    probe("yq", v->yq);
  } else if (const auto* h = pb.get<HistoryPrompts>()) {
    probe("xs", h->xs);
    probe("ys", h->ys);
  }
  probe("truth", pb.common().truth);
  if (const auto* v = pb.get<VectorPrompts>()) probe("x_cov", v->x_cov);
  if (!buffer) return;
  const std::string suspects = suspect_params(task);
  fail("{}: task {} made a non-finite prompt value ({}[{}] = {:g}) from finite settings; {}", where,
       task.name(), buffer, at, value,
       suspects.empty() ? "every real-valued parameter has its default"
                        : fmt::format("reduce the scale of {}", suspects));
}

}  // namespace icl

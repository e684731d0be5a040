#pragma once
// Learning-rate schedules and Garg et al.'s curriculum: pure functions of the step, so a resumed
// run sees exactly what an uninterrupted one would.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <string>

namespace icl {

struct Schedule {
  std::string kind = "constant";  // constant | cosine
  double lr = 1e-4;
  int64_t warmup = 0;  // linear warm-up steps from 0
  int64_t total = 1;   // steps of the whole run (cosine decays to min_ratio·lr at the end)
  double min_ratio = 0.0;

  double at(int64_t step) const {  // step is 0-based
    if (step < warmup) return lr * double(step + 1) / double(warmup);
    if (kind == "constant") return lr;
    const double span = double(std::max<int64_t>(1, total - warmup));
    const double t = std::min(1.0, double(step - warmup) / span);
    return lr * (min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + std::cos(std::numbers::pi * t)));
  }
};

// One curriculum variable: start, then +inc every `every` steps, capped at end (Garg et al.: active
// dimensions 5 → 20 by +1, points 11 → 41 by +2, every 2000 steps).
struct Ramp {
  int64_t start = 0, end = 0, inc = 0, every = 1;
  int64_t at(int64_t step) const {
    if (inc == 0) return end;
    const int64_t v = start + inc * (step / std::max<int64_t>(1, every));
    return inc > 0 ? std::min(v, end) : std::max(v, end);
  }
};

}  // namespace icl

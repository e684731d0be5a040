#pragma once
// Small statistics helpers for the Monte-Carlo tests of task families.
#include <cmath>
#include <utility>
#include <vector>

namespace icl::test {

// Mean of v and its standard error.
inline std::pair<double, double> mean_se(const std::vector<double>& v) {
  double m = 0, s = 0;
  for (double x : v) m += x;
  m /= double(v.size());
  for (double x : v) s += (x - m) * (x - m);
  return {m, std::sqrt(s / double(v.size() - 1) / double(v.size()))};
}

}  // namespace icl::test

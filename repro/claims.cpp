#include "repro/claims.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"

namespace icl {

namespace {

std::string x_range(const Curve& c) {
  if (c.x.empty()) return "no points";
  return fmt::format("{} points from {:g} to {:g}", c.x.size(), c.x.front(), c.x.back());
}

std::string number(double v) { return fmt::format("{:.4g}", v); }

}  // namespace

std::string ClaimResult::status_text() const {
  switch (status) {
    case ClaimStatus::Holds:
      return "holds";
    case ClaimStatus::Fails:
      return "fails";
    default:
      return only;
  }
}

double quantity_value(const Quantity& q, const SeriesCurves& curves, const std::string& scale,
                      const std::string& where) {
  if (q.series.empty()) return q.value * q.times + q.plus;
  const auto it = curves.find(q.series);
  if (it == curves.end()) fail("{}: no curve for series '{}'", where, q.series);
  const Curve& c = it->second;
  if (!q.at.empty()) {
    const double at = q.at.at(scale);
    for (size_t i = 0; i < c.x.size(); ++i)
      if (std::abs(c.x[i] - at) <= 1e-9 * std::max(1.0, std::abs(at)))
        return c.mean[i] * q.times + q.plus;
    fail("{}: series {} has no point at x = {:g} ({})", where, q.series, at, x_range(c));
  }
  const auto [a, b] = q.over.at(scale);
  std::vector<double> v;
  for (size_t i = 0; i < c.x.size(); ++i)
    if (c.x[i] >= a && c.x[i] <= b) v.push_back(c.mean[i]);
  if (v.empty())
    fail("{}: series {} has no point in [{:g}, {:g}] ({})", where, q.series, a, b, x_range(c));
  double r = 0;
  if (std::any_of(v.begin(), v.end(), [](double x) { return std::isnan(x); }))
    r = std::nan("");
  else if (q.reduce == "max")
    r = *std::max_element(v.begin(), v.end());
  else if (q.reduce == "min")
    r = *std::min_element(v.begin(), v.end());
  else if (q.reduce == "growth")
    r = v.back() / v.front();
  else if (q.reduce == "spread")
    r = *std::max_element(v.begin(), v.end()) / *std::min_element(v.begin(), v.end());
  else {
    for (double x : v) r += x;
    r /= double(v.size());
  }
  return r * q.times + q.plus;
}

std::string describe(const Quantity& q, const std::string& scale) {
  if (q.series.empty()) return number(q.value * q.times + q.plus);
  const std::string factor = q.times == 1.0 ? "" : number(q.times) + " x ";
  const std::string offset =
      q.plus == 0.0 ? "" : fmt::format(" {} {}", q.plus < 0 ? "-" : "+", number(std::abs(q.plus)));
  if (!q.at.empty()) return fmt::format("{}{} at {:g}{}", factor, q.series, q.at.at(scale), offset);
  const auto [a, b] = q.over.at(scale);
  return fmt::format("{}{} of {} over [{:g}, {:g}]{}", factor, q.reduce, q.series, a, b, offset);
}

namespace {
// The claim evaluated at `scale`: Holds or Fails with its numbers.
ClaimResult compare(const Claim& claim, const SeriesCurves& curves, const std::string& scale,
                    const std::string& where) {
  ClaimResult r;
  r.left = quantity_value(claim.left, curves, scale, where);
  r.right = quantity_value(claim.right, curves, scale, where);
  bool holds = false;
  if (claim.op == "<")
    holds = r.left < r.right;
  else if (claim.op == "<=")
    holds = r.left <= r.right;
  else if (claim.op == ">")
    holds = r.left > r.right;
  else if (claim.op == ">=")
    holds = r.left >= r.right;
  else
    fail("{}: unknown comparison '{}'", where, claim.op);
  r.status = holds ? ClaimStatus::Holds : ClaimStatus::Fails;
  const bool right_constant = claim.right.series.empty();
  r.numbers = fmt::format("{} = {} {} {}{}", describe(claim.left, scale), number(r.left), claim.op,
                          describe(claim.right, scale),
                          right_constant ? "" : fmt::format(" = {}", number(r.right)));
  return r;
}
}  // namespace

ClaimResult check_claim(const Claim& claim, const SeriesCurves& curves, const std::string& scale) {
  ClaimResult r;
  const std::string where = "claim " + claim.id;
  if (std::find(claim.scales.begin(), claim.scales.end(), scale) == claim.scales.end()) {
    r.status = ClaimStatus::OtherScale;
    std::string s;
    for (const auto& x : claim.scales) s += (s.empty() ? "" : " and ") + x;
    r.only = s + " scale only";
    // Its numbers at this scale where the curves have them, with what they would say: a claim
    // that does not hold here is reported with its numbers, not only marked.
    try {
      const ClaimResult here = compare(claim, curves, scale, where);
      r.left = here.left;
      r.right = here.right;
      r.numbers = fmt::format("here: {} ({})", here.numbers,
                              here.status == ClaimStatus::Holds ? "would hold" : "would fail");
    } catch (const Error&) {
      // A series this scale does not draw, or no point in range: nothing to show.
    }
    return r;
  }
  return compare(claim, curves, scale, where);
}

}  // namespace icl

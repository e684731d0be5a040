#pragma once
// A paper's claims checked on our curves. A quantity is one series at one x, or the max / min /
// mean / growth / spread of a series over an x range, or a constant, times a factor; a claim compares two
// quantities with <, <=, > or >=. A claim declared for other scales than the one reproduced is
// reported as such ("paper scale only"), never dropped, with its numbers at this scale where the
// curves have them ("here: ... (would fail)"). A NaN on either side fails the claim.
#include <map>
#include <string>

#include "repro/curves.h"
#include "repro/figure.h"

namespace icl {

enum class ClaimStatus { Holds, Fails, OtherScale };

struct ClaimResult {
  ClaimStatus status = ClaimStatus::Fails;
  double left = 0, right = 0;
  std::string numbers;  // "transformer at 10 = 0.0419 < 0.25 x averaging at 10 (0.6537) = 0.1634"
  std::string only;     // OtherScale: "paper scale only"
  std::string status_text() const;  // "holds", "fails", or `only`
};

using SeriesCurves = std::map<std::string, Curve>;  // series id -> combined curve

// The value of `q` on `curves`; an icl::Error naming `where` when the series has no point at `at`
// or none in `over` (with the x values it has).
double quantity_value(const Quantity& q, const SeriesCurves& curves, const std::string& scale,
                      const std::string& where);
// "transformer at 10", "max of transformer over [2, 6]", "0.95"
std::string describe(const Quantity& q, const std::string& scale);

ClaimResult check_claim(const Claim& claim, const SeriesCurves& curves, const std::string& scale);

}  // namespace icl

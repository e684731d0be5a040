#include <cmath>

#include "baselines/linucb.h"

namespace icl {

void register_linucb(std::vector<BanditPolicyInfo>& r) {
  r.push_back({"linucb",
               "LinUCB: argmax θ̂·a + α√(aᵀV⁻¹a), V = λI + Σ aaᵀ",
               {ParamSpec::real("lambda", 1.0, "ridge λ", 1e-12),
                ParamSpec::real("alpha", 2.0, "bonus α (Lin et al.: 2)", 0.0)},
               [](const ParamSet& p) -> std::unique_ptr<BanditPolicy> {
                 return std::make_unique<LinUcb>(p.r("lambda"), p.r("alpha"));
               }});
  r.push_back({"greedy",
               "greedy ridge: argmax θ̂·a (LinUCB without the bonus)",
               {ParamSpec::real("lambda", 1.0, "ridge λ", 1e-12)},
               [](const ParamSet& p) -> std::unique_ptr<BanditPolicy> {
                 return std::make_unique<LinUcb>(p.r("lambda"), 0.0);
               }});
}

}  // namespace icl

// The uniformly random policy: the reference a learner must beat.
#include "baselines/bandit_policy.h"

namespace icl {
namespace {

class RandomPolicy final : public BanditPolicy {
 public:
  void reset(const Eigen::MatrixXd& arms) override { arms_ = arms.rows(); }
  int act(Rng& rng) override { return int(rng.below(uint64_t(arms_))); }
  void observe(int, double) override {}

 private:
  int64_t arms_ = 1;
};

}  // namespace

void register_random_policy(std::vector<BanditPolicyInfo>& r) {
  r.push_back({"random",
               "pulls an arm uniformly at random",
               {},
               [](const ParamSet&) -> std::unique_ptr<BanditPolicy> {
                 return std::make_unique<RandomPolicy>();
               }});
}

}  // namespace icl

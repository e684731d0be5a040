// Thompson sampling for linear bandits (docs/TASKS.md §7).
//   thompson        linear TS: θ̃ ~ N(θ̂, σ² V⁻¹) with V = λI + Σ a aᵀ (the posterior under the
//                   prior θ ~ N(0, σ²/λ I) and noise σ), pull argmax θ̃·a.
//   thompson_arms   independent Gaussian arms, the per-arm TS that DPT plots as "Thompson"
//                   (jon--lee/decision-pretrained-transformer, ctrls/ctrl_bandit.py,
//                   ThompsonSamplingPolicy with sample=True, prior mean 0): one draw per arm from
//                   N(m_a, v_a), pull the argmax (the features are ignored). With n pulls of arm a
//                   and mean reward x̄ (τ² = prior_var, σ = noise_std):
//                     v_a = 1 / (1/τ² + n/σ²)                (the Gaussian posterior variance)
//                     m_a = (1 − w) x̄,  w = τ² / (τ² + n σ²)  (the reference's prior weight)
//                   Departure from the textbook posterior, kept because the reference code wins:
//                   the exact posterior mean has w = σ² / (σ² + n τ²); the reference swaps σ² and
//                   τ², which with DPT's τ² = 1, σ² = 0.09 shrinks the means towards 0 far more
//                   (after one pull, 8% of x̄ instead of 92%). tests/test_bandits.cpp checks the
//                   formula.
#include <Eigen/Cholesky>
#include <cmath>

#include "baselines/bandit_policy.h"

namespace icl {

ArmPosterior dpt_arm_posterior(double n, double sum, double prior_var, double noise_var) {
  if (n == 0) return {0.0, prior_var};
  const double w = prior_var / (prior_var + n * noise_var);
  return {(1.0 - w) * (sum / n), 1.0 / (1.0 / prior_var + n / noise_var)};
}

namespace {

class LinearThompson final : public BanditPolicy {
 public:
  LinearThompson(double lambda, double noise) : lambda_(lambda), noise_(noise) {}
  void reset(const Eigen::MatrixXd& arms) override {
    arms_ = arms;
    stats_.reset(arms.cols(), lambda_);
  }
  int act(Rng& rng) override {
    const int64_t d = arms_.cols();
    // The symmetrised inverse: Sherman–Morrison updates drift from exact symmetry.
    const Eigen::MatrixXd cov = 0.5 * (stats_.v_inv + stats_.v_inv.transpose()) * noise_ * noise_;
    const Eigen::LLT<Eigen::MatrixXd> llt(cov);
    Eigen::VectorXd z(d);
    for (int64_t j = 0; j < d; ++j) z(j) = rng.normal();
    const Eigen::VectorXd sample = stats_.theta + Eigen::MatrixXd(llt.matrixL()) * z;
    int best = 0;
    (arms_ * sample).maxCoeff(&best);
    return best;
  }
  void observe(int arm, double reward) override { stats_.add(arms_.row(arm).transpose(), reward); }

 private:
  double lambda_, noise_;
  Eigen::MatrixXd arms_;
  RidgeStats stats_;
};

class ArmThompson final : public BanditPolicy {
 public:
  ArmThompson(double prior_var, double noise) : prior_var_(prior_var), noise_(noise) {}
  void reset(const Eigen::MatrixXd& arms) override {
    count_.assign(size_t(arms.rows()), 0.0);
    sum_.assign(size_t(arms.rows()), 0.0);
  }
  int act(Rng& rng) override {
    int best = 0;
    double best_draw = -INFINITY;
    const double noise_var = noise_ * noise_;
    for (size_t a = 0; a < count_.size(); ++a) {
      const ArmPosterior post = dpt_arm_posterior(count_[a], sum_[a], prior_var_, noise_var);
      const double draw = post.mean + rng.normal() * std::sqrt(post.var);
      if (draw > best_draw) {
        best_draw = draw;
        best = int(a);
      }
    }
    return best;
  }
  void observe(int arm, double reward) override {
    count_[size_t(arm)] += 1.0;
    sum_[size_t(arm)] += reward;
  }

 private:
  double prior_var_, noise_;
  std::vector<double> count_, sum_;
};

}  // namespace

void register_thompson(std::vector<BanditPolicyInfo>& r) {
  r.push_back({"thompson",
               "linear Thompson sampling: θ̃ ~ N(θ̂, σ²V⁻¹), argmax θ̃·a",
               {ParamSpec::real("lambda", 1.0, "ridge λ (prior precision × σ²)", 1e-12),
                ParamSpec::real("noise_std", 1.5, "assumed reward noise σ", 1e-12)},
               [](const ParamSet& p) -> std::unique_ptr<BanditPolicy> {
                 return std::make_unique<LinearThompson>(p.r("lambda"), p.r("noise_std"));
               }});
  r.push_back({"thompson_arms",
               "Thompson sampling with independent Gaussian arms (DPT's data)",
               {ParamSpec::real("prior_var", 1.0, "prior variance of each arm's mean", 1e-12),
                ParamSpec::real("noise_std", 0.3, "assumed reward noise σ", 1e-12)},
               [](const ParamSet& p) -> std::unique_ptr<BanditPolicy> {
                 return std::make_unique<ArmThompson>(p.r("prior_var"), p.r("noise_std"));
               }});
}

}  // namespace icl

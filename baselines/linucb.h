#pragma once
// LinUCB (Li et al. 2010; Lin, Bai & Mei 2024, docs/TASKS.md §7) and its bonus-free special case,
// greedy ridge: V = λI + Σ a aᵀ, θ̂ = V⁻¹ Σ r a, pull argmax_a θ̂·a + α √(aᵀ V⁻¹ a) (lowest index
// on ties). Declared here so tests can read the estimate θ̂.
#include <cmath>

#include "baselines/bandit_policy.h"

namespace icl {

class LinUcb final : public BanditPolicy {
 public:
  LinUcb(double lambda, double alpha) : lambda_(lambda), alpha_(alpha) {}
  void reset(const Eigen::MatrixXd& arms) override {
    arms_ = arms;
    stats_.reset(arms.cols(), lambda_);
  }
  int act(Rng&) override {
    int best = 0;
    double best_score = -INFINITY;
    for (int a = 0; a < int(arms_.rows()); ++a) {
      const Eigen::VectorXd x = arms_.row(a).transpose();
      const double bonus = alpha_ > 0.0 ? alpha_ * std::sqrt(x.dot(stats_.v_inv * x)) : 0.0;
      const double score = stats_.theta.dot(x) + bonus;
      if (score > best_score) {
        best_score = score;
        best = a;
      }
    }
    return best;
  }
  void observe(int arm, double reward) override { stats_.add(arms_.row(arm).transpose(), reward); }
  const RidgeStats& stats() const { return stats_; }

 private:
  double lambda_, alpha_;
  Eigen::MatrixXd arms_;
  RidgeStats stats_;
};

}  // namespace icl

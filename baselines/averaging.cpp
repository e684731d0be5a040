// Predictors built on the running sum s = Σ y_i x_i: plain averaging (ŵ = s/N, Garg et al.), the
// optimal one-step preconditioned GD of one-layer linear self-attention (docs/TASKS.md §2), and the
// null predictor.
#include <Eigen/Eigenvalues>

#include "baselines/baseline.h"
#include "core/error.h"

namespace icl {
namespace {

class Averaging final : public Baseline {
 public:
  Averaging(const ParamSet& p, const std::string& label) : Baseline("averaging", p, label) {}

 private:
  void predict_prompt(const PromptView& p, float* out) const override {
    VecD s = VecD::Zero(p.pb.dx);
    for (int64_t k = 0; k < p.pb.n_examples; ++k) {
      out[k] = k ? float(p.query(k).dot(s) / double(k)) : 0.f;
      s += p.y(k) * p.x(k);
    }
  }
};

// ŷ = x_qᵀ Γ⁻¹ s / N with Γ = (1 + 1/N)Λ + (tr Λ / N)·I and Λ the input covariance, which the task
// provides (VectorPrompts::x_cov). With Λ = U diag(l) Uᵀ this is Σ_j (u_j·x_q)(u_j·s) / ((N+1) l_j
// + tr Λ); isotropic: x_qᵀ s / (N + d + 1).
class OptimalOneStepGD final : public Baseline {
 public:
  OptimalOneStepGD(const ParamSet& p, const std::string& label)
      : Baseline("optimal_one_step_gd", p, label) {}

  std::vector<float> predict(const PromptBatch& batch) const override {
    const VectorPrompts& pb = regression_prompts(batch);
    if (pb.x_cov.size() != size_t(pb.dx * pb.dx))
      fail("baseline optimal_one_step_gd: task prompts do not carry their input covariance");
    const Eigen::Map<const MatD> lambda(pb.x_cov.data(), pb.dx, pb.dx);
    const Eigen::SelfAdjointEigenSolver<MatD> eig(lambda);
    const MatD ut = eig.eigenvectors().transpose();
    const VecD l = eig.eigenvalues().cwiseMax(0.0);
    const double trace = lambda.trace();
    return run(pb, [&](const PromptView& p, float* out) {
      VecD s = VecD::Zero(p.pb.dx);  // Σ y_i x_i in the eigenbasis
      for (int64_t k = 0; k < p.pb.n_examples; ++k) {
        const VecD denom = (double(k) + 1.0) * l.array() + trace;
        out[k] = k ? float(((ut * p.query(k)).array() * s.array() / denom.array()).sum()) : 0.f;
        s += p.y(k) * (ut * p.x(k));
      }
    });
  }
};

class Zero final : public Baseline {
 public:
  Zero(const ParamSet& p, const std::string& label) : Baseline("zero", p, label) {}

 private:
  void predict_prompt(const PromptView& p, float* out) const override {
    std::fill(out, out + p.pb.n_examples, 0.f);
  }
};

}  // namespace

void register_averaging(std::vector<BaselineInfo>& r) {
  r.push_back(baseline_info<Averaging>("averaging", "ŵ = mean of y_i x_i (Garg et al. 2022)", {}));
  r.push_back(baseline_info<OptimalOneStepGD>(
      "optimal_one_step_gd",
      "one preconditioned GD step that trained linear self-attention converges to (Ahn et al.)",
      {}));
  r.push_back(baseline_info<Zero>("zero", "always predicts 0 (the null predictor)", {}));
}

}  // namespace icl

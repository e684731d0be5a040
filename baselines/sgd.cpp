// Akyürek et al. 2023's SGD(η, w) (reference: google-research/incontext, algos.py class SGD), the
// gradient-descent predictor of their prediction-difference figure. From w = 0 on the unnormalised
// squared loss Σ (y_i − x_iᵀw)² + λ‖w‖², with the gradient clipped to [−c, c] per coordinate:
//   window one:  online, one step per example in order, g = −2 x_i (y_i − x_iᵀw) + 2λw;
//   window full: for every prefix of n examples afresh, n steps j = 1..n on the first j examples,
//                g = −2 Σ_{i≤j} x_i (y_i − x_iᵀw) + 2λw = −2 (s_j − G_j w) + 2λw.
// The reference meant windows of any width, but its window start, min(0, i − w), is 0 for every
// w ≠ 1, so only these two exist (both in its plots); we keep exactly those two.
#include <algorithm>

#include "baselines/baseline.h"

namespace icl {
namespace {

class Sgd final : public Baseline {
 public:
  Sgd(const ParamSet& p, const std::string& label)
      : Baseline("sgd", p, label),
        lr_(p.r("lr")),
        decay_(p.r("weight_decay")),
        clip_(p.r("clip")),
        full_(p.s("window") == "full") {}

 private:
  // w ← w − η·clip(g), g = −2 (s − G w) + 2λw.
  void step(const MatD& g, const VecD& s, VecD& w) const {
    VecD grad = -2.0 * (s - g * w) + 2.0 * decay_ * w;
    if (clip_ > 0) grad = grad.cwiseMax(-clip_).cwiseMin(clip_);
    w -= lr_ * grad;
  }

  void predict_prompt(const PromptView& p, float* out) const override {
    const int64_t d = p.pb.dx, K = p.pb.n_examples;
    VecD w = VecD::Zero(d), x(d), q(d);
    if (!full_) {
      for (int64_t k = 0; k < K; ++k) {
        out[k] = float(p.query_into(k, q).dot(w));
        p.x_into(k, x);
        step(x * x.transpose(), p.y(k) * x, w);
      }
      return;
    }
    // G_j and s_j of every prefix, then each prefix's n steps from 0.
    std::vector<MatD> g(size_t(K), MatD::Zero(d, d));
    std::vector<VecD> s(size_t(K), VecD::Zero(d));
    for (int64_t j = 0; j < K; ++j) {
      p.x_into(j, x);
      g[size_t(j)] = (j ? g[size_t(j - 1)] : MatD::Zero(d, d)) + x * x.transpose();
      s[size_t(j)] = (j ? s[size_t(j - 1)] : VecD::Zero(d)) + p.y(j) * x;
    }
    for (int64_t k = 0; k < K; ++k) {
      w.setZero();
      for (int64_t j = 0; j < k; ++j) step(g[size_t(j)], s[size_t(j)], w);
      out[k] = float(p.query_into(k, q).dot(w));
    }
  }
  double lr_, decay_, clip_;
  bool full_;
};

}  // namespace

void register_sgd(std::vector<BaselineInfo>& r) {
  r.push_back(baseline_info<Sgd>(
      "sgd",
      "Akyürek et al.'s SGD from w = 0 on the summed squared loss: one step per example (window "
      "one), or per prefix n steps on growing prefixes (full), gradient clipped",
      {ParamSpec::real("lr", 0.02, "step size η", 1e-300),
       ParamSpec::choice("window", "one", {"one", "full"},
                         "one: online, a step per example; full: n steps on prefixes 1..n"),
       ParamSpec::real("weight_decay", 0.0, "λ of the 2λw term", 0.0),
       ParamSpec::real("clip", 20.0, "clip each gradient coordinate to [−c, c] (0: none)", 0.0)}));
}

}  // namespace icl

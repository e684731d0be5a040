// "2-layer NN, GD": Garg et al. 2022's GDModel baseline (src/models.py and src/base_models.py in
// github.com/dtsip/in-context-learning). For every k a fresh NeuralNetwork (Linear(dx, 100), ReLU,
// Linear(100, 1), PyTorch's default initialisation) is trained on examples 0..k-1 with Adam,
// lr 5e-3, 100 steps, each on a random subset of min(100, k) examples (randperm), MSE loss, and
// predicts the query; 0 at k = 0. Garg's MSELoss averages over the whole batch of prompts, which
// only rescales each network's gradient by the batch size and so leaves Adam's steps unchanged
// (up to ε); here each prompt's loss is its own mean. The input width is the prompt's dx, so the
// same learner serves the Boolean tasks (with loss = logistic for ±1 labels).
//
// Randomness (initialisation, subsets) comes from a counter-based stream keyed by `seed` and a hash
// of the prompt's first example, element k for the fit at k: predictions are the same whatever the
// batch a prompt arrives in, its position there or the thread count, and use only examples 0..k-1.
#include "baselines/mlp_gd.h"

#include <numeric>

#include "baselines/baseline.h"

namespace icl {

namespace mlp_gd {

Vec<float> train(const Mat<float>& x, const Vec<float>& y, const Options& opt, Rng& rng) {
  const int64_t n = x.rows(), d = x.cols(), h = opt.hidden;
  Vec<float> theta = init<float>(d, h, rng);
  const int64_t np = theta.size();
  Vec<float> m = Vec<float>::Zero(np), v = Vec<float>::Zero(np), g(np);
  const int64_t mb = std::min(opt.batch, n);
  std::vector<int64_t> perm(static_cast<size_t>(n));
  Mat<float> xb(mb, d);
  Vec<float> yb(mb);
  const double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double c1 = 1.0, c2 = 1.0;  // β1^t, β2^t
  for (int64_t t = 1; t <= opt.steps; ++t) {
    if (mb == n) {
      xb = x;
      yb = y;
    } else {  // partial Fisher-Yates: the first mb entries are a uniform random subset
      std::iota(perm.begin(), perm.end(), int64_t(0));
      for (int64_t i = 0; i < mb; ++i)
        std::swap(perm[size_t(i)], perm[size_t(i + int64_t(rng.below(uint64_t(n - i))))]);
      for (int64_t i = 0; i < mb; ++i) {
        xb.row(i) = x.row(perm[size_t(i)]);
        yb(i) = y(perm[size_t(i)]);
      }
    }
    loss_and_grad<float>(theta, d, h, xb, yb, opt.logistic, &g);
    if (!opt.adam) {
      theta -= float(opt.lr) * g;
      continue;
    }
    c1 *= beta1;
    c2 *= beta2;
    m = float(beta1) * m + float(1 - beta1) * g;
    v = float(beta2) * v + float(1 - beta2) * g.cwiseProduct(g);
    const float step = float(opt.lr / (1.0 - c1)), root_c2 = float(std::sqrt(1.0 - c2));
    theta.array() -= step * m.array() / (v.array().sqrt() / root_c2 + float(eps));
  }
  return theta;
}

}  // namespace mlp_gd

namespace {

class MlpGd final : public Baseline {
 public:
  MlpGd(const ParamSet& p, const std::string& label)
      : Baseline("mlp_gd", p, label), seed_(uint64_t(p.i("seed"))) {
    opt_.hidden = p.i("hidden");
    opt_.steps = p.i("steps");
    opt_.batch = p.i("batch");
    opt_.lr = p.r("lr");
    opt_.adam = p.s("optimizer") == "adam";
    opt_.logistic = p.s("loss") == "logistic";
  }

 private:
  void predict_prompt(const PromptView& p, float* out) const override {
    const int64_t K = p.pb.n_examples, d = p.pb.dx;
    // FNV-1a over the bytes of (x_0, y_0).
    uint64_t hash = 0xcbf29ce484222325ull;
    auto mix = [&hash](const float* v, int64_t n) {
      const auto* bytes = reinterpret_cast<const unsigned char*>(v);
      for (size_t i = 0; i < size_t(n) * sizeof(float); ++i) {
        hash ^= bytes[i];
        hash *= 0x100000001b3ull;
      }
    };
    mix(p.pb.x(p.b, 0), d);
    mix(p.pb.y(p.b, 0), 1);
    const RngKey key{seed_, hash};

    mlp_gd::Mat<float> xs(K, d);
    mlp_gd::Vec<float> ys(K);
    for (int64_t k = 0; k < K; ++k) {
      xs.row(k) = Eigen::Map<const Eigen::RowVectorXf>(p.pb.x(p.b, k), d);
      ys(k) = *p.pb.y(p.b, k);
    }
    out[0] = 0.f;
    mlp_gd::Mat<float> q(1, d);
    for (int64_t k = 1; k < K; ++k) {
      Rng rng(key, uint64_t(k));
      const mlp_gd::Vec<float> theta = mlp_gd::train(xs.topRows(k), ys.head(k), opt_, rng);
      q.row(0) = Eigen::Map<const Eigen::RowVectorXf>(p.pb.query_x(p.b, k), d);
      out[k] = mlp_gd::forward<float>(theta, d, opt_.hidden, q, nullptr)(0);
    }
  }
  uint64_t seed_;
  mlp_gd::Options opt_;
};

}  // namespace

void register_mlp_gd(std::vector<BaselineInfo>& r) {
  r.push_back(baseline_info<MlpGd>(
      "mlp_gd",
      "2-layer ReLU net trained by Adam on the examples so far, fresh for every k (Garg et al.'s "
      "\"2-layer NN, GD\")",
      {ParamSpec::integer("hidden", 100, "hidden units", 1, 100000),
       ParamSpec::integer("steps", 100, "optimiser steps per fit", 1, 1e9),
       ParamSpec::integer("batch", 100, "examples per step (a random subset when fewer are kept)",
                          1, 1e9),
       ParamSpec::real("lr", 5e-3, "learning rate", 1e-300),
       ParamSpec::choice("optimizer", "adam", {"adam", "sgd"}, "Adam or plain gradient steps"),
       ParamSpec::choice("loss", "squared", {"squared", "logistic"},
                         "squared error, or logistic loss for ±1 labels"),
       ParamSpec::integer("seed", 0, "seed of the initialisation and subset draws", 0, 1e18)}));
}

}  // namespace icl

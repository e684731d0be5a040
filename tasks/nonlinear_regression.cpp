// Nonlinear function classes of Garg et al. 2022 (arXiv 2208.01066, §5 and Appendix;
// docs/TASKS.md §1.2), as defined in the paper's public code (github.com/dtsip/in-context-learning,
// src/tasks.py):
//   quadratic_regression  w ~ N(0, I_d), y = ((x∘x)·w)/√3 (QuadraticRegression: the √3 brings
//                         E y² back to the linear scale, E y² = d)
//   relu_2nn_regression   W1 [d, hidden], W2 [hidden] with N(0, 1) entries, y = √(2/hidden) ·
//                         ReLU(x W1) W2 (Relu2nnRegression, hidden_layer_size = 100; E y² = d)
//   decision_tree         a complete binary tree of the given depth (DecisionTree, depth 4) stored
//                         as an array (root 0, children of n at 2n+1 and 2n+2); every internal
//                         node tests a coordinate drawn uniformly from 0..d-1 and goes to 2n+2
//                         when x[coordinate] > 0, else to 2n+1; leaves hold N(0, 1) values.
// x ~ N(0, I_d) with only the first `active_dims` coordinates nonzero (Garg's curriculum). As in
// Garg's code the functions are drawn over all d coordinates whatever active_dims is: during the
// curriculum a tree node may test a coordinate that is always 0 (and so always goes left).
// Normalisation as Garg's plot_utils.collect_results: d for the quadratic and the ReLU net, 1 for
// the tree. truth: w; W1 (row-major [d, hidden]) then W2; the tree array, with each internal node's
// coordinate (as a float) and each leaf's value.
#include <cmath>

#include "core/error.h"
#include "core/parallel.h"
#include "tasks/task.h"

namespace icl {
namespace {

enum class Kind { Quadratic, Relu2nn, Tree };

class NonlinearRegression final : public Task {
 public:
  NonlinearRegression(const std::string& name, const ParamSet& p, Kind kind)
      : Task(name, p),
        kind_(kind),
        d_(p.i("d")),
        active_(p.i("active_dims") == 0 ? p.i("d") : p.i("active_dims")),
        hidden_(kind == Kind::Relu2nn ? p.i("hidden") : 0),
        depth_(kind == Kind::Tree ? p.i("depth") : 0) {
    if (active_ > d_) fail("{}.active_dims: must be <= d = {}, got {}", name, d_, active_);
  }

  Metric metric() const override { return Metric::SquaredError; }
  double normalisation() const override { return kind_ == Kind::Tree ? 1.0 : double(d_); }

  PromptBatch sample(const RngKey& key, int64_t first, int64_t batch, int64_t K) const override {
    check_examples(K);
    VectorPrompts pb;
    pb.allocate(batch, K, d_, 1, false);
    pb.truth_dim = truth_dim();
    pb.truth.assign(size_t(batch * pb.truth_dim), 0.f);
    std::vector<double> cov(size_t(d_ * d_), 0.0);
    for (int64_t i = 0; i < active_; ++i) cov[size_t(i * d_ + i)] = 1.0;
    pb.x_cov = std::move(cov);
    parallel_for(batch, [&](int64_t b) { sample_one(Rng(key, uint64_t(first + b)), pb, b); });
    return PromptBatch(std::move(pb));
  }

 private:
  int64_t truth_dim() const {
    switch (kind_) {
      case Kind::Quadratic:
        return d_;
      case Kind::Relu2nn:
        return d_ * hidden_ + hidden_;
      case Kind::Tree:
        break;
    }
    return (int64_t(1) << (depth_ + 1)) - 1;
  }

  void sample_one(Rng rng, VectorPrompts& pb, int64_t b) const {
    // Draw order is part of the format: the function, then example by example, so a prompt with
    // K+1 examples extends the one with K.
    float* truth = pb.truth.data() + b * pb.truth_dim;
    std::vector<double> f(static_cast<size_t>(pb.truth_dim));
    const int64_t internal = (int64_t(1) << depth_) - 1;
    if (kind_ == Kind::Tree) {
      for (int64_t n = 0; n < internal; ++n) f[size_t(n)] = double(rng.below(uint64_t(d_)));
      for (int64_t n = internal; n < pb.truth_dim; ++n) f[size_t(n)] = rng.normal();
    } else {
      for (double& v : f) v = rng.normal();
    }
    for (int64_t i = 0; i < pb.truth_dim; ++i) truth[i] = float(f[size_t(i)]);

    const int64_t K = pb.n_examples;
    std::vector<double> x(size_t(d_), 0.0), pre(static_cast<size_t>(hidden_));
    const double relu_scale = hidden_ ? std::sqrt(2.0 / double(hidden_)) : 0.0;
    for (int64_t k = 0; k < K; ++k) {
      for (int64_t i = 0; i < active_; ++i) x[size_t(i)] = rng.normal();
      double y = 0.0;
      switch (kind_) {
        case Kind::Quadratic:
          for (int64_t i = 0; i < d_; ++i) y += x[size_t(i)] * x[size_t(i)] * f[size_t(i)];
          y /= std::sqrt(3.0);
          break;
        case Kind::Relu2nn: {
          std::fill(pre.begin(), pre.end(), 0.0);
          for (int64_t i = 0; i < d_; ++i)
            for (int64_t j = 0; j < hidden_; ++j)
              pre[size_t(j)] += x[size_t(i)] * f[size_t(i * hidden_ + j)];
          for (int64_t j = 0; j < hidden_; ++j)
            y += std::max(pre[size_t(j)], 0.0) * f[size_t(d_ * hidden_ + j)];
          y *= relu_scale;
          break;
        }
        case Kind::Tree: {
          int64_t n = 0;
          while (n < internal) n = 2 * n + 1 + (x[size_t(int64_t(f[size_t(n)]))] > 0.0 ? 1 : 0);
          y = f[size_t(n)];
          break;
        }
      }
      float* xs = pb.xs.data() + (b * K + k) * d_;
      for (int64_t i = 0; i < d_; ++i) xs[i] = float(x[size_t(i)]);
      pb.ys[size_t(b * K + k)] = float(y);
    }
  }

  Kind kind_;
  int64_t d_, active_, hidden_, depth_;
};

ParamSpecs common_params() {
  return {
      ParamSpec::integer("d", 20, "dimension of x", 1, 4096),
      ParamSpec::integer("active_dims", 0,
                         "coordinates of x that are nonzero (curriculum); 0 means all d", 0, 4096),
  };
}

TaskInfo info(std::string name, std::string summary, Kind kind, ParamSpecs extra) {
  ParamSpecs p = common_params();
  for (auto& s : extra) p.push_back(std::move(s));
  return {std::move(name), std::move(summary), std::move(p),
          [kind](const std::string& n, const ParamSet& ps) -> std::unique_ptr<Task> {
            return std::make_unique<NonlinearRegression>(n, ps, kind);
          }};
}

}  // namespace

void register_nonlinear_regression(std::vector<TaskInfo>& r) {
  r.push_back(info("quadratic_regression",
                   "y = ((x∘x)·w)/√3, x ~ N(0, I), w ~ N(0, I) (Garg et al. 2022)", Kind::Quadratic,
                   {}));
  r.push_back(info("relu_2nn_regression",
                   "y = √(2/hidden)·ReLU(x W1) W2, N(0, 1) weights, hidden 100 (Garg et al. 2022)",
                   Kind::Relu2nn,
                   {ParamSpec::integer("hidden", 100, "hidden units of the ReLU net", 1, 100000)}));
  r.push_back(info("decision_tree",
                   "depth-4 tree, node tests x[random coordinate] > 0, N(0, 1) leaves (Garg et "
                   "al. 2022)",
                   Kind::Tree,
                   {ParamSpec::integer("depth", 4, "depth of the tree (2^depth leaves)", 1, 12)}));
}

}  // namespace icl

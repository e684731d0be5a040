// CART regression tree: Garg et al. 2022's DecisionTreeModel baseline (src/models.py in
// github.com/dtsip/in-context-learning: sklearn.tree.DecisionTreeRegressor(max_depth = 4 or None)
// refit on examples 0..k-1 for every k, 0 at k = 0), rebuilt with DecisionTreeRegressor's defaults:
//   - squared-error criterion: the split maximises S_l²/n_l + S_r²/n_r (sklearn's proxy for the
//     impurity decrease; S = sum of the labels on a side), over every feature and every threshold
//     halfway between consecutive sorted values (x_l/2 + x_r/2, or x_l if that rounds up to x_r);
//     values closer than 1e-7 are not separated and such features count as constant;
//   - left is x[feature] <= threshold; a node is a leaf at max_depth (root depth 0; 0 here means
//     unlimited, sklearn's None), with fewer than 2 samples, with label variance <= DBL_EPSILON, or
//     when every feature is constant on it; leaves predict the mean label.
// sklearn visits features in a random order and keeps the first best split, so exact ties between
// features are broken at random; here splits within 1e-10·Σy² of the best go to the lowest feature,
// then the lowest threshold, which makes the fit deterministic.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <numeric>

#include "baselines/baseline.h"

namespace icl {
namespace {

constexpr double kFeatureThreshold = 1e-7;  // sklearn's FEATURE_THRESHOLD

class Tree {
 public:
  // xs: [d, n] (one column per sample).
  Tree(const MatD& xs, const std::vector<double>& ys, int64_t n, int64_t max_depth)
      : xs_(xs), ys_(ys), max_depth_(max_depth) {
    std::vector<int64_t> idx(static_cast<size_t>(n));
    std::iota(idx.begin(), idx.end(), int64_t(0));
    build(idx, 0);
  }

  double predict(const VecD& q) const {
    int64_t n = 0;
    while (nodes_[size_t(n)].feature >= 0) {
      const Node& node = nodes_[size_t(n)];
      n = q(node.feature) <= node.threshold ? node.left : node.right;
    }
    return nodes_[size_t(n)].value;
  }

 private:
  struct Node {
    int64_t feature = -1;  // -1: leaf
    double threshold = 0.0, value = 0.0;
    int64_t left = -1, right = -1;
  };

  int64_t build(std::vector<int64_t>& idx, int64_t depth) {
    const int64_t id = int64_t(nodes_.size());
    nodes_.emplace_back();
    const int64_t n = int64_t(idx.size());
    double sum = 0.0, sumsq = 0.0;
    for (int64_t i : idx) {
      sum += ys_[size_t(i)];
      sumsq += ys_[size_t(i)] * ys_[size_t(i)];
    }
    const double mean = sum / double(n);
    nodes_[size_t(id)].value = mean;
    double var = 0.0;  // two-pass: exactly 0 for a pure node
    for (int64_t i : idx) var += (ys_[size_t(i)] - mean) * (ys_[size_t(i)] - mean);
    var /= double(n);
    if (n < 2 || (max_depth_ > 0 && depth >= max_depth_) || var <= DBL_EPSILON) return id;

    int64_t best_feature = -1;
    double best_proxy = -INFINITY, best_threshold = 0.0;
    const double tol = 1e-10 * sumsq;
    std::vector<std::pair<double, int64_t>> sorted(static_cast<size_t>(n));
    for (int64_t f = 0; f < xs_.rows(); ++f) {
      for (int64_t j = 0; j < n; ++j) sorted[size_t(j)] = {xs_(f, idx[size_t(j)]), idx[size_t(j)]};
      std::sort(sorted.begin(), sorted.end());
      if (sorted.back().first <= sorted.front().first + kFeatureThreshold) continue;
      double left = 0.0;
      for (int64_t p = 1; p < n; ++p) {
        left += ys_[size_t(sorted[size_t(p - 1)].second)];
        const double lo = sorted[size_t(p - 1)].first, hi = sorted[size_t(p)].first;
        if (hi <= lo + kFeatureThreshold) continue;
        const double right = sum - left;
        const double proxy = left * left / double(p) + right * right / double(n - p);
        if (proxy > best_proxy + tol) {
          best_proxy = proxy;
          best_feature = f;
          best_threshold = lo / 2.0 + hi / 2.0;
          if (best_threshold == hi || !std::isfinite(best_threshold)) best_threshold = lo;
        }
      }
    }
    if (best_feature < 0) return id;

    std::vector<int64_t> l, r;
    for (int64_t i : idx) (xs_(best_feature, i) <= best_threshold ? l : r).push_back(i);
    nodes_[size_t(id)].feature = best_feature;
    nodes_[size_t(id)].threshold = best_threshold;
    const int64_t li = build(l, depth + 1);
    nodes_[size_t(id)].left = li;
    const int64_t ri = build(r, depth + 1);
    nodes_[size_t(id)].right = ri;
    return id;
  }

  const MatD& xs_;
  const std::vector<double>& ys_;
  int64_t max_depth_;
  std::vector<Node> nodes_;
};

class Cart final : public Baseline {
 public:
  Cart(const ParamSet& p, const std::string& label)
      : Baseline("cart", p, label), max_depth_(p.i("max_depth")) {}

 private:
  void predict_prompt(const PromptView& p, float* out) const override {
    const int64_t K = p.pb.n_examples;
    MatD xs(p.pb.dx, K);
    std::vector<double> ys(static_cast<size_t>(K));
    for (int64_t k = 0; k < K; ++k) {
      xs.col(k) = p.x(k);
      ys[size_t(k)] = p.y(k);
    }
    VecD q(p.pb.dx);
    out[0] = 0.f;
    for (int64_t k = 1; k < K; ++k)
      out[k] = float(Tree(xs, ys, k, max_depth_).predict(p.query_into(k, q)));
  }
  int64_t max_depth_;
};

}  // namespace

void register_cart(std::vector<BaselineInfo>& r) {
  r.push_back(baseline_info<Cart>(
      "cart",
      "CART regression tree (sklearn DecisionTreeRegressor) refit on the examples so far (Garg et "
      "al. use max_depth 4 and unlimited)",
      {ParamSpec::integer("max_depth", 0, "maximum depth of the tree; 0 means unlimited", 0,
                          1e9)}));
}

}  // namespace icl

#include "tests/reference/baselines_ref.h"

#include <algorithm>
#include <numeric>

namespace icl::ref {

Mat prefix_x(const VectorPrompts& pb, int64_t b, int64_t k) {
  Mat x(k, pb.dx);
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < pb.dx; ++j) x(i, j) = pb.x(b, i)[j];
  return x;
}
Vec prefix_y(const VectorPrompts& pb, int64_t b, int64_t k) {
  Vec y(k);
  for (int64_t i = 0; i < k; ++i) y(i) = *pb.y(b, i);
  return y;
}
Vec query(const VectorPrompts& pb, int64_t b, int64_t k) {
  Vec q(pb.dx);
  for (int64_t j = 0; j < pb.dx; ++j) q(j) = pb.query_x(b, k)[j];
  return q;
}

std::vector<double> min_norm_least_squares(const VectorPrompts& pb, int64_t b) {
  std::vector<double> out(size_t(pb.n_examples), 0.0);
  for (int64_t k = 1; k < pb.n_examples; ++k) {
    Eigen::JacobiSVD<Mat> svd(prefix_x(pb, b, k), Eigen::ComputeThinU | Eigen::ComputeThinV);
    svd.setThreshold(1e-6);
    out[size_t(k)] = query(pb, b, k).dot(svd.solve(prefix_y(pb, b, k)));
  }
  return out;
}

std::vector<double> ridge(const VectorPrompts& pb, int64_t b, double lambda) {
  std::vector<double> out(size_t(pb.n_examples), 0.0);
  for (int64_t k = 1; k < pb.n_examples; ++k) {
    const Mat x = prefix_x(pb, b, k);
    const Mat a = x.transpose() * x + lambda * Mat::Identity(pb.dx, pb.dx);
    out[size_t(k)] = query(pb, b, k).dot(a.ldlt().solve(x.transpose() * prefix_y(pb, b, k)));
  }
  return out;
}

std::vector<double> gradient_descent(const VectorPrompts& pb, int64_t b, int64_t steps, double lr) {
  std::vector<double> out(size_t(pb.n_examples), 0.0);
  for (int64_t k = 1; k < pb.n_examples; ++k) {
    const Mat x = prefix_x(pb, b, k);
    const Vec y = prefix_y(pb, b, k);
    Vec w = Vec::Zero(pb.dx);
    for (int64_t t = 0; t < steps; ++t) w -= lr * x.transpose() * (x * w - y) / double(k);
    out[size_t(k)] = query(pb, b, k).dot(w);
  }
  return out;
}

std::vector<double> akyurek_sgd(const VectorPrompts& pb, int64_t b, double lr, bool full,
                                double weight_decay, double clip) {
  const int64_t K = pb.n_examples, d = pb.dx;
  // iterate(rows): for j over the rows, one step on rows [0, j] (the reference's batch x[0:j+1]).
  const auto iterate = [&](Vec& w, int64_t first, int64_t last) {
    for (int64_t j = first; j < last; ++j) {
      Vec grad = Vec::Zero(d);
      for (int64_t i = full ? 0 : j; i <= j; ++i) {
        Vec x(d);
        for (int64_t c = 0; c < d; ++c) x(c) = pb.x(b, i)[c];
        grad += -2.0 * x * (*pb.y(b, i) - x.dot(w));
      }
      if (weight_decay > 0) grad += 2.0 * weight_decay * w;
      for (int64_t c = 0; c < d; ++c)
        if (clip > 0) grad(c) = std::min(clip, std::max(-clip, grad(c)));
      w -= lr * grad;
    }
  };
  std::vector<double> out(size_t(K), 0.0);
  Vec w = Vec::Zero(d);
  for (int64_t k = 1; k < K; ++k) {
    if (full) {
      w.setZero();
      iterate(w, 0, k);
    } else {
      iterate(w, k - 1, k);
    }
    out[size_t(k)] = query(pb, b, k).dot(w);
  }
  return out;
}

std::vector<double> knn(const VectorPrompts& pb, int64_t b, int64_t nn) {
  std::vector<double> out(size_t(pb.n_examples), 0.0);
  for (int64_t k = 1; k < pb.n_examples; ++k) {
    const Mat x = prefix_x(pb, b, k);
    const Vec q = query(pb, b, k);
    std::vector<int64_t> idx(static_cast<size_t>(k));
    std::iota(idx.begin(), idx.end(), 0);
    std::stable_sort(idx.begin(), idx.end(), [&](int64_t i, int64_t j) {
      return (x.row(i).transpose() - q).squaredNorm() < (x.row(j).transpose() - q).squaredNorm();
    });
    const int64_t m = std::min(nn, k);
    double s = 0;
    for (int64_t i = 0; i < m; ++i) s += *pb.y(b, idx[size_t(i)]);
    out[size_t(k)] = s / double(m);
  }
  return out;
}

std::vector<double> optimal_one_step_gd(const VectorPrompts& pb, int64_t b) {
  const Eigen::Map<const Mat> lambda(pb.x_cov.data(), pb.dx, pb.dx);
  std::vector<double> out(size_t(pb.n_examples), 0.0);
  for (int64_t k = 1; k < pb.n_examples; ++k) {
    const double n = double(k);
    const Mat gamma = (1 + 1 / n) * lambda + lambda.trace() / n * Mat::Identity(pb.dx, pb.dx);
    const Vec s = prefix_x(pb, b, k).transpose() * prefix_y(pb, b, k) / n;
    out[size_t(k)] = query(pb, b, k).dot(gamma.inverse() * s);
  }
  return out;
}

}  // namespace icl::ref

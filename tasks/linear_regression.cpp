// Linear-regression family of Garg et al. 2022 (docs/TASKS.md §1.1) with the evaluation shifts of
// its eval.py as task parameters:
//   linear_regression         x ~ N(0, I_d), w ~ N(0, w_std² I), y = y_scale · w·x + noise_std · ε
//   sparse_linear_regression  the same with only `sparsity` random nonzero coordinates in w
//   noisy_linear_regression   the same with noise_std = 1 by default
// x_cov:  isotropic | skewed (x = z T, T = U diag(1/(i+1)) Uᵀ, U Haar-random and fixed per stream,
//         scaled so tr Cov(x) = d: covariance eigenvalues ∝ 1/(i+1)²) | half_subspace (T projects
//         on a random d/2-dimensional subspace, same normalisation).
// x_cov_seed: −1 (default) draws U from the prompt stream, so training and each evaluation set see
//         different covariances, as Garg's eval.py shifts do; s ≥ 0 draws it from seed s alone, so
//         every stream shares one covariance: a model trained on it is evaluated on it (Ahn et al.
//         2023's fixed non-isotropic Σ).
// query:  standard | orthogonal (query k = x_k with its component in span(x_0..x_{k-1}) removed,
//         rescaled to ‖x_k‖) | overlapping (query k = a uniformly chosen earlier x_j) |
//         random_quadrants (context points in one random orthant, queries unconstrained) |
//         opposite_quadrants (queries in the opposite orthant).
// renormalize_ys (noisy_linear_regression only): Garg's NoisyLinearRegression with renormalize_ys
// (dtsip/in-context-learning, src/tasks.py; its eval.py's noisyLR setting turns it on with
// noise_std 1) multiplies the noisy labels by √d / std(ys), the standard deviation taken over the
// whole batch. Departure: a batch statistic would make prompt i depend on the batch it is drawn in,
// which the prompt-stream contract forbids, so here the factor is its large-batch limit,
// √d / √E y² with E y² = y_scale²·w_std²·tr Cov(x) + noise_std² (tr over the active coordinates;
// exact for every x_cov), the same for every prompt. Queries' labels get the same factor.
#include <Eigen/Dense>
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "core/parallel.h"
#include "tasks/param_limits.h"
#include "tasks/task.h"

namespace icl {
namespace {

using Mat = Eigen::MatrixXd;
using Vec = Eigen::VectorXd;

enum class Query { Standard, Orthogonal, Overlapping, RandomQuadrants, OppositeQuadrants };

Query parse_query(const std::string& s) {
  if (s == "orthogonal") return Query::Orthogonal;
  if (s == "overlapping") return Query::Overlapping;
  if (s == "random_quadrants") return Query::RandomQuadrants;
  if (s == "opposite_quadrants") return Query::OppositeQuadrants;
  return Query::Standard;
}

// Haar-random orthogonal matrix: QR of a Gaussian matrix with the signs of R's diagonal fixed.
Mat random_orthogonal(int64_t d, Rng& rng) {
  Mat g(d, d);
  for (int64_t j = 0; j < d; ++j)
    for (int64_t i = 0; i < d; ++i) g(i, j) = rng.normal();
  Eigen::HouseholderQR<Mat> qr(g);
  Mat q = qr.householderQ();
  const Mat r = qr.matrixQR();
  for (int64_t j = 0; j < d; ++j)
    if (r(j, j) < 0) q.col(j) *= -1.0;
  return q;
}

class LinearRegression final : public Task {
 public:
  LinearRegression(const std::string& name, const ParamSet& p, bool sparse)
      : Task(name, p),
        sparse_(sparse),
        d_(p.i("d")),
        active_(p.i("active_dims") == 0 ? p.i("d") : p.i("active_dims")),
        sparsity_(sparse ? p.i("sparsity") : 0),
        w_std_(p.r("w_std")),
        noise_(p.r("noise_std")),
        x_scale_(p.r("x_scale")),
        y_scale_(p.r("y_scale")),
        x_cov_(p.s("x_cov")),
        x_cov_seed_(p.i("x_cov_seed")),
        query_(parse_query(p.s("query"))),
        renormalize_(p.has("renormalize_ys") && p.b("renormalize_ys")) {
    if (active_ > d_) fail("{}.active_dims: must be <= d = {}, got {}", name, d_, active_);
    if (sparse_ && sparsity_ > active_)
      fail("{}.sparsity: must be <= the active dimension {}, got {}", name, active_, sparsity_);
    if (x_cov_ == "half_subspace" && d_ < 2)
      fail("{}.x_cov: half_subspace needs d >= 2, got d = {}", name, d_);
  }

  Metric metric() const override { return Metric::SquaredError; }
  // The zero predictor's error: w_std²·d (w_std²·sparsity), or d for renormalised labels, whose
  // second moment is d by construction.
  double normalisation() const override {
    if (renormalize_) return double(d_);
    return w_std_ * w_std_ * double(sparse_ ? sparsity_ : d_);
  }

  void check_examples(int64_t k) const override {
    Task::check_examples(k);
    int64_t rank = active_;
    if (x_cov_ == "half_subspace") rank = std::min(rank, d_ / 2);
    if (query_ == Query::Orthogonal && k > rank)
      fail("{}: query=orthogonal needs n_examples <= {} (the dimension the inputs span), got {}",
           name(), rank, k);
  }

  PromptBatch sample(const RngKey& key, int64_t first, int64_t batch, int64_t K) const override {
    check_examples(K);
    VectorPrompts pb;
    const bool queries = query_ != Query::Standard;
    pb.allocate(batch, K, d_, 1, queries);
    pb.truth_dim = d_;
    pb.truth.assign(size_t(batch * d_), 0.f);

    const Mat t = transformation(key);  // empty for isotropic inputs
    const Mat cov = t.size() ? Mat(t.transpose() * t) : Mat(Mat::Identity(d_, d_));
    Mat lambda = x_scale_ * x_scale_ * cov;
    if (active_ < d_) {
      lambda.rightCols(d_ - active_).setZero();
      lambda.bottomRows(d_ - active_).setZero();
    }
    pb.x_cov.assign(lambda.data(), lambda.data() + d_ * d_);
    // renormalize_ys: √d / √E y² (see the top of the file); 1 (exact) otherwise.
    const double factor =
        renormalize_
            ? std::sqrt(double(d_) /
                        (y_scale_ * y_scale_ * w_std_ * w_std_ * lambda.trace() + noise_ * noise_))
            : 1.0;

    parallel_for(batch,
                 [&](int64_t b) { sample_one(Rng(key, uint64_t(first + b)), t, factor, pb, b); });
    return PromptBatch(std::move(pb));
  }

 private:
  Mat transformation(const RngKey& key) const {
    if (x_cov_ == "isotropic") return {};
    Rng rng(x_cov_seed_ < 0 ? key.sub("x_cov") : RngKey{uint64_t(x_cov_seed_), stream_id("x_cov")},
            0);
    const Mat u = random_orthogonal(d_, rng);
    Vec e(d_);
    for (int64_t i = 0; i < d_; ++i)
      e(i) = x_cov_ == "skewed" ? 1.0 / double(i + 1) : (i < d_ / 2 ? 1.0 : 0.0);
    e *= std::sqrt(double(d_) / e.squaredNorm());
    return u * e.asDiagonal() * u.transpose();
  }

  void sample_one(Rng rng, const Mat& t, double factor, VectorPrompts& pb, int64_t b) const {
    const int64_t K = pb.n_examples;
    // Draw order is part of the format: w, orthant, then example by example, so a prompt with K+1
    // examples extends the one with K.
    Vec w = Vec::Zero(d_);
    for (int64_t i = 0; i < active_; ++i) w(i) = w_std_ * rng.normal();
    if (sparse_) {
      // Keep `sparsity` coordinates chosen uniformly among the active ones (partial Fisher-Yates).
      std::vector<int64_t> idx(static_cast<size_t>(active_));
      for (int64_t i = 0; i < active_; ++i) idx[size_t(i)] = i;
      for (int64_t i = 0; i < sparsity_; ++i)
        std::swap(idx[size_t(i)], idx[size_t(i + int64_t(rng.below(uint64_t(active_ - i))))]);
      Vec keep = Vec::Zero(d_);
      for (int64_t i = 0; i < sparsity_; ++i) keep(idx[size_t(i)]) = w(idx[size_t(i)]);
      w = keep;
    }
    Vec orthant = Vec::Ones(d_);
    if (query_ == Query::RandomQuadrants || query_ == Query::OppositeQuadrants)
      for (int64_t i = 0; i < d_; ++i) orthant(i) = rng.sign();

    // Only overlapping queries read earlier inputs back.
    Mat xs(query_ == Query::Overlapping ? K : 0, d_);
    Mat basis(d_, 0);  // orthonormal basis of the context so far (orthogonal queries)
    // Work vectors allocated once per prompt, not per example. They stay heap-allocated Eigen
    // vectors of size d (same alignment, same vectorised reductions), so w.dot(ctx) sums in the
    // same order and the labels keep their bits.
    Vec z(d_), x(d_), ctx(d_), q(d_);
    for (int64_t k = 0; k < K; ++k) {
      for (int64_t i = 0; i < d_; ++i) z(i) = rng.normal();
      if (t.size())
        x.noalias() = t.transpose() * z;  // row vector z T
      else
        x = z;
      x *= x_scale_;
      x.tail(d_ - active_).setZero();
      const double noise = noise_ * rng.normal(), noise_q = noise_ * rng.normal();
      const uint64_t earlier = k > 0 ? rng.below(uint64_t(k)) : 0;

      ctx = x;
      q = x;
      switch (query_) {
        case Query::Standard:
          break;
        case Query::Orthogonal: {
          Vec r = x - basis * (basis.transpose() * x);
          r -= basis * (basis.transpose() * r);  // second pass keeps r orthogonal in floating point
          q = r * (x.norm() / r.norm());
          basis.conservativeResize(Eigen::NoChange, basis.cols() + 1);
          basis.col(basis.cols() - 1) = r.normalized();
          break;
        }
        case Query::Overlapping:
          if (k > 0) q = xs.row(int64_t(earlier)).transpose();
          break;
        case Query::RandomQuadrants:
          ctx = x.cwiseAbs().cwiseProduct(orthant);
          break;
        case Query::OppositeQuadrants:
          ctx = x.cwiseAbs().cwiseProduct(orthant);
          q = -ctx;
          break;
      }
      if (query_ == Query::Overlapping) xs.row(k) = ctx.transpose();
      const int64_t off = (b * K + k) * d_;
      for (int64_t i = 0; i < d_; ++i) pb.xs[size_t(off + i)] = float(ctx(i));
      pb.ys[size_t(b * K + k)] = float(factor * (y_scale_ * w.dot(ctx) + noise));
      if (pb.has_queries()) {
        for (int64_t i = 0; i < d_; ++i) pb.xq[size_t(off + i)] = float(q(i));
        pb.yq[size_t(b * K + k)] = float(factor * (y_scale_ * w.dot(q) + noise_q));
      }
    }
    for (int64_t i = 0; i < d_; ++i) pb.truth[size_t(b * d_ + i)] = float(w(i));
  }

  bool sparse_;
  int64_t d_, active_, sparsity_;
  double w_std_, noise_, x_scale_, y_scale_;
  std::string x_cov_;
  int64_t x_cov_seed_;
  Query query_;
  bool renormalize_;
};

ParamSpecs linear_params(double default_noise, bool sparse, bool noisy) {
  ParamSpecs p = {
      ParamSpec::integer("d", 20, "dimension of x", 1, 4096),
      ParamSpec::integer("active_dims", 0,
                         "coordinates of x that are nonzero (curriculum); 0 means all d", 0, 4096),
      ParamSpec::real("w_std", 1.0, "standard deviation of the entries of w", 1e-12, kMaxScale),
      ParamSpec::real("noise_std", default_noise, "standard deviation of label noise", 0.0,
                      kMaxScale),
      ParamSpec::real("x_scale", 1.0, "inputs multiplied by this (scaled-x shift)", 1e-12,
                      kMaxScale),
      ParamSpec::real("y_scale", 1.0, "labels multiplied by this (scaled-y shift)", 1e-12,
                      kMaxScale),
      ParamSpec::choice("x_cov", "isotropic", {"isotropic", "skewed", "half_subspace"},
                        "input covariance"),
      ParamSpec::integer("x_cov_seed", -1,
                         "seed of the covariance's rotation, shared by every stream (-1: drawn "
                         "per stream)",
                         -1, 4.0e18),
      ParamSpec::choice(
          "query", "standard",
          {"standard", "orthogonal", "overlapping", "random_quadrants", "opposite_quadrants"},
          "how query points relate to the in-context points"),
  };
  if (sparse)
    p.push_back(ParamSpec::integer("sparsity", 3, "number of nonzero coordinates of w", 1, 4096));
  if (noisy)  // Garg's NoisyLinearRegression(renormalize_ys), as its eval.py's noisyLR setting
    p.push_back(ParamSpec::boolean(
        "renormalize_ys", false,
        "multiply the labels by √d / their standard deviation (Garg's renormalize_ys; here the "
        "expected one, √(y_scale²·w_std²·tr Cov x + noise_std²), not the batch's)"));
  return p;
}

TaskInfo linear_info(std::string name, std::string summary, double noise, bool sparse,
                     bool noisy = false) {
  return {name, std::move(summary), linear_params(noise, sparse, noisy),
          [sparse](const std::string& n, const ParamSet& p) -> std::unique_ptr<Task> {
            return std::make_unique<LinearRegression>(n, p, sparse);
          }};
}

}  // namespace

void register_linear_regression(std::vector<TaskInfo>& r) {
  r.push_back(linear_info("linear_regression",
                          "y = w·x, x ~ N(0, I), w ~ N(0, I) (Garg et al. 2022)", 0.0, false));
  r.push_back(linear_info("sparse_linear_regression",
                          "y = w·x with `sparsity` nonzero coordinates in w (Garg et al. 2022)",
                          0.0, true));
  r.push_back(linear_info("noisy_linear_regression",
                          "y = w·x + noise_std·ε, noise_std = 1 by default (Garg et al. 2022)", 1.0,
                          false, true));
}

}  // namespace icl

// Softmax regression as an in-context task (Li et al. 2024, arXiv 2304.13276, docs/TASKS.md §5).
// The paper studies min_x ½‖softmax(Ax) − b‖² for one matrix A [n, d] and target b: a prompt here
// is one such problem, its K examples the rows a_i of A with their labels
//   y_i = K · softmax(A x*)_i + noise_std·ε_i,   a_i ~ N(0, I_d),   x* ~ N(0, scale²/d · I_d),
// so a_i·x* ~ N(0, scale²) and the labels average 1 (the factor K puts them on the scale of one,
// whatever the prompt length). The softmax couples the labels through their normaliser, which no
// prefix sees whole; but the ratios y_i / y_j = exp((a_i − a_j)·x*) are local, so a learner that
// knows x* predicts y_k exactly from the prefix sum (baselines/softmax_gd.cpp).
// truth: x*. The metric is divided by the labels' variance for large K, exp(scale²) − 1 (that of
// the log-normal exp(a·x*)/E exp(a·x*)), so the constant prediction 1 scores about 1.
#include <Eigen/Dense>
#include <cmath>

#include "core/parallel.h"
#include "tasks/param_limits.h"
#include "tasks/task.h"

namespace icl {
namespace {

class SoftmaxRegression final : public Task {
 public:
  SoftmaxRegression(const std::string& name, const ParamSet& p)
      : Task(name, p), d_(p.i("d")), scale_(p.r("scale")), noise_(p.r("noise_std")) {}

  Metric metric() const override { return Metric::SquaredError; }
  double normalisation() const override { return scale_ > 0.0 ? std::expm1(scale_ * scale_) : 1.0; }

  PromptBatch sample(const RngKey& key, int64_t first, int64_t batch, int64_t K) const override {
    check_examples(K);
    VectorPrompts pb;
    pb.allocate(batch, K, d_, 1, false);
    pb.truth_dim = d_;
    pb.truth.assign(size_t(batch * d_), 0.f);
    pb.x_cov.assign(size_t(d_ * d_), 0.0);
    for (int64_t i = 0; i < d_; ++i) pb.x_cov[size_t(i * d_ + i)] = 1.0;
    parallel_for(batch, [&](int64_t b) { sample_one(Rng(key, uint64_t(first + b)), pb, b); });
    return PromptBatch(std::move(pb));
  }

 private:
  void sample_one(Rng rng, VectorPrompts& pb, int64_t b) const {
    // Draw order: x*, then example by example (a_i, noise).
    const int64_t K = pb.n_examples;
    Eigen::VectorXd w(d_);
    for (int64_t i = 0; i < d_; ++i) w(i) = scale_ / std::sqrt(double(d_)) * rng.normal();
    Eigen::MatrixXd A(K, d_);
    Eigen::VectorXd noise(K);
    for (int64_t k = 0; k < K; ++k) {
      // Rounded to float first, so the stored rows are the ones the labels were computed from.
      for (int64_t i = 0; i < d_; ++i) A(k, i) = double(float(rng.normal()));
      noise(k) = noise_ * rng.normal();
    }
    Eigen::VectorXd z = A * w;
    const double m = z.maxCoeff();
    for (double& v : z) v = std::exp(v - m);
    z *= double(K) / z.sum();
    for (int64_t k = 0; k < K; ++k) {
      for (int64_t i = 0; i < d_; ++i) pb.xs[size_t((b * K + k) * d_ + i)] = float(A(k, i));
      pb.ys[size_t(b * K + k)] = float(z(k) + noise(k));
    }
    for (int64_t i = 0; i < d_; ++i) pb.truth[size_t(b * d_ + i)] = float(w(i));
  }

  int64_t d_;
  double scale_, noise_;
};

}  // namespace

void register_softmax_regression(std::vector<TaskInfo>& r) {
  r.push_back(
      {"softmax_regression",
       "y_i = K·softmax(A x*)_i over the prompt's K rows a_i (Li et al. 2024)",
       {
           ParamSpec::integer("d", 20, "dimension of the rows a_i", 1, 4096),
           ParamSpec::real("scale", 1.0, "standard deviation of the logits a_i·x*", 0.0, 20.0),
           ParamSpec::real("noise_std", 0.0, "standard deviation of label noise", 0.0, kMaxScale),
       },
       [](const std::string& n, const ParamSet& p) -> std::unique_ptr<Task> {
         return std::make_unique<SoftmaxRegression>(n, p);
       }});
}

}  // namespace icl

// Softmax regression as an in-context task (Li et al. 2024, arXiv 2304.13276, docs/TASKS.md §5).
// The paper studies min_x ½‖softmax(Ax) − b‖² for one matrix A [n, d] and target b: a prompt here
// is one such problem, its K examples the rows a_i of A with their labels
//   y_i = exp(a_i·x* − ‖x*‖²/2) + noise_std·ε_i,   a_i ~ N(0, I_d),   x* ~ N(0, scale²/d · I_d).
// Why this form (issue 19, item 3): the paper's b = softmax(A x*) normalises over the whole
// document of n rows, so each label would depend on every later row of the prompt and a prompt of
// K + 1 examples would not extend the one with K. The paper gives no per-row definition and no
// public code of it was found (the paper says the code is to be released), so we take the limit of
// n · softmax(A x*)_i as n → ∞: the normaliser (1/n) Σ_j exp(a_j·x*) tends to its expectation over
// the rows, E exp(a·x*) = exp(‖x*‖²/2) for a ~ N(0, I). Label i then depends on a_i and x* alone,
// the labels average 1 given x*, and the ratios y_i / y_j = exp((a_i − a_j)·x*) are the paper's:
// any prefix's labels renormalised, y_{<k} / Σ y_{<k}, are exactly softmax(A_{<k} x*), the paper's
// b for that prefix (baselines/softmax_gd.cpp). Departure from the paper: its b of one fixed n is
// replaced by this prefix-consistent limit; for large K the two agree.
// truth: x*. The metric is divided by exp(scale²) − 1, the labels' variance given ‖x*‖ = scale (the
// log-normal exp(a·x* − ‖x*‖²/2)), so the constant prediction 1 scores about 1.
#include <cmath>
#include <vector>

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
    // Draw order: x*, then example by example (a_i, noise), so a longer prompt extends a shorter
    // one. Sums in plain loops, in index order: the same bits at every build level.
    const int64_t K = pb.n_examples;
    std::vector<double> w(static_cast<size_t>(d_));
    double norm2 = 0.0;
    for (int64_t i = 0; i < d_; ++i) {
      w[size_t(i)] = scale_ / std::sqrt(double(d_)) * rng.normal();
      norm2 += w[size_t(i)] * w[size_t(i)];
    }
    for (int64_t k = 0; k < K; ++k) {
      float* a = pb.xs.data() + (b * K + k) * d_;
      double dot = 0.0;
      for (int64_t i = 0; i < d_; ++i) {
        // Rounded to float first, so the stored row is the one the label was computed from.
        a[i] = float(rng.normal());
        dot += double(a[i]) * w[size_t(i)];
      }
      const double noise = noise_ * rng.normal();
      // exp(a_k·x* − ‖x*‖²/2): row k's label needs no other row (see the top of the file).
      pb.ys[size_t(b * K + k)] = float(std::exp(dot - 0.5 * norm2) + noise);
    }
    for (int64_t i = 0; i < d_; ++i) pb.truth[size_t(b * d_ + i)] = float(w[size_t(i)]);
  }

  int64_t d_;
  double scale_, noise_;
};

}  // namespace

void register_softmax_regression(std::vector<TaskInfo>& r) {
  r.push_back(
      {"softmax_regression",
       "y_i = exp(a_i·x* − ‖x*‖²/2), the large-n limit of n·softmax(A x*)_i (Li et al. 2024)",
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

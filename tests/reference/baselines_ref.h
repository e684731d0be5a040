#pragma once
// Independent reference implementations of the baselines, written the slow, obvious way: a fresh
// fit for every prefix with a different algorithm than the production code uses. Tests compare the
// incremental baselines against these.
#include <Eigen/Dense>
#include <vector>

#include "tasks/prompt_batch.h"

namespace icl::ref {

using Mat = Eigen::MatrixXd;
using Vec = Eigen::VectorXd;

// Prefix data of prompt b: X_k [k, d] (rows 0..k-1), y_k, and query q_k.
Mat prefix_x(const VectorPrompts& pb, int64_t b, int64_t k);
Vec prefix_y(const VectorPrompts& pb, int64_t b, int64_t k);
Vec query(const VectorPrompts& pb, int64_t b, int64_t k);

// Each returns predictions [K] for prompt b.
std::vector<double> min_norm_least_squares(const VectorPrompts& pb,
                                           int64_t b);  // pseudo-inverse via SVD
std::vector<double> ridge(const VectorPrompts& pb, int64_t b,
                          double lambda);  // normal equations, LDLT
std::vector<double> gradient_descent(const VectorPrompts& pb, int64_t b, int64_t steps,
                                     double lr);                              // literal loop
std::vector<double> knn(const VectorPrompts& pb, int64_t b, int64_t k);       // full stable sort
std::vector<double> optimal_one_step_gd(const VectorPrompts& pb, int64_t b);  // explicit Γ⁻¹
// Akyürek et al.'s SGD as their algos.py runs it: online_regression refits (window full) or
// iterates one row (window one), each step on the rows x[start:j+1] with residuals row by row.
std::vector<double> akyurek_sgd(const VectorPrompts& pb, int64_t b, double lr, bool full,
                                double weight_decay, double clip);

}  // namespace icl::ref

#pragma once
// Lasso by cyclic coordinate descent on the sufficient statistics G = XᵀX, s = Xᵀy, yy = yᵀy of n
// examples:
//   minimise 1/(2n) ‖y − Xw‖² + α‖w‖₁        (scikit-learn's objective, as Garg et al. used)
// Coordinate update w_j ← S(s_j − Σ_{l≠j} G_jl w_l, nα) / G_jj with S the soft threshold. Starts
// from `w` (warm start from the previous prefix). Stops like scikit-learn: once a sweep's largest
// move is below tol·max|w|, the duality gap is checked, and the fit ends when the gap (of the
// objective scaled by n) is at most tol·yy, or after max_sweeps. Returns the number of sweeps.
#include <Eigen/Dense>

namespace icl {

int64_t lasso_coordinate_descent(const Eigen::MatrixXd& g, const Eigen::VectorXd& s, double yy,
                                 double n, double alpha, Eigen::VectorXd& w, int64_t max_sweeps,
                                 double tol);

// Duality gap of n·(objective) at w (scikit-learn's cd_fast formula, from G, s, yy only).
double lasso_duality_gap(const Eigen::MatrixXd& g, const Eigen::VectorXd& s, double yy, double n,
                         double alpha, const Eigen::VectorXd& w);

}  // namespace icl

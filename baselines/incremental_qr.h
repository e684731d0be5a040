#pragma once
// Least squares by a QR factorisation updated one row at a time (Givens rotations).
//
// Keeps R (n×n upper triangular) and z with RᵀR = AᵀA + R0ᵀR0 and Rᵀz = Aᵀy for the rows (a, y)
// added so far, where R0 is the starting factor (0 for least squares, √λ·I for ridge). Adding a row
// costs O(n²) and never forms AᵀA, so it stays accurate when λ is tiny. grow() adds a coordinate
// that earlier rows do not use (their entry is 0), which is how the minimum-norm least-squares
// predictor extends its basis. Storage for `capacity` coordinates is allocated once.
#include <Eigen/Dense>
#include <cmath>

namespace icl {

class IncrementalQR {
 public:
  IncrementalQR(int64_t capacity, int64_t n, double diag)
      : r_(Eigen::MatrixXd::Zero(capacity, capacity)),
        z_(Eigen::VectorXd::Zero(capacity)),
        a_(capacity),
        sol_(capacity),
        n_(n) {
    r_.diagonal().head(n).setConstant(diag);
  }

  int64_t size() const { return n_; }
  void grow() { ++n_; }  // the new row and column of R and entry of z are already 0

  // Rotates the row (a, y) into (R, z); a has at least size() entries.
  template <class V>
  void add_row(const V& a, double y) {
    a_.head(n_) = a.head(n_);
    for (int64_t j = 0; j < n_; ++j) {
      if (a_(j) == 0.0) continue;
      // Plain sqrt, not std::hypot: entries are far from overflow and hypot's care costs 3x here.
      const double h = std::sqrt(r_(j, j) * r_(j, j) + a_(j) * a_(j));
      const double c = r_(j, j) / h, s = a_(j) / h;
      for (int64_t l = j; l < n_; ++l) {
        const double rl = r_(j, l), al = a_(l);
        r_(j, l) = c * rl + s * al;
        a_(l) = -s * rl + c * al;
      }
      const double zj = z_(j);
      z_(j) = c * zj + s * y;
      y = -s * zj + c * y;
    }
  }

  // The minimiser R⁻¹z (first size() entries). Needs a nonzero diagonal, which the callers'
  // construction guarantees.
  const Eigen::VectorXd& solve() {
    sol_.head(n_) = r_.topLeftCorner(n_, n_).triangularView<Eigen::Upper>().solve(z_.head(n_));
    return sol_;
  }

 private:
  Eigen::MatrixXd r_;
  Eigen::VectorXd z_, a_, sol_;
  int64_t n_;
};

}  // namespace icl

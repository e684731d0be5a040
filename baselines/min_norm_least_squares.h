#pragma once
// Minimum-norm least squares over feature vectors that arrive one at a time. The features seen so
// far span a subspace with orthonormal basis Q (n×r); in those coordinates the problem has full
// column rank and its solution c gives ŵ = Q c, the minimum-norm minimiser. A new vector adds a
// basis direction when its component outside span(Q) exceeds rcond·‖x‖ (features are float32
// data, so smaller components are rounding). O(n·r) per added row, O(n) per prediction.
#include <cmath>

#include "baselines/baseline.h"
#include "baselines/incremental_qr.h"

namespace icl {

class MinNormLeastSquares {
 public:
  MinNormLeastSquares(int64_t n, double rcond)
      : basis_(n, n), qr_(n, 0, 0.0), res_(n), coords_(n), w_(VecD::Zero(n)), rcond_(rcond) {}

  double predict(const VecD& q) const { return q.dot(w_); }

  void add(const VecD& x, double y) {
    const int64_t n = basis_.rows();
    if (r_ < n) {  // with a full basis every vector is spanned
      const auto q = basis_.leftCols(r_);
      coords_.head(r_).noalias() = q.transpose() * x;
      res_ = x;
      res_.noalias() -= q * coords_.head(r_);
      coords_.head(r_).noalias() = q.transpose() * res_;  // second pass: orthogonal to rounding
      res_.noalias() -= q * coords_.head(r_);
      const double rn = res_.norm();
      if (rn > rcond_ * x.norm()) {
        basis_.col(r_++) = res_ / rn;
        qr_.grow();
      }
    }
    if (r_ == 0) return;  // only zero vectors so far: nothing to learn from
    coords_.head(r_).noalias() = basis_.leftCols(r_).transpose() * x;
    qr_.add_row(coords_, y);
    w_.noalias() = basis_.leftCols(r_) * qr_.solve().head(r_);
  }

 private:
  MatD basis_;  // first r_ columns: orthonormal basis of the features so far
  IncrementalQR qr_;
  VecD res_, coords_, w_;  // w_ = Q c
  int64_t r_ = 0;
  double rcond_;
};

}  // namespace icl

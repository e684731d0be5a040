#pragma once
// Pieces shared by the classic gated RNN cells (kernels/lstm.h, kernels/gru.h).
//
// Both cells take the input projections of the whole sequence precomputed by the caller (one matrix
// product over all tokens), so the sequential part is only the recurrent product h_{t−1} W_h and
// the gate arithmetic. Layout: tokens [B, T, width] row-major, hidden states [B, T, H] and [B, H],
// the recurrent weight W_h [H, G·H] row-major (G gates), so that the recurrent pre-activations of a
// step are the row vector h_{t−1} W_h.
//
// Determinism. The time loop of each batch element runs on one thread. The weight gradient
// dW_h = Σ_{b,t} h_{t−1}ᵀ da_t (da_t the recurrent pre-activation gradient, saved per step in a
// workspace by the time loop) is summed afterwards in blocks of columns of fixed width: each block
// is one thread's, adding the batch elements in order. Nothing depends on the thread count.
#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "core/blocks.h"
#include "core/parallel.h"

namespace icl {

// Batch, sequence length, hidden size.
struct RnnDims {
  int64_t B = 1, T = 1, H = 1;
};

namespace kern::rnn {

template <class T>
using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using Row = Eigen::Matrix<T, 1, Eigen::Dynamic>;
template <class T>
using MatMap = Eigen::Map<Mat<T>>;
template <class T>
using ConstMatMap = Eigen::Map<const Mat<T>>;
template <class T>
using RowMap = Eigen::Map<Row<T>>;
template <class T>
using ConstRowMap = Eigen::Map<const Row<T>>;

// exp(−x) overflows to +inf for very negative x, which gives exactly 0 rather than a NaN.
template <class T>
T sigmoid(T x) {
  return T(1) / (T(1) + std::exp(-x));
}

// y = x W for a row x of m scalars and W [m, n] row-major, summed over m in order. Written as plain
// loops (vectorised across y by the compiler, no reassociation) rather than as an Eigen product so
// that every element's arithmetic is fixed, whatever the buffers' alignment.
template <class T>
void row_times(T* y, const T* x, const T* w, int64_t m, int64_t n) {
  std::fill(y, y + n, T(0));
  for (int64_t k = 0; k < m; ++k) {
    const T xk = x[k];
    const T* wk = w + k * n;
    for (int64_t c = 0; c < n; ++c) y[c] += xk * wk[c];
  }
}

// Wᵀ of W [m, n] row-major, so that products with Wᵀ also run as row_times.
template <class T>
Mat<T> transposed(const T* w, int64_t m, int64_t n) {
  return ConstMatMap<T>(w, m, n).transpose();
}

// Row b of a [B, n] tensor as a row vector, or zeros when the tensor is absent.
template <class T>
Row<T> row_or_zero(const T* p, int64_t b, int64_t n) {
  if (!p) return Row<T>::Zero(n);
  return ConstRowMap<T>(p + b * n, n);
}

// dW [H, width] += Σ_b Σ_t h_{b,t−1}ᵀ da_{b,t}, with h_{b,−1} = h0_b (skipped when h0 is absent:
// a zero initial state contributes nothing). h [B, T, H] are the cell's outputs, da [B, T, width].
template <class T>
void add_weight_grad(T* dw, const T* h, const T* h0, const T* da, int64_t width, const RnnDims& d) {
  if (!dw) return;
  constexpr int64_t kCols = 64;
  for_blocks(width, kCols, [&](int64_t c0, int64_t c1) {
    const int64_t n = c1 - c0;
    Eigen::Map<Mat<T>, 0, Eigen::OuterStride<>> D(dw + c0, d.H, n, Eigen::OuterStride<>(width));
    for (int64_t b = 0; b < d.B; ++b) {
      const ConstMatMap<T> Hb(h + b * d.T * d.H, d.T, d.H);
      const Eigen::Map<const Mat<T>, 0, Eigen::OuterStride<>> Db(da + b * d.T * width + c0, d.T, n,
                                                                 Eigen::OuterStride<>(width));
      if (d.T > 1) D.noalias() += Hb.topRows(d.T - 1).transpose() * Db.bottomRows(d.T - 1);
      if (h0) D.noalias() += ConstRowMap<T>(h0 + b * d.H, d.H).transpose() * Db.row(0);
    }
  });
}

// out[j] += Σ_{b,t} da[b, t, col0 + j] for j < n (a bias inside the recurrent term).
template <class T>
void add_column_sums(T* out, const T* da, int64_t width, int64_t col0, int64_t n,
                     const RnnDims& d) {
  if (!out) return;
  constexpr int64_t kCols = 64;
  for_blocks(n, kCols, [&](int64_t j0, int64_t j1) {
    for (int64_t r = 0; r < d.B * d.T; ++r)
      for (int64_t j = j0; j < j1; ++j) out[j] += da[r * width + col0 + j];
  });
}

}  // namespace kern::rnn
}  // namespace icl

#pragma once
// Linear layer.
//   forward:  y[N, out] = x[N, in] · W[in, out] + b[out]          (b may be null)
//   backward: dx += dy · Wᵀ,  dW += xᵀ · dy,  db += Σ_n dy[n, :]   (any of dx, dW, db may be null)
// W is stored [in, out] (GPT-2's Conv1D layout). Rows are processed in fixed blocks and dW/db in
// fixed column blocks, each reducing over all N in one pass, so the result does not depend on the
// thread count.
#include <Eigen/Dense>

#include "core/blocks.h"
#include "core/graph.h"

namespace icl {

namespace kern {

template <class T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

template <class T>
void linear_forward(T* y, const T* x, const T* w, const T* b, int64_t N, int64_t in, int64_t out) {
  const Eigen::Map<const RowMat<T>> W(w, in, out);
  for_blocks(N, 64, [&](int64_t r0, int64_t r1) {
    Eigen::Map<RowMat<T>> Y(y + r0 * out, r1 - r0, out);
    const Eigen::Map<const RowMat<T>> X(x + r0 * in, r1 - r0, in);
    Y.noalias() = X * W;
    if (b) Y.rowwise() += Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>>(b, out);
  });
}

template <class T>
void linear_backward(T* dx, T* dw, T* db, const T* dy, const T* x, const T* w, int64_t N,
                     int64_t in, int64_t out) {
  if (dx) {
    const Eigen::Map<const RowMat<T>> W(w, in, out);
    for_blocks(N, 64, [&](int64_t r0, int64_t r1) {
      Eigen::Map<RowMat<T>> DX(dx + r0 * in, r1 - r0, in);
      DX.noalias() += Eigen::Map<const RowMat<T>>(dy + r0 * out, r1 - r0, out) * W.transpose();
    });
  }
  if (dw || db) {
    const Eigen::Map<const RowMat<T>> X(x, N, in), DY(dy, N, out);
    for_blocks(out, 32, [&](int64_t c0, int64_t c1) {
      if (dw) {
        Eigen::Map<RowMat<T>, 0, Eigen::OuterStride<>> DW(dw + c0, in, c1 - c0,
                                                          Eigen::OuterStride<>(out));
        DW.noalias() += X.transpose() * DY.middleCols(c0, c1 - c0);
      }
      if (db)
        for (int64_t c = c0; c < c1; ++c) {
          T s = 0;
          for (int64_t n = 0; n < N; ++n) s += dy[n * out + c];
          db[c] += s;
        }
    });
  }
}

}  // namespace kern

namespace ops {
// x [..., in] (any leading shape), w [in, out], b [out] or null Var → [..., out].
Var linear(Graph& g, Var x, Var w, Var b = {});
}  // namespace ops

}  // namespace icl

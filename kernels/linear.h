#pragma once
// Linear layer.
//   forward:  y[N, out] = x[N, in] · W[in, out] + b[out]          (b may be null)
//   backward: dx += dy · Wᵀ,  dW += xᵀ · dy,  db += Σ_n dy[n, :]   (any of dx, dW, db may be null;
//             dx = dy · Wᵀ when !dx_accumulate: a fresh gradient buffer, Graph::grad_out)
// W is stored [in, out] (GPT-2's Conv1D layout). Rows are processed in fixed blocks, dW in fixed
// tiles and row chunks summed in chunk order, db in fixed column blocks over all N in row order,
// so the result does not depend on the thread count.
#include <Eigen/Dense>

#include <algorithm>
#include <vector>

#include "core/blocks.h"
#include "core/cuda_context.h"
#include "core/graph.h"

namespace icl {

namespace kern {

template <class T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Rows per block of the forward and dx products: large enough that packing W once per block is
// cheap next to the product, small enough to spread over the cores.
inline constexpr int64_t kRowBlock = 256;

template <class T>
void linear_forward(T* y, const T* x, const T* w, const T* b, int64_t N, int64_t in, int64_t out) {
  const Eigen::Map<const RowMat<T>> W(w, in, out);
  for_blocks(N, kRowBlock, [&](int64_t r0, int64_t r1) {
    Eigen::Map<RowMat<T>> Y(y + r0 * out, r1 - r0, out);
    const Eigen::Map<const RowMat<T>> X(x + r0 * in, r1 - r0, in);
    // With a bias the rows start as b and the product is added to them: one pass over y instead
    // of zeroing it for the product and adding b after.
    if (b) {
      Y.rowwise() = Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>>(b, out);
      Y.noalias() += X * W;
    } else {
      Y.noalias() = X * W;
    }
  });
}

template <class T>
void linear_backward(T* dx, T* dw, T* db, const T* dy, const T* x, const T* w, int64_t N,
                     int64_t in, int64_t out, bool dx_accumulate = true) {
  if (dx) {
    const Eigen::Map<const RowMat<T>> W(w, in, out);
    for_blocks(N, kRowBlock, [&](int64_t r0, int64_t r1) {
      Eigen::Map<RowMat<T>> DX(dx + r0 * in, r1 - r0, in);
      const Eigen::Map<const RowMat<T>> DY(dy + r0 * out, r1 - r0, out);
      if (dx_accumulate)
        DX.noalias() += DY * W.transpose();
      else
        DX.noalias() = DY * W.transpose();
    });
  }
  if (dw || db) {
    const Eigen::Map<const RowMat<T>> X(x, N, in), DY(dy, N, out);
    // dW in fixed tiles of up to 128 × 128 (measured on one core: 87 GFLOP/s against 74 for
    // 64 × 128, packing being cheaper next to a larger product), each a product over one chunk of
    // rows of x and dy. With one chunk the tiles add into dW directly; with several, each (tile,
    // chunk) product goes to its own slice of scratch and the chunks are then added into dW in
    // chunk order. Chunks (of at least kChunkRows rows, at most enough for ~kTasks tasks) give even
    // a width × width layer a task per core, and keep the scratch within kTasks tiles. The order
    // of every sum is fixed by the shapes alone, never by the thread count.
    constexpr int64_t kTileRows = 128, kTileCols = 128, kChunkRows = 1024, kTasks = 16;
    const int64_t row_tiles = (in + kTileRows - 1) / kTileRows;
    const int64_t col_tiles = (out + kTileCols - 1) / kTileCols;
    const int64_t tiles = row_tiles * col_tiles;
    const int64_t chunks =
        std::clamp<int64_t>((N + kChunkRows - 1) / kChunkRows, 1,
                            std::max<int64_t>(1, kTasks / std::max<int64_t>(1, tiles)));
    const int64_t chunk_rows = (N + chunks - 1) / chunks;
    T* part = nullptr;  // [chunks, in, out] when chunks > 1
    if (dw && chunks > 1) {
      thread_local std::vector<T, Eigen::aligned_allocator<T>> scratch;
      if (scratch.size() < size_t(chunks * in * out)) scratch.resize(size_t(chunks * in * out));
      part = scratch.data();
    }
    if (dw)
      for_blocks(tiles * chunks, 1, [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t) {
          const int64_t tile = t % tiles, k = t / tiles;
          const int64_t r0 = (tile / col_tiles) * kTileRows, r1 = std::min(in, r0 + kTileRows);
          const int64_t c0 = (tile % col_tiles) * kTileCols, c1 = std::min(out, c0 + kTileCols);
          const int64_t n0 = std::min(N, k * chunk_rows), n1 = std::min(N, n0 + chunk_rows);
          const auto prod =
              X.block(n0, r0, n1 - n0, r1 - r0).transpose() * DY.block(n0, c0, n1 - n0, c1 - c0);
          T* dst = part ? part + k * in * out : dw;  // this chunk's slice, or dW itself
          Eigen::Map<RowMat<T>, 0, Eigen::OuterStride<>> D(dst + r0 * out + c0, r1 - r0, c1 - c0,
                                                           Eigen::OuterStride<>(out));
          if (part)
            D.noalias() = prod;
          else
            D.noalias() += prod;
        }
      });
    if (part)
      for_blocks(in, 16, [&](int64_t r0, int64_t r1) {
        for (int64_t k = 0; k < chunks; ++k)
          for (int64_t i = r0 * out; i < r1 * out; ++i) dw[i] += part[k * in * out + i];
      });
    for_blocks(out, kTileCols, [&](int64_t c0, int64_t c1) {
      if (db) {
        // Row by row (contiguous, vectorisable); each column still sums n = 0, 1, ... in order.
        T acc[kTileCols] = {};
        for (int64_t n = 0; n < N; ++n) {
          const T* row = dy + n * out;
          for (int64_t c = c0; c < c1; ++c) acc[c - c0] += row[c];
        }
        for (int64_t c = c0; c < c1; ++c) db[c] += acc[c - c0];
      }
    });
  }
}

}  // namespace kern

// The CUDA twins (kernels/*.cu): same math, layout and accumulation (+=) as kern::, on device
// pointers, enqueued on the context's stream. Defined only in CUDA builds; ops dispatch to them
// when their Graph is on a GPU.
namespace cuda {
// cuBLAS(Lt) GEMMs (TF32 tensor cores when ctx.tf32()); the bias gradient is a deterministic
// column reduction (no atomics).
void linear_forward(const CudaContext& ctx, float* y, const float* x, const float* w,
                    const float* b, int64_t N, int64_t in, int64_t out);
void linear_backward(const CudaContext& ctx, float* dx, float* dw, float* db, const float* dy,
                     const float* x, const float* w, int64_t N, int64_t in, int64_t out);
}  // namespace cuda

namespace ops {
// x [..., in] (any leading shape), w [in, out], b [out] or null Var → [..., out].
Var linear(Graph& g, Var x, Var w, Var b = {});
}  // namespace ops

}  // namespace icl

// Input/output ops (token and positional embeddings, position selection), losses and AdamW.
#include <cmath>
#include <limits>
#include <memory>
#include <numbers>
#include <tuple>
#include <vector>

#include "core/rng.h"
#include "kernels/concat.h"
#include "kernels/embedding.h"
#include "kernels/loss.h"
#include "kernels/select.h"
#include "tests/errors.h"
#include "tests/op_harness.h"
#include "train/adamw.h"

namespace icl {
namespace {

// Tokens with many repeats (V is small next to N): the scatter-add must sum them.
std::vector<int32_t> make_tokens(int64_t N, int64_t V, uint64_t seed) {
  Rng rng({seed, stream_id("tokens")}, 0);
  std::vector<int32_t> t(static_cast<size_t>(N));
  for (auto& x : t) x = int32_t(rng.below(uint64_t(V)));
  return t;
}

// A mask with zeros at every third element and the rest 1; never all-zero for N >= 2.
std::vector<float> make_mask(int64_t N) {
  std::vector<float> m(static_cast<size_t>(N));
  for (int64_t i = 0; i < N; ++i) m[size_t(i)] = i % 3 == 1 ? 0.f : 1.f;
  return m;
}

const float* ptr_or_null(const std::vector<float>& v) { return v.empty() ? nullptr : v.data(); }

// ---------------------------------------------------------------------------------------------
// Harness cases. Integer data (tokens, class targets), float targets and masks are fixed members;
// only the differentiable float inputs are harness inputs. The CUDA twins upload the members on
// each call (and synchronise before those copies are freed).

#ifdef ICL_WITH_CUDA
using test::CudaTolerance;
using test::DeviceArray;
using test::DeviceBuffer;
using test::DeviceGrads;
using test::DeviceInputs;

// A device copy of a mask, or null for none.
struct DeviceMask {
  std::unique_ptr<DeviceBuffer> buf;
  explicit DeviceMask(const std::vector<float>& m)
      : buf(m.empty() ? nullptr : std::make_unique<DeviceBuffer>(m)) {}
  const float* get() const { return buf ? buf->get() : nullptr; }
};

// Copies, gathers and the embedding / positional backwards add in the CPU's order: bit for bit.
constexpr CudaTolerance kExact{.fwd = 0, .aux = 0, .bwd = 0, .each_gradient_alone = true};

// A loss with nothing scored is 0 and adds nothing to the gradient: both exactly.
std::vector<test::Part> nothing_scored_parts(test::Slot slot, size_t j, const test::CpuResult& ref,
                                             const std::vector<float>& mask, int64_t N) {
  if (kern::count_scored(ptr_or_null(mask), N) > 0 || slot == test::Slot::Aux) return {};
  const size_t n = slot == test::Slot::Output ? ref.out.size() : ref.grad[j].size();
  return {test::whole("nothing scored", int64_t(n), 0.0)};
}
#endif

struct EmbeddingCase {
  int64_t V, C;
  std::vector<int32_t> tokens;  // [N]
  int64_t N() const { return int64_t(tokens.size()); }
  std::vector<Shape> inputs() const { return {{V, C}}; }
  Shape output() const { return {N(), C}; }
  template <class T>
  void forward(const std::vector<const T*>& in, T* y, std::vector<T>&) const {
    kern::embedding_forward(y, tokens.data(), in[0], N(), C);
  }
  template <class T>
  void backward(const std::vector<const T*>&, const T*, const T* dy, const std::vector<T*>& din,
                std::vector<T>&) const {
    kern::embedding_backward(din[0], dy, tokens.data(), N(), C);
  }
#ifdef ICL_WITH_CUDA
  void cuda_forward(const CudaContext& cx, const DeviceInputs& in, float* y, float*) const {
    const DeviceArray<int32_t> tok(tokens);
    cuda::embedding_forward(cx, y, tok.get(), in[0], N(), C);
    cx.synchronize();
  }
  void cuda_backward(const CudaContext& cx, const DeviceInputs&, const float*, const float* dy,
                     const DeviceGrads& din, float*) const {
    const DeviceArray<int32_t> tok(tokens);
    cuda::embedding_backward(cx, din[0], dy, tok.get(), N(), V, C);
    cx.synchronize();
  }
  CudaTolerance cuda_tolerance() const { return kExact; }
#endif
};

struct PositionalCase {
  int64_t B, Tn, Tmax, C;
  std::vector<Shape> inputs() const { return {{B, Tn, C}, {Tmax, C}}; }
  Shape output() const { return {B, Tn, C}; }
  template <class T>
  void forward(const std::vector<const T*>& in, T* y, std::vector<T>&) const {
    kern::add_positional_forward(y, in[0], in[1], B, Tn, C);
  }
  template <class T>
  void backward(const std::vector<const T*>&, const T*, const T* dy, const std::vector<T*>& din,
                std::vector<T>&) const {
    kern::add_positional_backward(din[0], din[1], dy, B, Tn, C);
  }
#ifdef ICL_WITH_CUDA
  void cuda_forward(const CudaContext& cx, const DeviceInputs& in, float* y, float*) const {
    cuda::add_positional_forward(cx, y, in[0], in[1], B, Tn, C);
  }
  void cuda_backward(const CudaContext& cx, const DeviceInputs&, const float*, const float* dy,
                     const DeviceGrads& din, float*) const {
    cuda::add_positional_backward(cx, din[0], din[1], dy, B, Tn, C);
  }
  CudaTolerance cuda_tolerance() const { return kExact; }  // rows >= Tn of dpos untouched too
#endif
};

struct SelectCase {
  int64_t B, Tn, C, offset, stride, count;
  std::vector<Shape> inputs() const { return {{B, Tn, C}}; }
  Shape output() const { return {B, count, C}; }
  template <class T>
  void forward(const std::vector<const T*>& in, T* y, std::vector<T>&) const {
    kern::take_positions_forward(y, in[0], B, Tn, C, offset, stride, count);
  }
  template <class T>
  void backward(const std::vector<const T*>&, const T*, const T* dy, const std::vector<T*>& din,
                std::vector<T>&) const {
    kern::take_positions_backward(din[0], dy, B, Tn, C, offset, stride, count);
  }
#ifdef ICL_WITH_CUDA
  void cuda_forward(const CudaContext& cx, const DeviceInputs& in, float* y, float*) const {
    cuda::take_positions_forward(cx, y, in[0], B, Tn, C, offset, stride, count);
  }
  void cuda_backward(const CudaContext& cx, const DeviceInputs&, const float*, const float* dy,
                     const DeviceGrads& din, float*) const {
    cuda::take_positions_backward(cx, din[0], dy, B, Tn, C, offset, stride, count);
  }
  CudaTolerance cuda_tolerance() const { return kExact; }
#endif
};

// [a | b] along the last axis (the past model's decoder q beside the encoder's k, v).
struct ConcatCase {
  int64_t N, Ca, Cb;
  std::vector<Shape> inputs() const { return {{N, Ca}, {N, Cb}}; }
  Shape output() const { return {N, Ca + Cb}; }
  template <class T>
  void forward(const std::vector<const T*>& in, T* y, std::vector<T>&) const {
    kern::concat_forward(y, in[0], in[1], N, Ca, Cb);
  }
  template <class T>
  void backward(const std::vector<const T*>&, const T*, const T* dy, const std::vector<T*>& din,
                std::vector<T>&) const {
    kern::concat_backward(din[0], din[1], dy, N, Ca, Cb);
  }
#ifdef ICL_WITH_CUDA
  void cuda_forward(const CudaContext& cx, const DeviceInputs& in, float* y, float*) const {
    cuda::concat_forward(cx, y, in[0], in[1], N, Ca, Cb);
  }
  void cuda_backward(const CudaContext& cx, const DeviceInputs&, const float*, const float* dy,
                     const DeviceGrads& din, float*) const {
    cuda::concat_backward(cx, din[0], din[1], dy, N, Ca, Cb);
  }
  CudaTolerance cuda_tolerance() const { return kExact; }
#endif
};

// Garg's token sequence x1 y1 x2 y2 ... from xs [B, K, dx] and ys [B, K, dy] (dy <= dx, padded
// with zeros): host data in the models, so no gradient flows back.
struct InterleaveCase {
  int64_t B, K, dx, dy;
  std::vector<Shape> inputs() const { return {{B, K, dx}, {B, K, dy}}; }
  Shape output() const { return {B, 2 * K, dx}; }
  std::vector<bool> differentiable() const { return {false, false}; }
  template <class T>
  void forward(const std::vector<const T*>& in, T* y, std::vector<T>&) const {
    kern::interleave_forward(y, in[0], in[1], B, K, dx, dy);
  }
  template <class T>
  void backward(const std::vector<const T*>&, const T*, const T*, const std::vector<T*>&,
                std::vector<T>&) const {}
#ifdef ICL_WITH_CUDA
  void cuda_forward(const CudaContext& cx, const DeviceInputs& in, float* y, float*) const {
    cuda::interleave_forward(cx, y, in[0], in[1], B, K, dx, dy);
  }
  void cuda_backward(const CudaContext&, const DeviceInputs&, const float*, const float*,
                     const DeviceGrads&, float*) const {}
  CudaTolerance cuda_tolerance() const { return kExact; }
#endif
};

// The squared-error and logistic losses of predictions against targets of the same shape: one
// case, its kernels named by the tag (the forward returns the mean over the scored entries).
struct MseKernels {
  static constexpr auto forward = [](auto&&... a) { return kern::mse_forward(a...); };
  static constexpr auto backward = [](auto&&... a) { kern::mse_backward(a...); };
#ifdef ICL_WITH_CUDA
  static constexpr auto cuda_forward = [](auto&&... a) { cuda::mse_forward(a...); };
  static constexpr auto cuda_backward = [](auto&&... a) { cuda::mse_backward(a...); };
#endif
};
struct LogisticKernels {
  static constexpr auto forward = [](auto&&... a) { return kern::logistic_forward(a...); };
  static constexpr auto backward = [](auto&&... a) { kern::logistic_backward(a...); };
#ifdef ICL_WITH_CUDA
  static constexpr auto cuda_forward = [](auto&&... a) { cuda::logistic_forward(a...); };
  static constexpr auto cuda_backward = [](auto&&... a) { cuda::logistic_backward(a...); };
#endif
};

template <class Loss>
struct PointwiseLossCase {
  Shape shape;
  std::vector<float> target, mask;  // mask empty: all scored
  double spread = 1;                // predictions (or logits) ~ N(0, spread²)
  std::vector<Shape> inputs() const { return {shape}; }
  Shape output() const { return {1}; }
  double input(size_t, int64_t, double z) const { return spread * z; }
  template <class T>
  void forward(const std::vector<const T*>& in, T* y, std::vector<T>&) const {
    y[0] = Loss::forward(in[0], target.data(), ptr_or_null(mask), shape.numel());
  }
  template <class T>
  void backward(const std::vector<const T*>& in, const T*, const T* dy, const std::vector<T*>& din,
                std::vector<T>&) const {
    Loss::backward(din[0], dy[0], in[0], target.data(), ptr_or_null(mask), shape.numel());
  }
#ifdef ICL_WITH_CUDA
  void cuda_forward(const CudaContext& cx, const DeviceInputs& in, float* y, float*) const {
    const DeviceBuffer t(target);
    const DeviceMask m(mask);
    Loss::cuda_forward(cx, y, in[0], t.get(), m.get(), shape.numel());
    cx.synchronize();
  }
  void cuda_backward(const CudaContext& cx, const DeviceInputs& in, const float*, const float* dy,
                     const DeviceGrads& din, float*) const {
    const DeviceBuffer t(target);
    const DeviceMask m(mask);
    Loss::cuda_backward(cx, din[0], dy, in[0], t.get(), m.get(), shape.numel());
    cx.synchronize();
  }
  CudaTolerance cuda_tolerance() const {
    return {.fwd = 1e-6, .bwd = 1e-6, .each_gradient_alone = true};
  }
  std::vector<test::Part> cuda_parts(test::Slot slot, size_t j, const test::CpuResult& r) const {
    return nothing_scored_parts(slot, j, r, mask, shape.numel());
  }
#endif
};
using MseCase = PointwiseLossCase<MseKernels>;
using LogisticCase = PointwiseLossCase<LogisticKernels>;

struct CrossEntropyCase {
  int64_t N, V;
  std::vector<int32_t> targets;
  std::vector<float> mask;
  double spread = 1;
  std::vector<Shape> inputs() const { return {{N, V}}; }
  Shape output() const { return {1}; }
  double input(size_t, int64_t, double z) const { return spread * z; }
  template <class T>
  void forward(const std::vector<const T*>& in, T* y, std::vector<T>& aux) const {
    aux.assign(static_cast<size_t>(N), T(0));  // lse
    y[0] = kern::cross_entropy_forward(aux.data(), in[0], targets.data(), ptr_or_null(mask), N, V);
  }
  template <class T>
  void backward(const std::vector<const T*>& in, const T*, const T* dy, const std::vector<T*>& din,
                std::vector<T>& aux) const {
    kern::cross_entropy_backward(din[0], dy[0], aux.data(), in[0], targets.data(),
                                 ptr_or_null(mask), N, V);
  }
#ifdef ICL_WITH_CUDA
  void cuda_forward(const CudaContext& cx, const DeviceInputs& in, float* y, float* lse) const {
    const DeviceArray<int32_t> t(targets);
    const DeviceMask m(mask);
    cuda::cross_entropy_forward(cx, y, lse, in[0], t.get(), m.get(), N, V);
    cx.synchronize();
  }
  void cuda_backward(const CudaContext& cx, const DeviceInputs& in, const float*, const float* dy,
                     const DeviceGrads& din, float* lse) const {
    const DeviceArray<int32_t> t(targets);
    const DeviceMask m(mask);
    cuda::cross_entropy_backward(cx, din[0], dy, lse, in[0], t.get(), m.get(), N, V);
    cx.synchronize();
  }
  CudaTolerance cuda_tolerance() const {
    return {.fwd = 1e-5, .aux = 1e-5, .bwd = 1e-5, .each_gradient_alone = true};
  }
  // ℓ_n = lse_n − z_t can be small next to lse_n (a confident row), and lse_n is rounded to float
  // at its own magnitude on either side: the loss is compared at the scale of lse.
  std::vector<test::Part> cuda_parts(test::Slot slot, size_t j, const test::CpuResult& r) const {
    auto none = nothing_scored_parts(slot, j, r, mask, N);
    if (!none.empty() || slot != test::Slot::Output) return none;
    double lse_scale = 1;
    for (double l : r.aux) lse_scale = std::max(lse_scale, std::abs(l));
    const double loss = std::abs(r.out[0]);
    return {test::whole("loss", 1, 1e-5 * std::max(lse_scale, loss) / std::max(loss, 1e-30))};
  }
#endif
};

std::vector<float> normal_floats(int64_t n, uint64_t seed) {
  Rng rng({seed, stream_id("targets")}, 0);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = float(rng.normal());
  return v;
}

std::vector<float> signs(int64_t n, uint64_t seed) {
  Rng rng({seed, stream_id("signs")}, 0);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = float(rng.sign());
  return v;
}

// A graph-level scalar: loss = Σ_i w_i y_i with w_i = i + 1, so dL/dy_i = i + 1.
Var weighted_sum(Graph& g, Var y) {
  Var loss = g.output({1}, y.needs_grad());
  double s = 0;
  for (int64_t i = 0; i < y.shape().numel(); ++i) s += double(i + 1) * y.f()[i];
  loss.f()[0] = float(s);
  g.record([&g, y, loss] {
    const float d = g.grad(loss).f()[0];
    for (int64_t i = 0; i < y.shape().numel(); ++i) g.grad(y).f()[i] += d * float(i + 1);
  });
  return loss;
}

using test::error_of;

// ---------------------------------------------------------------------------------------------
// Embedding

ICL_OP_TEST(OpEmbedding, Embedding) {
  for (int64_t Tn : {1, 7, 33})
    for (int64_t C : {5, 13})
      for (int64_t V : {3, 11}) {
        const int64_t B = 2;
        run(EmbeddingCase{V, C, make_tokens(B * Tn, V, uint64_t(Tn * 100 + V))},
            fmt::format("embedding T={} C={} V={}", Tn, C, V));
      }
  // Small V next to N: many repeated tokens. V = 1000 spans 32 row tiles, C = 1000 eight column
  // tiles with a partial last one; V = 2.1M needs more row tiles than the grid has (65535), so
  // blocks take a second vocabulary slice. The last row is always used.
  for (auto [N, V, C] : {std::tuple<int64_t, int64_t, int64_t>{1, 1, 1},
                         {37, 5, 7},
                         {5248, 97, 129},
                         {300, 1000, 64},
                         {64, 3, 256},
                         {37, 40, 1000},
                         {37, 2100000, 1}}) {
    auto tokens = make_tokens(N, V, uint64_t(N + V + C));
    tokens[0] = int32_t(V - 1);
    run.cuda_only(EmbeddingCase{V, C, tokens}, fmt::format("embedding N={} V={} C={}", N, V, C));
  }
}

ICL_OP_TEST(OpEmbedding, Positional) {
  for (int64_t Tn : {1, 7, 33})
    for (int64_t C : {5, 13})
      for (int64_t B : {1, 3}) {
        run(PositionalCase{B, Tn, Tn, C},
            fmt::format("positional B={} T={} Tmax=T C={}", B, Tn, C));
        run(PositionalCase{B, Tn, Tn + 4, C},
            fmt::format("positional B={} T={} Tmax=T+4 C={}", B, Tn, C));
      }
  for (auto [B, Tn, Tmax, C] : {std::tuple<int64_t, int64_t, int64_t, int64_t>{1, 1, 1, 1},
                                {3, 7, 9, 7},
                                {2, 41, 64, 129},
                                {5, 82, 100, 256},
                                {37, 3, 3, 1000}})
    run.cuda_only(PositionalCase{B, Tn, Tmax, C},
                  fmt::format("positional B={} T={} Tmax={} C={}", B, Tn, Tmax, C));
}

TEST(OpEmbedding, RepeatedTokensSumInTheBackward) {
  // Every token is 1: y = table[1] everywhere, loss = Σ_i (i+1)·y_i, so
  // dtable[1, c] = Σ_n (n·C + c + 1) and the other rows stay 0.
  Arena arena;
  Graph g(arena, true);
  const int64_t B = 2, Tn = 3, V = 4, C = 5;
  Tensor tok = arena.tensor({B, Tn}, DType::I32);
  for (int64_t i = 0; i < B * Tn; ++i) tok.i()[i] = 1;
  Tensor table = arena.tensor({V, C}), dtable = arena.tensor({V, C}, DType::F32, true);
  for (int64_t i = 0; i < V * C; ++i) table.f()[i] = float(i) * 0.5f;
  const Var y = ops::embedding(g, tok, g.leaf(table, dtable));
  ASSERT_EQ(y.shape(), (Shape{B, Tn, C}));
  for (int64_t n = 0; n < B * Tn; ++n)
    for (int64_t c = 0; c < C; ++c) EXPECT_EQ(y.f()[n * C + c], table.f()[C + c]);
  g.backward(weighted_sum(g, y));
  for (int64_t v = 0; v < V; ++v)
    for (int64_t c = 0; c < C; ++c) {
      double want = 0;
      if (v == 1)
        for (int64_t n = 0; n < B * Tn; ++n) want += double(n * C + c + 1);
      EXPECT_EQ(dtable.f()[v * C + c], float(want)) << "v=" << v << " c=" << c;
    }
}

TEST(OpEmbedding, BackwardIsSerialTokenOrderWhateverTheBlocks) {
  // Wide enough for several column blocks and many repeats: the result must equal, bit for bit,
  // a plain loop adding the rows in token order.
  const int64_t N = 5000, V = 3, C = 100;
  const auto tokens = make_tokens(N, V, 7);
  const auto dy = normal_floats(N * C, 8);
  std::vector<float> got(static_cast<size_t>(V * C), 0.25f), want(got);
  kern::embedding_backward(got.data(), dy.data(), tokens.data(), N, C);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      want[size_t(tokens[size_t(n)] * C + c)] += dy[size_t(n * C + c)];
  EXPECT_EQ(got, want);
}

TEST(OpEmbedding, OutOfRangeTokenIsAnErrorNamingTokenAndV) {
  Arena arena;
  Graph g(arena, false);
  Tensor tok = arena.tensor({1, 3}, DType::I32);
  tok.i()[0] = 0;
  tok.i()[1] = 2;
  tok.i()[2] = 7;
  const Var table = g.constant(arena.tensor({5, 4}, DType::F32, true));
  const std::string msg = error_of([&] { ops::embedding(g, tok, table); });
  EXPECT_NE(msg.find("token 7"), std::string::npos) << msg;
  EXPECT_NE(msg.find("V = 5"), std::string::npos) << msg;
  tok.i()[2] = -1;
  EXPECT_NE(error_of([&] { ops::embedding(g, tok, table); }).find("token -1"), std::string::npos);
}

TEST(OpEmbedding, PositionalGraphSumsOverBatchAndChecksLength) {
  Arena arena;
  Graph g(arena, true);
  const int64_t B = 3, Tn = 2, Tmax = 4, C = 2;
  Tensor x = arena.tensor({B, Tn, C}), dx = arena.tensor({B, Tn, C}, DType::F32, true);
  Tensor pos = arena.tensor({Tmax, C}), dpos = arena.tensor({Tmax, C}, DType::F32, true);
  for (int64_t i = 0; i < x.numel(); ++i) x.f()[i] = float(i);
  for (int64_t i = 0; i < pos.numel(); ++i) pos.f()[i] = 100.f * float(i + 1);
  const Var y = ops::add_positional(g, g.leaf(x, dx), g.leaf(pos, dpos));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < Tn * C; ++i)
      EXPECT_EQ(y.f()[b * Tn * C + i], x.f()[b * Tn * C + i] + pos.f()[i]);
  g.backward(weighted_sum(g, y));
  for (int64_t i = 0; i < x.numel(); ++i) EXPECT_EQ(dx.f()[i], float(i + 1));
  for (int64_t i = 0; i < Tn * C; ++i)  // Σ_b (b·Tn·C + i + 1)
    EXPECT_EQ(dpos.f()[i], float(B * (i + 1) + Tn * C * (B * (B - 1) / 2)));
  for (int64_t i = Tn * C; i < Tmax * C; ++i) EXPECT_EQ(dpos.f()[i], 0.f);  // unused positions

  Graph g2(arena, false);
  const Var long_x = g2.constant(arena.tensor({1, 5, C}, DType::F32, true));
  const std::string msg = error_of([&] { ops::add_positional(g2, long_x, g2.constant(pos)); });
  EXPECT_NE(msg.find("sequence length 5"), std::string::npos) << msg;
  EXPECT_NE(msg.find("4 positions"), std::string::npos) << msg;
}

// ---------------------------------------------------------------------------------------------
// Select

ICL_OP_TEST(OpSelect, TakePositions) {
  for (int64_t Tn : {1, 7, 33})
    for (int64_t C : {5, 13}) {
      run(SelectCase{2, Tn, C, 0, 2, (Tn + 1) / 2}, fmt::format("take x tokens T={} C={}", Tn, C));
      run(SelectCase{3, Tn, C, Tn - 1, 1, 1}, fmt::format("take last T={} C={}", Tn, C));
      if (Tn > 2)
        run(SelectCase{2, Tn, C, 1, 3, (Tn - 2) / 3 + 1},
            fmt::format("take offset 1 stride 3 T={} C={}", Tn, C));
    }
  for (const SelectCase& k : {SelectCase{1, 1, 1, 0, 1, 1}, SelectCase{3, 20, 7, 0, 2, 10},
                              SelectCase{2, 41, 129, 3, 5, 8}, SelectCase{4, 82, 256, 1, 2, 40},
                              SelectCase{5, 9, 1000, 8, 1, 1}})
    run.cuda_only(k, fmt::format("take B={} T={} C={} offset={} stride={} count={}", k.B, k.Tn, k.C,
                                 k.offset, k.stride, k.count));
}

ICL_OP_TEST(OpSelect, Interleave) {
  for (auto [B, K, dx, dy] :
       {std::tuple<int64_t, int64_t, int64_t, int64_t>{1, 1, 1, 1}, {3, 7, 5, 1}, {2, 4, 3, 3}})
    run(InterleaveCase{B, K, dx, dy},
        fmt::format("interleave B={} K={} dx={} dy={}", B, K, dx, dy));
  for (auto [B, K, dx, dy] : {std::tuple<int64_t, int64_t, int64_t, int64_t>{2, 41, 20, 3},
                              {16, 40, 64, 64},
                              {4, 11, 129, 7}})
    run.cuda_only(InterleaveCase{B, K, dx, dy},
                  fmt::format("interleave B={} K={} dx={} dy={} (cuda)", B, K, dx, dy));
}

ICL_OP_TEST(OpSelect, Concat) {
  for (auto [N, Ca, Cb] : {std::tuple<int64_t, int64_t, int64_t>{1, 1, 1}, {7, 4, 8}, {33, 5, 3}})
    run(ConcatCase{N, Ca, Cb}, fmt::format("concat N={} Ca={} Cb={}", N, Ca, Cb));
  for (auto [N, Ca, Cb] : {std::tuple<int64_t, int64_t, int64_t>{300, 128, 256}, {17, 1, 1000}})
    run.cuda_only(ConcatCase{N, Ca, Cb}, fmt::format("concat N={} Ca={} Cb={} (cuda)", N, Ca, Cb));
}

// The graph op: [.., Ca] beside [.., Cb] with the leading axes kept, and each half of the gradient
// back to its own input (an input without gradient gets none).
TEST(OpSelect, ConcatSplitsTheGradient) {
  Arena arena;
  Graph g(arena, true);
  Tensor a = arena.tensor({2, 3, 2}), b = arena.tensor({2, 3, 1});
  Tensor ga = arena.tensor({2, 3, 2}, DType::F32, true);
  for (int64_t i = 0; i < 12; ++i) a.f()[i] = float(i);
  for (int64_t i = 0; i < 6; ++i) b.f()[i] = float(100 + i);
  const Var va = g.leaf(a, ga), vb = g.constant(b);
  const Var y = ops::concat(g, va, vb);
  ASSERT_EQ(y.shape().rank, 3);
  EXPECT_EQ(y.shape()[2], 3);
  EXPECT_EQ(y.f()[3], 2.f);  // row 1: a[1, :] = 2, 3, then b[1] = 101
  EXPECT_EQ(y.f()[5], 101.f);
  g.backward(weighted_sum(g, y));  // dy = 1, 2, 3, ... in y's order
  for (int64_t r = 0; r < 6; ++r)
    for (int64_t c = 0; c < 2; ++c) EXPECT_EQ(ga.f()[r * 2 + c], float(r * 3 + c + 1));
}

TEST(OpSelect, GargReadOutTakesTheXTokensAndScattersBack) {
  Arena arena;
  Graph g(arena, true);
  const int64_t B = 2, Tn = 6, C = 3, K = 3;  // x1 y1 x2 y2 x3 y3
  Tensor x = arena.tensor({B, Tn, C}), dx = arena.tensor({B, Tn, C}, DType::F32, true);
  for (int64_t i = 0; i < x.numel(); ++i) x.f()[i] = float(i);
  const Var y = ops::take_positions(g, g.leaf(x, dx), 0, 2, K);
  ASSERT_EQ(y.shape(), (Shape{B, K, C}));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < K; ++j)
      for (int64_t c = 0; c < C; ++c)
        EXPECT_EQ(y.f()[(b * K + j) * C + c], x.f()[(b * Tn + 2 * j) * C + c]);
  g.backward(weighted_sum(g, y));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < Tn; ++t)
      for (int64_t c = 0; c < C; ++c) {
        const float want = t % 2 ? 0.f : float((b * K + t / 2) * C + c + 1);
        EXPECT_EQ(dx.f()[(b * Tn + t) * C + c], want) << b << " " << t << " " << c;
      }
}

TEST(OpSelect, PositionsOutsideTheSequenceAreAnError) {
  Arena arena;
  Graph g(arena, false);
  const Var x = g.constant(arena.tensor({2, 5, 3}, DType::F32, true));
  EXPECT_NO_THROW(ops::take_positions(g, x, 0, 2, 3));  // 0, 2, 4
  EXPECT_NE(error_of([&] { ops::take_positions(g, x, 0, 2, 4); }).find("length 5"),
            std::string::npos);
  EXPECT_THROW(ops::take_positions(g, x, -1, 1, 1), Error);
  EXPECT_THROW(ops::take_positions(g, x, 0, 0, 2), Error);
  EXPECT_THROW(ops::take_positions(g, x, 0, 1, 0), Error);
}

// Garg et al.'s token layout: x_k at row 2k, (y_k, 0, ..., 0) at row 2k+1; no gradient.
TEST(OpSelect, InterleaveLaysOutGargsTokens) {
  const int64_t B = 2, K = 3, dx = 4, dy = 2;
  std::vector<float> xs(size_t(B * K * dx)), ys(size_t(B * K * dy));
  for (size_t i = 0; i < xs.size(); ++i) xs[i] = float(i) + 0.5f;
  for (size_t i = 0; i < ys.size(); ++i) ys[i] = -float(i) - 1.f;
  Arena arena;
  Graph g(arena, true);
  const Var tok = ops::interleave(g, {xs.data(), {B, K, dx}, DType::F32, Device::CPU},
                                  {ys.data(), {B, K, dy}, DType::F32, Device::CPU});
  ASSERT_EQ(tok.shape(), (Shape{B, 2 * K, dx}));
  EXPECT_FALSE(tok.needs_grad());
  for (int64_t b = 0; b < B; ++b)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t c = 0; c < dx; ++c) {
        const int64_t r = b * K + k;
        EXPECT_EQ(tok.f()[(2 * r) * dx + c], xs[size_t(r * dx + c)]);
        EXPECT_EQ(tok.f()[(2 * r + 1) * dx + c], c < dy ? ys[size_t(r * dy + c)] : 0.f);
      }
  // Labels wider than the inputs do not fit the token.
  EXPECT_NE(error_of([&] {
              ops::interleave(g, {xs.data(), {B, K, 1}, DType::F32, Device::CPU},
                              {ys.data(), {B, K, 2}, DType::F32, Device::CPU});
            }).find("labels of width 2 do not fit tokens of width 1"),
            std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Losses

// Masks for the CUDA cases: none, every third element unscored, or none scored at all.
enum class MaskKind { None, Thirds, AllZero };

const char* mask_name(MaskKind m) {
  return m == MaskKind::None ? "no mask" : m == MaskKind::Thirds ? "mask" : "all-zero mask";
}

std::vector<float> mask_of(MaskKind kind, int64_t N) {
  if (kind == MaskKind::None) return {};
  return kind == MaskKind::Thirds ? make_mask(N) : std::vector<float>(static_cast<size_t>(N), 0.f);
}

// Targets of unscored elements are never read: NaN there (or −1 for classes) would show.
std::vector<float> unscored_nan(std::vector<float> target, const std::vector<float>& mask) {
  for (size_t i = 0; i < target.size(); ++i)
    if (!kern::scored(ptr_or_null(mask), int64_t(i)))
      target[i] = std::numeric_limits<float>::quiet_NaN();
  return target;
}

constexpr MaskKind kMaskKinds[] = {MaskKind::None, MaskKind::Thirds, MaskKind::AllZero};
// Loss lengths for the CUDA twins: one block's reduction below, at and well above its threads;
// 0 is a loss of no elements (0, and it must be written).
constexpr int64_t kLossLengths[] = {0, 1, 2, 37, 5248, 100003};

ICL_OP_TEST(OpLoss, Mse) {
  for (int64_t Tn : {1, 7, 33}) {
    const int64_t B = 3, N = B * Tn;
    const uint64_t seed = uint64_t(Tn);
    run(MseCase{{B, Tn}, normal_floats(N, seed), {}}, fmt::format("mse T={}", Tn));
    run(MseCase{{B, Tn, 1}, normal_floats(N, seed), make_mask(N)},
        fmt::format("mse masked T={}", Tn));
  }
  for (int64_t N : kLossLengths)
    for (MaskKind mk : kMaskKinds) {
      const auto mask = mask_of(mk, N);
      run.cuda_only(MseCase{{N}, unscored_nan(normal_floats(N, uint64_t(N)), mask), mask, 2.0},
                    fmt::format("mse N={} {}", N, mask_name(mk)));
    }
}

ICL_OP_TEST(OpLoss, Logistic) {
  for (int64_t Tn : {1, 7, 33}) {
    const int64_t B = 3, N = B * Tn;
    const uint64_t seed = uint64_t(Tn);
    run(LogisticCase{{B, Tn}, signs(N, seed), {}}, fmt::format("logistic T={}", Tn));
    run(LogisticCase{{B, Tn}, signs(N, seed), make_mask(N)},
        fmt::format("logistic masked T={}", Tn));
    // Large margins on both sides: exercises both branches of the stable softplus and sigmoid.
    run(LogisticCase{{B, Tn}, signs(N, seed), make_mask(N), 12.0},
        fmt::format("logistic wide T={}", Tn));
  }
  for (int64_t N : kLossLengths)
    for (MaskKind mk : kMaskKinds) {
      const auto mask = mask_of(mk, N);
      run.cuda_only(LogisticCase{{N}, unscored_nan(signs(N, uint64_t(N)), mask), mask, 2.0},
                    fmt::format("logistic N={} {}", N, mask_name(mk)));
    }
}

ICL_OP_TEST(OpLoss, CrossEntropy) {
  for (int64_t Tn : {1, 7, 33})
    for (int64_t V : {3, 11}) {
      const int64_t B = 2, N = B * Tn;
      const auto targets = make_tokens(N, V, uint64_t(Tn + 10 * V));
      run(CrossEntropyCase{N, V, targets, {}}, fmt::format("ce T={} V={}", Tn, V));
      run(CrossEntropyCase{N, V, targets, make_mask(N)}, fmt::format("ce masked T={} V={}", Tn, V));
      run(CrossEntropyCase{N, V, targets, make_mask(N), 8.0},
          fmt::format("ce wide T={} V={}", Tn, V));
    }
  for (int64_t V : {1, 7, 1000})
    for (int64_t N : {0, 1, 37, 530})
      for (MaskKind mk : kMaskKinds) {
        const auto mask = mask_of(mk, N);
        auto targets = make_tokens(N, V, uint64_t(N + 10 * V));
        for (int64_t n = 0; n < N; ++n)
          if (!kern::scored(ptr_or_null(mask), n)) targets[size_t(n)] = -1;
        run.cuda_only(CrossEntropyCase{N, V, targets, mask, 3.0},
                      fmt::format("ce N={} V={} {}", N, V, mask_name(mk)));
      }
}

TEST(OpLoss, MseByHand) {
  Arena arena;
  Graph g(arena, true);
  Tensor p = arena.tensor({2, 2}), dp = arena.tensor({2, 2}, DType::F32, true);
  Tensor t = arena.tensor({4}), m = arena.tensor({4});
  const float pv[] = {1, 2, 3, 4}, tv[] = {0, 2, 5, NAN}, mv[] = {1, 1, 1, 0};
  for (int i = 0; i < 4; ++i) p.f()[i] = pv[i], t.f()[i] = tv[i], m.f()[i] = mv[i];
  const Var loss = ops::mse_loss(g, g.leaf(p, dp), t, m);  // (1 + 0 + 4) / 3; NaN target unscored
  EXPECT_FLOAT_EQ(loss.f()[0], 5.f / 3.f);
  g.backward(loss);
  const float want[] = {2.f / 3.f, 0.f, -4.f / 3.f, 0.f};  // 2 (p − t) / 3
  for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(dp.f()[i], want[i]) << i;

  Graph g2(arena, false);
  EXPECT_FLOAT_EQ(ops::mse_loss(g2, g2.constant(p.view({4})), t.view({4}), m).f()[0], 5.f / 3.f);
  t.f()[3] = 4;
  EXPECT_FLOAT_EQ(ops::mse_loss(g2, g2.constant(p), t).f()[0], 5.f / 4.f);  // no mask
}

TEST(OpLoss, LogisticAtZeroIsLog2AndStableAtLargeMargins) {
  Arena arena;
  Graph g(arena, true);
  const int64_t N = 4;
  Tensor z = arena.tensor({N}, DType::F32, true), dz = arena.tensor({N}, DType::F32, true);
  Tensor y = arena.tensor({N});
  const float yv[] = {1, -1, 1, -1};
  for (int i = 0; i < N; ++i) y.f()[i] = yv[i];
  const Var loss = ops::logistic_loss(g, g.leaf(z, dz), y, {});
  EXPECT_FLOAT_EQ(loss.f()[0], float(std::numbers::ln2));
  g.backward(loss);
  for (int i = 0; i < N; ++i) EXPECT_FLOAT_EQ(dz.f()[i], -yv[i] / 2.f / float(N));  // −y σ(0) / N

  // |z| = 1000 overflows exp in a naive formula; softplus gives the margin or 0.
  const float zs[] = {1000, -1000, -1000, 1000};  // y·z = 1000, 1000, −1000, −1000
  for (int i = 0; i < N; ++i) z.f()[i] = zs[i];
  Graph g2(arena, true);
  const Var l2 = ops::logistic_loss(g2, g2.leaf(z, dz), y, {});
  EXPECT_FLOAT_EQ(l2.f()[0], 2000.f / 4.f);
  for (int i = 0; i < N; ++i) dz.f()[i] = 0;
  g2.backward(l2);
  const float want[] = {0, 0, -0.25f, 0.25f};  // −y σ(−y z) / N
  for (int i = 0; i < N; ++i) EXPECT_FLOAT_EQ(dz.f()[i], want[i]) << i;

  y.f()[2] = 0;
  EXPECT_NE(error_of([&] { ops::logistic_loss(g2, g2.constant(z), y, {}); }).find("target 0"),
            std::string::npos);
}

TEST(OpLoss, CrossEntropyOfUniformLogitsIsLogV) {
  for (int64_t V : {3, 11}) {
    Arena arena;
    Graph g(arena, true);
    const int64_t N = 5;
    Tensor z = arena.tensor({N, V}), dz = arena.tensor({N, V}, DType::F32, true);
    for (int64_t i = 0; i < z.numel(); ++i) z.f()[i] = 0.7f;
    Tensor t = arena.tensor({N}, DType::I32), m = arena.tensor({N});
    for (int64_t n = 0; n < N; ++n) {
      t.i()[n] = int32_t(n % V);
      m.f()[n] = n == 2 ? 0.f : 1.f;
    }
    t.i()[2] = -1;  // unscored: never read
    const Var loss = ops::cross_entropy(g, g.leaf(z, dz), t, m);
    EXPECT_FLOAT_EQ(loss.f()[0], float(std::log(double(V))));
    g.backward(loss);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t v = 0; v < V; ++v) {
        const double want = n == 2 ? 0 : (1.0 / double(V) - (v == n % V)) / 4.0;
        EXPECT_NEAR(dz.f()[n * V + v], want, 1e-7) << n << " " << v;
      }
    t.i()[2] = int32_t(V);
    m.f()[2] = 1;
    const std::string msg = error_of([&] { ops::cross_entropy(g, g.constant(z), t, m); });
    EXPECT_NE(msg.find(fmt::format("target {}", V)), std::string::npos) << msg;
  }
}

TEST(OpLoss, CrossEntropyIsStableForHugeLogits) {
  // exp(1000) overflows both float and double; the max-shifted log-sum-exp does not.
  // row 0: ≈ 0; row 1: 1000 + log(1 + e^-1) − 999 = 1 + log(1 + e^-1).
  const int64_t N = 2, V = 3;
  const std::vector<double> z = {1000, 0, -1000, -1000, 1000, 999};
  const std::vector<int32_t> t = {0, 2};
  const double want = (1 + std::log1p(std::exp(-1.0))) / 2;
  std::vector<double> lse(2);
  EXPECT_NEAR(kern::cross_entropy_forward(lse.data(), z.data(), t.data(), nullptr, N, V), want,
              1e-12);
  // In float, lse ≈ 1000.3 is rounded to its ulp (6.1e-5), so the loss is good to about that.
  const std::vector<float> zf(z.begin(), z.end());
  std::vector<float> lsef(2);
  EXPECT_NEAR(kern::cross_entropy_forward(lsef.data(), zf.data(), t.data(), nullptr, N, V), want,
              6.2e-5);
}

TEST(OpLoss, NoScoredElementGivesZeroLossAndZeroGradient) {
  Arena arena;
  Graph g(arena, true);
  const int64_t N = 6, V = 4;
  Tensor p = arena.tensor({N}), dp = arena.tensor({N}, DType::F32, true);
  Tensor zl = arena.tensor({N, V}), dzl = arena.tensor({N, V}, DType::F32, true);
  Tensor tf = arena.tensor({N}), ti = arena.tensor({N}, DType::I32),
         m = arena.tensor({N}, DType::F32, true);
  for (int64_t i = 0; i < N; ++i) p.f()[i] = float(i), tf.f()[i] = 1, ti.i()[i] = 1;
  for (int64_t i = 0; i < N * V; ++i) zl.f()[i] = float(i);
  const Var l1 = ops::mse_loss(g, g.leaf(p, dp), tf, m);
  const Var l2 = ops::logistic_loss(g, g.leaf(p, dp), tf, m);
  const Var l3 = ops::cross_entropy(g, g.leaf(zl, dzl), ti, m);
  for (Var l : {l1, l2, l3}) {
    EXPECT_EQ(l.f()[0], 0.f);
    g.backward(l);
  }
  for (int64_t i = 0; i < N; ++i) EXPECT_EQ(dp.f()[i], 0.f);
  for (int64_t i = 0; i < N * V; ++i) EXPECT_EQ(dzl.f()[i], 0.f);
}

// ---------------------------------------------------------------------------------------------
// AdamW

// Independent reference in double, written from the paper's formula:
// m̂ = m / (1 − β1^t), v̂ = v / (1 − β2^t), p ← p − lr·(m̂ / (√v̂ + eps) + wd·p).
struct RefAdamW {
  std::vector<double> p, m, v;
  void step(const std::vector<double>& g, double lr, double b1, double b2, double eps, double wd,
            int t) {
    for (size_t i = 0; i < p.size(); ++i) {
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      const double mh = m[i] / (1 - std::pow(b1, t)), vh = v[i] / (1 - std::pow(b2, t));
      p[i] -= lr * (mh / (std::sqrt(vh) + eps) + wd * p[i]);
    }
  }
};

double max_rel(const std::vector<double>& a, const std::vector<double>& b) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i)
    worst = std::max(worst, std::abs(a[i] - b[i]) / std::max(std::abs(b[i]), 1e-12));
  return worst;
}

TEST(AdamW, KernelMatchesIndependentReference) {
  const int64_t n = 37;
  for (double wd : {0.0, 0.1}) {
    Rng rng({3, stream_id("adamw")}, 0);
    RefAdamW ref{std::vector<double>(static_cast<size_t>(n)),
                 std::vector<double>(static_cast<size_t>(n), 0.0),
                 std::vector<double>(static_cast<size_t>(n), 0.0)};
    for (auto& x : ref.p) x = rng.normal();
    std::vector<double> p = ref.p, m(static_cast<size_t>(n), 0.0), v(static_cast<size_t>(n), 0.0),
                        g(static_cast<size_t>(n));
    const double lr = 3e-3, b1 = 0.9, b2 = 0.98, eps = 1e-6;
    for (int t = 1; t <= 6; ++t) {
      for (auto& x : g) x = rng.normal() * 0.3;
      kern::adamw_update(p.data(), g.data(), m.data(), v.data(), n, lr, b1, b2, eps, wd, t);
      ref.step(g, lr, b1, b2, eps, wd, t);
      EXPECT_LE(max_rel(p, ref.p), 1e-12) << "wd=" << wd << " step " << t;
      EXPECT_LE(max_rel(m, ref.m), 1e-12);
      EXPECT_LE(max_rel(v, ref.v), 1e-12);
    }
  }
}

TEST(AdamW, StepOnParametersMatchesReferenceAndDecaysOnlyWhereAsked) {
  ParameterStore store;
  Parameter& w = store.add("w", {4, 5}, true);
  Parameter& b = store.add("b", {5}, false);
  Rng rng({4, stream_id("adamw store")}, 0);
  for (auto* p : {&w, &b})
    for (auto& x : p->value) x = float(rng.normal());
  auto as_double = [](const AlignedFloats& f) { return std::vector<double>(f.begin(), f.end()); };
  RefAdamW rw{as_double(w.value), std::vector<double>(20, 0.0), std::vector<double>(20, 0.0)};
  RefAdamW rb{as_double(b.value), std::vector<double>(5, 0.0), std::vector<double>(5, 0.0)};
  AdamW cfg;
  cfg.weight_decay = 0.05;
  cfg.lr = 123;  // adamw_step uses its lr argument, not cfg.lr
  for (int t = 1; t <= 5; ++t) {
    const double lr = 1e-3 * t;  // a schedule
    for (auto* p : {&w, &b})
      for (auto& x : p->grad) x = float(rng.normal());
    adamw_step(store, cfg, lr, t);
    rw.step(as_double(w.grad), lr, cfg.beta1, cfg.beta2, cfg.eps, 0.05, t);
    rb.step(as_double(b.grad), lr, cfg.beta1, cfg.beta2, cfg.eps, 0.0, t);
    EXPECT_LE(max_rel(as_double(w.value), rw.p), 1e-6) << "step " << t;
    EXPECT_LE(max_rel(as_double(b.value), rb.p), 1e-6) << "step " << t;
  }
}

TEST(AdamW, FirstStepIsLrTimesSignOfGradient) {
  // At step 1 the bias corrections make m̂ = g and v̂ = g², so the update is lr·g/(|g| + eps).
  const int64_t n = 8;
  std::vector<double> p(static_cast<size_t>(n), 1.0), m(static_cast<size_t>(n), 0.0),
      v(static_cast<size_t>(n), 0.0), g(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) g[size_t(i)] = (i % 2 ? -1 : 1) * (0.1 + 0.5 * double(i));
  const double lr = 1e-3;
  kern::adamw_update(p.data(), g.data(), m.data(), v.data(), n, lr, 0.9, 0.999, 1e-8, 0.0, 1);
  for (int64_t i = 0; i < n; ++i)
    EXPECT_NEAR(p[size_t(i)], 1.0 - lr * (g[size_t(i)] > 0 ? 1 : -1), lr * 1e-6) << i;
}

TEST(AdamW, ClipGradNormScalesOnlyAboveTheLimit) {
  ParameterStore store;
  Parameter& a = store.add("a", {2}, true);
  Parameter& b = store.add("b", {1}, false);
  auto set = [&] {
    a.grad = {3.f, 4.f};
    b.grad = {12.f};
  };
  set();
  EXPECT_DOUBLE_EQ(global_grad_norm(store), 13.0);
  EXPECT_DOUBLE_EQ(clip_grad_norm(store, 26.0), 13.0);  // below: untouched
  EXPECT_EQ(a.grad, (AlignedFloats{3.f, 4.f}));
  EXPECT_EQ(b.grad, (AlignedFloats{12.f}));
  EXPECT_DOUBLE_EQ(clip_grad_norm(store, 13.0), 13.0);  // equal: untouched
  EXPECT_EQ(b.grad, (AlignedFloats{12.f}));
  EXPECT_DOUBLE_EQ(clip_grad_norm(store, 6.5), 13.0);  // above: scaled by 6.5 / (13 + 1e-6)
  const double s = 6.5 / (13 + 1e-6);
  EXPECT_FLOAT_EQ(a.grad[0], float(3 * s));
  EXPECT_FLOAT_EQ(a.grad[1], float(4 * s));
  EXPECT_FLOAT_EQ(b.grad[0], float(12 * s));
  EXPECT_NEAR(global_grad_norm(store), 6.5, 1e-5);
  set();
  EXPECT_DOUBLE_EQ(clip_grad_norm(store, 0.0), 13.0);  // 0: no clipping
  EXPECT_EQ(b.grad, (AlignedFloats{12.f}));
}

}  // namespace
}  // namespace icl

// Activations (gelu, relu), elementwise ops (add, scale) and the norms (LayerNorm, RMSNorm, and
// the residual add fused with them): the kernels and their CUDA twins through the op harness at odd
// shapes, and each graph wrapper against its kernel.
#include <omp.h>

#include <cmath>
#include <tuple>

#include "kernels/activation.h"
#include "kernels/add_norm.h"
#include "kernels/elementwise.h"
#include "kernels/layernorm.h"
#include "kernels/rmsnorm.h"
#include "tests/op_harness.h"

namespace icl {
namespace {

using test::CudaTolerance;
using test::DeviceGrads;
using test::DeviceInputs;
using test::Part;
using test::Slot;

constexpr int64_t kRows[] = {1, 7, 33, 130};
constexpr int64_t kCols[] = {1, 5, 13, 70};  // not multiples of 8: vector loops get a tail

// Elementwise lengths for the CUDA twins: empty, tiny, and one that outgrows the capped grid.
constexpr int64_t kLengths[] = {0, 1, 37, 1000, 36739, 3000017};
// Norm shapes for the CUDA twins: one warp per row, C below, at and above a warp's 32 lanes.
constexpr int64_t kNormRows[] = {1, 37, 5248};
constexpr int64_t kNormCols[] = {1, 7, 64, 129, 256, 1000};
// Over 4096 chunks of 256 rows: the parameter-gradient column sums double their chunk size.
constexpr int64_t kManyRows = 256 * 4097 + 1;

// --- cases for the harness ---------------------------------------------------------------------

struct GeluCase {
  int64_t N, C;
  double spread = 1;  // inputs are spread·N(0, 1): 3 reaches the tails where tanh saturates
  std::vector<Shape> inputs() const { return {{N, C}}; }
  Shape output() const { return {N, C}; }
  double input(size_t, int64_t, double z) const { return spread * z; }
  template <class T>
  void forward(const std::vector<const T*>& x, T* y, std::vector<T>&) const {
    kern::gelu_forward(y, x[0], N * C);
  }
  template <class T>
  void backward(const std::vector<const T*>& x, const T*, const T* dy, const std::vector<T*>& dx,
                std::vector<T>&) const {
    kern::gelu_backward(dx[0], dy, x[0], N * C);
  }
#ifdef ICL_WITH_CUDA
  void cuda_forward(const CudaContext& cx, const DeviceInputs& x, float* y, float*) const {
    cuda::gelu_forward(cx, y, x[0], N * C);
  }
  void cuda_backward(const CudaContext& cx, const DeviceInputs& x, const float*, const float* dy,
                     const DeviceGrads& dx, float*) const {
    cuda::gelu_backward(cx, dx[0], dy, x[0], N * C);
  }
  // Eigen's vectorised tanh against CUDA's tanhf: a few ulp.
  CudaTolerance cuda_tolerance() const {
    return {.fwd = 1e-5, .bwd = 1e-5, .each_gradient_alone = true};
  }
#endif
};

struct ReluCase {
  int64_t N, C;
  bool signed_zeros = false;  // every fifth input an exact ±0 (CUDA only: no finite differences)
  std::vector<Shape> inputs() const { return {{N, C}}; }
  Shape output() const { return {N, C}; }
  // relu is not differentiable at 0: a central difference of step h straddling the kink
  // (|x| < h ≈ 1e-6) measures ½·dy, which matches neither one-sided derivative. Inputs are moved
  // 1e-3 away from 0, far beyond the step, so every finite difference sees a single linear piece.
  // With signed_zeros the subgradient at ±0 must be 0 on both devices.
  double input(size_t, int64_t i, double z) const {
    if (signed_zeros && i % 5 == 0) return (i / 5) % 2 ? 0.0 : -0.0;
    return z >= 0 ? z + 1e-3 : z - 1e-3;
  }
  template <class T>
  void forward(const std::vector<const T*>& x, T* y, std::vector<T>&) const {
    kern::relu_forward(y, x[0], N * C);
  }
  template <class T>
  void backward(const std::vector<const T*>& x, const T*, const T* dy, const std::vector<T*>& dx,
                std::vector<T>&) const {
    kern::relu_backward(dx[0], dy, x[0], N * C);
  }
#ifdef ICL_WITH_CUDA
  void cuda_forward(const CudaContext& cx, const DeviceInputs& x, float* y, float*) const {
    cuda::relu_forward(cx, y, x[0], N * C);
  }
  void cuda_backward(const CudaContext& cx, const DeviceInputs& x, const float*, const float* dy,
                     const DeviceGrads& dx, float*) const {
    cuda::relu_backward(cx, dx[0], dy, x[0], N * C);
  }
  CudaTolerance cuda_tolerance() const { return {.fwd = 0, .bwd = 0, .each_gradient_alone = true}; }
#endif
};

struct AddCase {
  int64_t N, C;
  std::vector<Shape> inputs() const { return {{N, C}, {N, C}}; }
  Shape output() const { return {N, C}; }
  template <class T>
  void forward(const std::vector<const T*>& x, T* y, std::vector<T>&) const {
    kern::add_forward(y, x[0], x[1], N * C);
  }
  template <class T>
  void backward(const std::vector<const T*>&, const T*, const T* dy, const std::vector<T*>& dx,
                std::vector<T>&) const {
    kern::add_backward(dx[0], dx[1], dy, N * C);
  }
#ifdef ICL_WITH_CUDA
  void cuda_forward(const CudaContext& cx, const DeviceInputs& x, float* y, float*) const {
    cuda::add_forward(cx, y, x[0], x[1], N * C);
  }
  void cuda_backward(const CudaContext& cx, const DeviceInputs&, const float*, const float* dy,
                     const DeviceGrads& dx, float*) const {
    cuda::add_backward(cx, dx[0], dx[1], dy, N * C);
  }
  CudaTolerance cuda_tolerance() const { return {.fwd = 0, .bwd = 0, .each_gradient_alone = true}; }
#endif
};

struct ScaleCase {
  int64_t N, C;
  float s;
  std::vector<Shape> inputs() const { return {{N, C}}; }
  Shape output() const { return {N, C}; }
  template <class T>
  void forward(const std::vector<const T*>& x, T* y, std::vector<T>&) const {
    kern::scale_forward(y, x[0], T(s), N * C);
  }
  template <class T>
  void backward(const std::vector<const T*>&, const T*, const T* dy, const std::vector<T*>& dx,
                std::vector<T>&) const {
    kern::scale_backward(dx[0], dy, T(s), N * C);
  }
#ifdef ICL_WITH_CUDA
  void cuda_forward(const CudaContext& cx, const DeviceInputs& x, float* y, float*) const {
    cuda::scale_forward(cx, y, x[0], s, N * C);
  }
  void cuda_backward(const CudaContext& cx, const DeviceInputs&, const float*, const float* dy,
                     const DeviceGrads& dx, float*) const {
    cuda::scale_backward(cx, dx[0], dy, s, N * C);
  }
  // y = s·x: one rounding on both sides; dx += s·dy may become one FMA on the GPU.
  CudaTolerance cuda_tolerance() const {
    return {.fwd = 0, .bwd = 1e-6, .each_gradient_alone = true};
  }
#endif
};

#ifdef ICL_WITH_CUDA
// The norms' CUDA tolerances: against kern:: in fp64 (row and column sums in another order), and
// each gradient alone must give the bits it gives with the others.
constexpr CudaTolerance kNormTolerance{.fwd = 1e-5,
                                       .aux = 1e-5,
                                       .bwd = 1e-5,
                                       .against = test::Against::Fp64,
                                       .each_gradient_alone = true};

// y's error is the float error of μ amplified by rstd: a row whose values nearly agree (over a
// million rows of C = 3, some do) is ill-conditioned in fp32 whatever the summation order. The
// bound is 1e-5 or C·ε32·max_row(rstd·max|x|), whichever is larger (x [N, C], rstd [N]). dx is
// rstd·(dŷ − mean(dŷ) − x̂·mean(dŷ·x̂)) with x̂ = (x − μ)·rstd from the GPU's own float μ and rstd:
// the same amplification, the same bound.
double layernorm_y_tolerance(const double* x, const double* rstd, int64_t N, int64_t C) {
  double cond = 0;
  for (int64_t r = 0; r < N; ++r) {
    double m = 0;
    for (int64_t c = 0; c < C; ++c) m = std::max(m, std::abs(x[r * C + c]));
    cond = std::max(cond, rstd[r] * m);
  }
  return std::max(1e-5, 4.0 * double(C) * 0x1p-24 * cond);
}

// Without rows the parameter gradients get nothing: their start values must come back bit for
// bit.
std::vector<Part> no_rows_parts(Slot slot, size_t j, const test::CpuResult& ref, int64_t N) {
  if (slot == Slot::Gradient && N == 0) return {test::whole("", int64_t(ref.grad[j].size()), 0.0)};
  return {};
}
#endif

// Inputs x [N, C], gamma [C], beta [C]; aux holds mean [N] then rstd [N].
struct LayerNormCase {
  int64_t N, C;
  float eps = 1e-5f;  // a float, so the fp32 and fp64 runs use the very same value
  std::vector<Shape> inputs() const { return {{N, C}, {C}, {C}}; }
  Shape output() const { return {N, C}; }
  // x off-centre and wide, so subtracting the mean and dividing by the spread both matter.
  double input(size_t which, int64_t, double z) const { return which == 0 ? 0.5 + 2 * z : z; }
  template <class T>
  void forward(const std::vector<const T*>& x, T* y, std::vector<T>& aux) const {
    aux.assign(size_t(2 * N), T(0));
    kern::layernorm_forward(y, aux.data(), aux.data() + N, x[0], x[1], x[2], N, C, T(eps));
  }
  template <class T>
  void backward(const std::vector<const T*>& x, const T*, const T* dy, const std::vector<T*>& dx,
                std::vector<T>& aux) const {
    kern::layernorm_backward(dx[0], dx[1], dx[2], dy, x[0], x[1], aux.data(), aux.data() + N, N, C);
  }
#ifdef ICL_WITH_CUDA
  void cuda_forward(const CudaContext& cx, const DeviceInputs& x, float* y, float* aux) const {
    cuda::layernorm_forward(cx, y, aux, aux + N, x[0], x[1], x[2], N, C, eps);
  }
  void cuda_backward(const CudaContext& cx, const DeviceInputs& x, const float*, const float* dy,
                     const DeviceGrads& dx, float* aux) const {
    cuda::layernorm_backward(cx, dx[0], dx[1], dx[2], dy, x[0], x[1], aux, aux + N, N, C);
  }
  CudaTolerance cuda_tolerance() const { return kNormTolerance; }
  std::vector<Part> cuda_parts(Slot slot, size_t j, const test::CpuResult& ref) const {
    if (slot == Slot::Output)
      return {test::whole("y", N * C,
                          layernorm_y_tolerance(ref.in[0].data(), ref.aux.data() + N, N, C))};
    if (slot == Slot::Aux) return {test::whole("mean", N), {"rstd", N, N, N}};
    if (slot == Slot::Gradient && j == 0)
      return {test::whole("dx", N * C,
                          layernorm_y_tolerance(ref.in[0].data(), ref.aux.data() + N, N, C))};
    return no_rows_parts(slot, j, ref, N);
  }
#endif
};

// Inputs x [N, C], gamma [C]; aux holds rstd [N].
struct RMSNormCase {
  int64_t N, C;
  double x_scale = 1;
  float eps = 1e-5f;
  std::vector<Shape> inputs() const { return {{N, C}, {C}}; }
  Shape output() const { return {N, C}; }
  double input(size_t which, int64_t, double z) const { return which == 0 ? x_scale * z : z; }
  template <class T>
  void forward(const std::vector<const T*>& x, T* y, std::vector<T>& aux) const {
    aux.assign(size_t(N), T(0));
    kern::rmsnorm_forward(y, aux.data(), x[0], x[1], N, C, T(eps));
  }
  template <class T>
  void backward(const std::vector<const T*>& x, const T*, const T* dy, const std::vector<T*>& dx,
                std::vector<T>& aux) const {
    kern::rmsnorm_backward(dx[0], dx[1], dy, x[0], x[1], aux.data(), N, C);
  }
#ifdef ICL_WITH_CUDA
  void cuda_forward(const CudaContext& cx, const DeviceInputs& x, float* y, float* aux) const {
    cuda::rmsnorm_forward(cx, y, aux, x[0], x[1], N, C, eps);
  }
  void cuda_backward(const CudaContext& cx, const DeviceInputs& x, const float*, const float* dy,
                     const DeviceGrads& dx, float* aux) const {
    cuda::rmsnorm_backward(cx, dx[0], dx[1], dy, x[0], x[1], aux, N, C);
  }
  CudaTolerance cuda_tolerance() const { return kNormTolerance; }
  std::vector<Part> cuda_parts(Slot slot, size_t j, const test::CpuResult& ref) const {
    return no_rows_parts(slot, j, ref, N);
  }
#endif
};

// The residual add fused with the norm (ops::add_norm): s = a + b, y = LayerNorm(s), or RMSNorm(s)
// without beta. Inputs a [N, C], b [N, C], gamma [C] (, beta [C]); aux holds s [N, C], then
// (mean [N] and) rstd [N]. The backward of the pair is the norm's backward into ds, then add's.
struct AddNormCase {
  int64_t N, C;
  bool rms = false;
  float eps = 1e-5f;
  int64_t stats() const { return rms ? 1 : 2; }
  std::vector<Shape> inputs() const {
    if (rms) return {{N, C}, {N, C}, {C}};
    return {{N, C}, {N, C}, {C}, {C}};
  }
  Shape output() const { return {N, C}; }
  // s = a + b off-centre and wide, as LayerNormCase's x; for RMSNorm of one column at the scale
  // of √eps, as RMSNormCase's (where the gradient of x/√(x² + eps) is not rounding noise).
  double input(size_t which, int64_t, double z) const {
    if (which >= 2) return z;
    return rms && C == 1 ? 1.5e-3 * z : 0.25 + 1.4 * z;
  }
  template <class T>
  void forward(const std::vector<const T*>& x, T* y, std::vector<T>& aux) const {
    aux.assign(size_t(N * C + stats() * N), T(0));
    T *s = aux.data(), *st = s + N * C;
    kern::add_forward(s, x[0], x[1], N * C);
    if (rms)
      kern::rmsnorm_forward(y, st, s, x[2], N, C, T(eps));
    else
      kern::layernorm_forward(y, st, st + N, s, x[2], x[3], N, C, T(eps));
  }
  template <class T>
  void backward(const std::vector<const T*>& x, const T*, const T* dy, const std::vector<T*>& dx,
                std::vector<T>& aux) const {
    const T *s = aux.data(), *st = s + N * C;
    std::vector<T> ds(size_t(N * C), T(0));
    if (rms)
      kern::rmsnorm_backward(ds.data(), dx[2], dy, s, x[2], st, N, C);
    else
      kern::layernorm_backward(ds.data(), dx[2], dx[3], dy, s, x[2], st, st + N, N, C);
    kern::add_backward(dx[0], dx[1], ds.data(), N * C);
  }
#ifdef ICL_WITH_CUDA
  void cuda_forward(const CudaContext& cx, const DeviceInputs& x, float* y, float* aux) const {
    float *s = aux, *st = aux + N * C;
    if (rms)
      cuda::add_rmsnorm_forward(cx, s, y, st, x[0], x[1], x[2], N, C, eps);
    else
      cuda::add_layernorm_forward(cx, s, y, st, st + N, x[0], x[1], x[2], x[3], N, C, eps);
  }
  void cuda_backward(const CudaContext& cx, const DeviceInputs& x, const float*, const float* dy,
                     const DeviceGrads& dx, float* aux) const {
    const float *s = aux, *st = aux + N * C;
    test::DeviceBuffer ds(size_t(N * C));
    device_zero(ds.get(), size_t(N * C) * sizeof(float), cx.stream());
    if (rms)
      cuda::rmsnorm_backward(cx, ds.get(), dx[2], dy, s, x[2], st, N, C);
    else
      cuda::layernorm_backward(cx, ds.get(), dx[2], dx[3], dy, s, x[2], st, st + N, N, C);
    cuda::add_backward(cx, dx[0], dx[1], ds.get(), N * C);
    cx.synchronize();  // before ds is freed
  }
  CudaTolerance cuda_tolerance() const { return kNormTolerance; }
  std::vector<Part> cuda_parts(Slot slot, size_t j, const test::CpuResult& ref) const {
    const int64_t n = N * C;
    const double y_tol =
        rms ? -1 : layernorm_y_tolerance(ref.aux.data(), ref.aux.data() + n + N, N, C);
    if (slot == Slot::Output && !rms) return {test::whole("y", n, y_tol)};
    if (slot == Slot::Gradient && j < 2 && !rms) return {test::whole(j ? "db" : "da", n, y_tol)};
    // s: one rounding of a + b against the exact sum.
    if (slot == Slot::Aux && rms) return {test::whole("s", n, 1e-7), {"rstd", n, N, N}};
    if (slot == Slot::Aux)
      return {test::whole("s", n, 1e-7), {"mean", n, N, N}, {"rstd", n + N, N, N}};
    return no_rows_parts(slot, j, ref, N);
  }
#endif
};

// --- helpers for the graph-wrapper tests -------------------------------------------------------

// A tensor in the arena with fixed, irregular values in about [-2, 2].
Tensor filled(Arena& arena, Shape s, double phase) {
  Tensor t = arena.tensor(s);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.f()[i] = float(2 * std::sin(0.7 * double(i) + phase) + 0.1 * std::cos(3.1 * double(i)));
  return t;
}

// A leaf whose gradient accumulates into a fresh zeroed tensor of its shape.
Var leaf(Graph& g, Arena& arena, Shape s, double phase) {
  return g.leaf(filled(arena, s, phase), arena.tensor(s, DType::F32, true));
}

// loss = Σ y·r, recorded on the tape, so g.backward(loss) seeds dy = r.
Var weighted_sum(Graph& g, Var y, const float* r) {
  Var loss = g.output({1}, true);
  loss.f()[0] = 0;
  for (int64_t i = 0; i < y.shape().numel(); ++i) loss.f()[0] += y.f()[i] * r[i];
  g.record([&g, y, loss, r] {
    const float d = g.grad(loss).f()[0];
    float* dy = g.grad(y).f();
    for (int64_t i = 0; i < y.shape().numel(); ++i) dy[i] += d * r[i];
  });
  return loss;
}

void expect_equal(const float* a, const float* b, int64_t n, const char* what) {
  SCOPED_TRACE(what);
  for (int64_t i = 0; i < n; ++i) ASSERT_FLOAT_EQ(a[i], b[i]) << "element " << i;
}

std::vector<float> zeros(int64_t n) { return std::vector<float>(size_t(n), 0.f); }

// --- activations -------------------------------------------------------------------------------

ICL_OP_TEST(OpActivation, Gelu) {
  for (int64_t N : kRows)
    for (int64_t C : kCols) run(GeluCase{N, C}, fmt::format("gelu N={} C={}", N, C));
  run(GeluCase{33, 70, 3.0}, "gelu tails");
  // Spread 3: reaches the tails where tanh saturates and 1 − t² cancels.
  for (int64_t n : kLengths) run.cuda_only(GeluCase{1, n, 3.0}, fmt::format("gelu n={}", n));
}

TEST(OpActivation, GeluIsTheTanhApproximation) {
  // GPT-2's tanh form, not the exact x·Φ(x) (which gives 0.8413447 at 1).
  const double x[] = {-3, -1, 0, 1, 2};
  const double want[] = {-0.0036373920817729943, -0.15880800939172324, 0, 0.8411919906082768,
                         1.954597694087775};
  double y[5];
  kern::gelu_forward(y, x, 5);
  for (int i = 0; i < 5; ++i) EXPECT_NEAR(y[i], want[i], 1e-12) << "x = " << x[i];
}

ICL_OP_TEST(OpActivation, Relu) {
  for (int64_t N : kRows)
    for (int64_t C : kCols) run(ReluCase{N, C}, fmt::format("relu N={} C={}", N, C));
  for (int64_t n : kLengths) run.cuda_only(ReluCase{1, n, true}, fmt::format("relu n={}", n));
}

TEST(OpActivation, GraphWrappersMatchKernels) {
  const Shape s{2, 3, 5};
  const int64_t n = s.numel();
  for (bool use_gelu : {true, false}) {
    SCOPED_TRACE(use_gelu ? "gelu" : "relu");
    Arena arena;
    Graph g(arena, true);
    const Var x = leaf(g, arena, s, 0.3);
    const Var y = use_gelu ? ops::gelu(g, x) : ops::relu(g, x);
    EXPECT_EQ(y.shape(), s);
    const Tensor r = filled(arena, s, 1.9);
    g.backward(weighted_sum(g, y, r.f()));

    std::vector<float> y_ref = zeros(n), dx_ref = zeros(n);
    if (use_gelu) {
      kern::gelu_forward(y_ref.data(), x.f(), n);
      kern::gelu_backward(dx_ref.data(), r.f(), x.f(), n);
    } else {
      kern::relu_forward(y_ref.data(), x.f(), n);
      kern::relu_backward(dx_ref.data(), r.f(), x.f(), n);
    }
    expect_equal(y.f(), y_ref.data(), n, "y");
    expect_equal(x.n->grad.f(), dx_ref.data(), n, "dx");
  }
}

// --- elementwise -------------------------------------------------------------------------------

ICL_OP_TEST(OpElementwise, AddAndScale) {
  for (int64_t N : kRows)
    for (int64_t C : kCols) {
      run(AddCase{N, C}, fmt::format("add N={} C={}", N, C));
      run(ScaleCase{N, C, 0.37f}, fmt::format("scale N={} C={}", N, C));
    }
  run(ScaleCase{7, 13, -2.5f}, "scale negative");
  for (int64_t n : kLengths) {
    run.cuda_only(AddCase{1, n}, fmt::format("add n={}", n));
    run.cuda_only(ScaleCase{1, n, 0.3779645f}, fmt::format("scale n={}", n));  // 1/√7
  }
}

TEST(OpElementwise, GraphWrappersMatchKernels) {
  const Shape s{3, 7};
  const int64_t n = s.numel();
  Arena arena;
  Graph g(arena, true);
  const Var a = leaf(g, arena, s, 0.1), b = leaf(g, arena, s, 2.2);
  const Tensor r = filled(arena, s, 1.3);
  const float k = 0.5f;
  // y = k·(a + b) + a: a is used twice, so its gradient must get both contributions.
  const Var y = ops::add(g, ops::scale(g, ops::add(g, a, b), k), a);
  EXPECT_EQ(y.shape(), s);
  g.backward(weighted_sum(g, y, r.f()));

  std::vector<float> sum = zeros(n), scaled = zeros(n), y_ref = zeros(n);
  kern::add_forward(sum.data(), a.f(), b.f(), n);
  kern::scale_forward(scaled.data(), sum.data(), k, n);
  kern::add_forward(y_ref.data(), scaled.data(), a.f(), n);
  std::vector<float> da = zeros(n), db = zeros(n), dscaled = zeros(n), dsum = zeros(n);
  kern::add_backward(dscaled.data(), da.data(), r.f(), n);
  kern::scale_backward(dsum.data(), dscaled.data(), k, n);
  kern::add_backward(da.data(), db.data(), dsum.data(), n);
  expect_equal(y.f(), y_ref.data(), n, "y");
  expect_equal(a.n->grad.f(), da.data(), n, "da");
  expect_equal(b.n->grad.f(), db.data(), n, "db");
  for (int64_t i = 0; i < n; ++i) EXPECT_FLOAT_EQ(a.n->grad.f()[i], (1 + k) * r.f()[i]);

  // x + x: both operands share one gradient buffer, which gets 2·dy.
  Arena arena2;
  Graph g2(arena2, true);
  const Var x = leaf(g2, arena2, s, 0.4);
  g2.backward(weighted_sum(g2, ops::add(g2, x, x), r.f()));
  for (int64_t i = 0; i < n; ++i) EXPECT_FLOAT_EQ(x.n->grad.f()[i], 2 * r.f()[i]);
}

// --- LayerNorm ---------------------------------------------------------------------------------

ICL_OP_TEST(OpLayerNorm, LayerNorm) {
  for (int64_t N : kRows)
    for (int64_t C : kCols) {
      if (C == 1) continue;  // degenerate: SingleColumnIsDegenerate
      run(LayerNormCase{N, C}, fmt::format("layernorm N={} C={}", N, C));
    }
  run(LayerNormCase{33, 13, 0.5f}, "layernorm large eps");
  for (int64_t N : kNormRows)
    for (int64_t C : kNormCols)
      run.cuda_only(LayerNormCase{N, C}, fmt::format("layernorm N={} C={} (cuda)", N, C));
  run.cuda_only(LayerNormCase{kManyRows, 3}, "layernorm many rows");
  run.cuda_only(LayerNormCase{0, 9}, "layernorm no rows");
}

// With C = 1, x − μ = 0: y = β and the true dx and dγ are 0. The harness cannot check dx there, as
// it scales errors by the largest gradient: the computed dx is rstd·(dŷ − mean(dŷ)), which is
// exactly 0 only without FMA; with -march=native the compiler fuses dy·γ − s1 into one FMA and
// leaves the rounding error of the product, times rstd = 1/√eps ≈ 316. So: y and dγ exactly as
// stated, dβ = Σ dy, and dx at the level of fp32 rounding of dŷ.
TEST(OpLayerNorm, SingleColumnIsDegenerate) {
  const int64_t N = 7, C = 1;
  const float gamma = 1.7f, beta = -0.3f;
  std::vector<float> x(N), dy(N), y(N), mean(N), rstd(N), dx(N, 0.f);
  float dsum = 0;
  for (int64_t n = 0; n < N; ++n) {
    x[size_t(n)] = float(std::sin(1.3 * double(n)) * 4);
    dy[size_t(n)] = float(std::cos(0.7 * double(n)));
    dsum += dy[size_t(n)];
  }
  float dgamma = 0, dbeta = 0;
  kern::layernorm_forward(y.data(), mean.data(), rstd.data(), x.data(), &gamma, &beta, N, C, 1e-5f);
  kern::layernorm_backward(dx.data(), &dgamma, &dbeta, dy.data(), x.data(), &gamma, mean.data(),
                           rstd.data(), N, C);
  for (int64_t n = 0; n < N; ++n) {
    EXPECT_EQ(y[size_t(n)], beta);
    EXPECT_LE(std::abs(dx[size_t(n)]), 1e-3f * std::abs(dy[size_t(n)] * gamma));
  }
  EXPECT_EQ(dgamma, 0.f);
  EXPECT_FLOAT_EQ(dbeta, dsum);
}

TEST(OpLayerNorm, NormalisesRows) {
  const int64_t N = 9, C = 13;
  std::vector<double> x(size_t(N * C)), y(x.size()), gamma(size_t(C), 1.0), beta(size_t(C), 0.0);
  for (size_t i = 0; i < x.size(); ++i) x[i] = 5 + 3 * std::sin(1.7 * double(i));
  std::vector<double> mean(static_cast<size_t>(N)), rstd(static_cast<size_t>(N));
  kern::layernorm_forward(y.data(), mean.data(), rstd.data(), x.data(), gamma.data(), beta.data(),
                          N, C, 0.0);
  for (int64_t n = 0; n < N; ++n) {
    double m = 0, v = 0;
    for (int64_t c = 0; c < C; ++c) m += y[size_t(n * C + c)] / double(C);
    for (int64_t c = 0; c < C; ++c) v += std::pow(y[size_t(n * C + c)] - m, 2) / double(C);
    EXPECT_NEAR(m, 0, 1e-12);
    EXPECT_NEAR(v, 1, 1e-12);
  }
}

TEST(OpLayerNorm, GraphWrapperMatchesKernel) {
  const int64_t C = 13;
  const Shape s{2, 3, C};
  const int64_t N = 6, n = N * C;
  Arena arena;
  Graph g(arena, true);
  const Var x = leaf(g, arena, s, 0.2), gamma = leaf(g, arena, {C}, 1.1),
            beta = leaf(g, arena, {C}, 2.7);
  const Var y = ops::layernorm(g, x, gamma, beta);
  EXPECT_EQ(y.shape(), s);
  const Tensor r = filled(arena, s, 0.9);
  g.backward(weighted_sum(g, y, r.f()));

  std::vector<float> y_ref = zeros(n), mean = zeros(N), rstd = zeros(N);
  kern::layernorm_forward(y_ref.data(), mean.data(), rstd.data(), x.f(), gamma.f(), beta.f(), N, C,
                          1e-5f);
  std::vector<float> dx = zeros(n), dgamma = zeros(C), dbeta = zeros(C);
  kern::layernorm_backward(dx.data(), dgamma.data(), dbeta.data(), r.f(), x.f(), gamma.f(),
                           mean.data(), rstd.data(), N, C);
  expect_equal(y.f(), y_ref.data(), n, "y");
  expect_equal(x.n->grad.f(), dx.data(), n, "dx");
  expect_equal(gamma.n->grad.f(), dgamma.data(), C, "dgamma");
  expect_equal(beta.n->grad.f(), dbeta.data(), C, "dbeta");

  // Without gradients: same output, nothing recorded.
  Arena arena2;
  Graph g2(arena2, false);
  const Var y2 = ops::layernorm(g2, g2.constant(x.value()), g2.constant(gamma.value()),
                                g2.constant(beta.value()));
  EXPECT_FALSE(y2.needs_grad());
  EXPECT_EQ(g2.tape_size(), 0u);
  expect_equal(y2.f(), y_ref.data(), n, "y without gradients");
}

// The γ/β reduction over rows runs in column blocks and rows in row blocks: results must be
// bit-identical whatever the number of threads.
TEST(OpLayerNorm, ThreadCountDoesNotChangeResults) {
  const int64_t N = 300, C = 70;
  std::vector<float> x(size_t(N * C)), gamma(static_cast<size_t>(C)), beta(static_cast<size_t>(C)),
      dy(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    x[i] = float(std::sin(0.37 * double(i)) * 3);
    dy[i] = float(std::cos(0.11 * double(i)));
  }
  for (size_t c = 0; c < gamma.size(); ++c) gamma[c] = beta[c] = float(std::cos(double(c)));
  auto run = [&](int threads) {
    omp_set_num_threads(threads);
    std::vector<float> y(x.size()), mean(static_cast<size_t>(N)), rstd(static_cast<size_t>(N)),
        out(x.size() + 2 * C, 0.f);
    kern::layernorm_forward(y.data(), mean.data(), rstd.data(), x.data(), gamma.data(), beta.data(),
                            N, C, 1e-5f);
    kern::layernorm_backward(out.data(), out.data() + N * C, out.data() + N * C + C, dy.data(),
                             x.data(), gamma.data(), mean.data(), rstd.data(), N, C);
    out.insert(out.end(), y.begin(), y.end());
    return out;
  };
  const int saved = omp_get_max_threads();
  const std::vector<float> one = run(1), four = run(4);
  omp_set_num_threads(saved);
  EXPECT_EQ(one, four);
}

// --- RMSNorm -----------------------------------------------------------------------------------

ICL_OP_TEST(OpRMSNorm, RMSNorm) {
  for (int64_t N : kRows)
    for (int64_t C : kCols) {
      // For C = 1, y = γ·x/√(x² + eps) is ±γ up to a relative eps/x², and dy/dx = γ·eps/(x² +
      // eps)^{3/2}. At |x| ~ 1 the gradient is ~1e-5 of the terms it is computed from: fp32
      // keeps only ~2 of its digits and a finite difference of the loss is mostly rounding noise.
      // So x is drawn at the scale of √eps, where RMSNorm of one value is a genuinely nonlinear
      // function with well-conditioned gradients, and the default tolerances apply.
      RMSNormCase rc{N, C};
      if (C == 1) rc.x_scale = 3e-3;
      run(rc, fmt::format("rmsnorm N={} C={}", N, C));
    }
  run(RMSNormCase{33, 13, 0.2, 0.5f}, "rmsnorm large eps");
  for (int64_t N : kNormRows)
    for (int64_t C : kNormCols)
      run.cuda_only(RMSNormCase{N, C, C == 1 ? 3e-3 : 2.0},  // C = 1: see above
                    fmt::format("rmsnorm N={} C={} (cuda)", N, C));
  run.cuda_only(RMSNormCase{kManyRows, 3, 2.0}, "rmsnorm many rows");
  run.cuda_only(RMSNormCase{0, 9}, "rmsnorm no rows");
}

TEST(OpRMSNorm, NormalisesRows) {
  const int64_t N = 9, C = 13;
  std::vector<double> x(size_t(N * C)), y(x.size()), gamma(size_t(C), 1.0),
      rstd(static_cast<size_t>(N));
  for (size_t i = 0; i < x.size(); ++i) x[i] = 5 + 3 * std::sin(1.7 * double(i));
  kern::rmsnorm_forward(y.data(), rstd.data(), x.data(), gamma.data(), N, C, 0.0);
  for (int64_t n = 0; n < N; ++n) {
    double ms = 0;
    for (int64_t c = 0; c < C; ++c) ms += std::pow(y[size_t(n * C + c)], 2) / double(C);
    EXPECT_NEAR(ms, 1, 1e-12);
  }
}

TEST(OpRMSNorm, GraphWrapperMatchesKernel) {
  const int64_t C = 13;
  const Shape s{2, 3, C};
  const int64_t N = 6, n = N * C;
  Arena arena;
  Graph g(arena, true);
  const Var x = leaf(g, arena, s, 0.2), gamma = leaf(g, arena, {C}, 1.1);
  const Var y = ops::rmsnorm(g, x, gamma);
  EXPECT_EQ(y.shape(), s);
  const Tensor r = filled(arena, s, 0.9);
  g.backward(weighted_sum(g, y, r.f()));

  std::vector<float> y_ref = zeros(n), rstd = zeros(N);
  kern::rmsnorm_forward(y_ref.data(), rstd.data(), x.f(), gamma.f(), N, C, 1e-5f);
  std::vector<float> dx = zeros(n), dgamma = zeros(C);
  kern::rmsnorm_backward(dx.data(), dgamma.data(), r.f(), x.f(), gamma.f(), rstd.data(), N, C);
  expect_equal(y.f(), y_ref.data(), n, "y");
  expect_equal(x.n->grad.f(), dx.data(), n, "dx");
  expect_equal(gamma.n->grad.f(), dgamma.data(), C, "dgamma");

  // Without gradients: same output, nothing recorded.
  Arena arena2;
  Graph g2(arena2, false);
  const Var y2 = ops::rmsnorm(g2, g2.constant(x.value()), g2.constant(gamma.value()));
  EXPECT_FALSE(y2.needs_grad());
  EXPECT_EQ(g2.tape_size(), 0u);
  expect_equal(y2.f(), y_ref.data(), n, "y without gradients");
}

TEST(OpRMSNorm, ThreadCountDoesNotChangeResults) {
  const int64_t N = 300, C = 70;
  std::vector<float> x(size_t(N * C)), gamma(static_cast<size_t>(C)), dy(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    x[i] = float(std::sin(0.37 * double(i)) * 3);
    dy[i] = float(std::cos(0.11 * double(i)));
  }
  for (size_t c = 0; c < gamma.size(); ++c) gamma[c] = float(std::cos(double(c)));
  auto run = [&](int threads) {
    omp_set_num_threads(threads);
    std::vector<float> y(x.size()), rstd(static_cast<size_t>(N)), out(x.size() + C, 0.f);
    kern::rmsnorm_forward(y.data(), rstd.data(), x.data(), gamma.data(), N, C, 1e-5f);
    kern::rmsnorm_backward(out.data(), out.data() + N * C, dy.data(), x.data(), gamma.data(),
                           rstd.data(), N, C);
    out.insert(out.end(), y.begin(), y.end());
    return out;
  };
  const int saved = omp_get_max_threads();
  const std::vector<float> one = run(1), four = run(4);
  omp_set_num_threads(saved);
  EXPECT_EQ(one, four);
}

// --- residual add fused with the norm
// --------------------------------------------------------------

ICL_OP_TEST(OpAddNorm, AddThenNorm) {
  for (const bool rms : {false, true}) {
    const char* name = rms ? "add_rmsnorm" : "add_layernorm";
    for (auto [N, C] : {std::pair<int64_t, int64_t>{1, 5}, {7, 13}, {33, 70}})
      run(AddNormCase{N, C, rms}, fmt::format("{} N={} C={}", name, N, C));
    for (int64_t N : kNormRows)
      for (int64_t C : kNormCols)
        run.cuda_only(AddNormCase{N, C, rms}, fmt::format("{} N={} C={} (cuda)", name, N, C));
    run.cuda_only(AddNormCase{kManyRows, 3, rms}, fmt::format("{} many rows", name));
    run.cuda_only(AddNormCase{0, 9, rms}, fmt::format("{} no rows", name));
  }
}

// ops::add_norm must be exactly ops::add followed by the norm, values and gradients, also when the
// sum is used again (as the residual stream is).
TEST(OpAddNorm, EqualsAddThenNormBitForBit) {
  for (const bool rms : {false, true})
    for (const Shape s : {Shape{1, 1}, Shape{3, 5, 13}, Shape{7, 70}}) {
      SCOPED_TRACE(std::string(rms ? "rmsnorm " : "layernorm ") + s.str());
      const int64_t n = s.numel(), C = s.cols();
      auto run = [&](bool fused, std::vector<std::vector<float>>& out) {
        Arena arena;
        Graph g(arena, true);
        const Var a = leaf(g, arena, s, 0.1), b = leaf(g, arena, s, 1.7);
        const Var gamma = leaf(g, arena, {C}, 0.5), beta = rms ? Var{} : leaf(g, arena, {C}, 2.5);
        const Tensor r1 = filled(arena, s, 0.9), r2 = filled(arena, s, 3.3);
        Var sum, normed;
        if (fused) {
          const ops::AddNorm an = ops::add_norm(g, a, b, gamma, beta);
          sum = an.sum;
          normed = an.normed;
        } else {
          sum = ops::add(g, a, b);
          normed = rms ? ops::rmsnorm(g, sum, gamma) : ops::layernorm(g, sum, gamma, beta);
        }
        // Both the norm and the sum itself feed the loss.
        g.backward(ops::add(g, weighted_sum(g, normed, r1.f()), weighted_sum(g, sum, r2.f())));
        out = {std::vector<float>(sum.f(), sum.f() + n),
               std::vector<float>(normed.f(), normed.f() + n),
               std::vector<float>(a.n->grad.f(), a.n->grad.f() + n),
               std::vector<float>(b.n->grad.f(), b.n->grad.f() + n),
               std::vector<float>(gamma.n->grad.f(), gamma.n->grad.f() + C)};
        if (!rms) out.emplace_back(beta.n->grad.f(), beta.n->grad.f() + C);
      };
      std::vector<std::vector<float>> fused, plain;
      run(true, fused);
      run(false, plain);
      ASSERT_EQ(fused.size(), plain.size());
      for (size_t i = 0; i < fused.size(); ++i) EXPECT_EQ(fused[i], plain[i]) << "output " << i;
    }
}

}  // namespace
}  // namespace icl

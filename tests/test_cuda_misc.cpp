// CUDA twins of the input/output ops, losses and the optimizer, against their CPU kern:: functions:
// token and positional embeddings, take_positions, interleave, mse / logistic / cross-entropy,
// the gradient norm and AdamW with clipping.
//
// Tolerances: copies, gathers and the embedding / positional backwards run the CPU's fp32
// additions in the CPU's order, so they must match bit for bit (0). The losses sum in fp64 in
// another order and use the device's expf / logf / log1pf (within 2 ulp of glibc): 1e-6 relative
// for mse and logistic, 1e-5 for cross-entropy (its Σ exp is a lane-strided float tree on the GPU
// and a serial float sum on the CPU). The gradient norm sums in fp64 in another order: 1e-12.
// AdamW matches the CPU's roundings except where the device's fp64 pow differs in the last bit:
// 1e-6.
#ifdef ICL_WITH_CUDA

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "core/parameter.h"
#include "core/rng.h"
#include "kernels/embedding.h"
#include "kernels/loss.h"
#include "kernels/rope.h"
#include "kernels/select.h"
#include "tests/cuda_harness.h"
#include "train/adamw.h"

namespace icl {
namespace {

using test::ctx;
using test::DeviceArray;
using test::DeviceBuffer;
using test::expect_close;
using test::random_vector;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

std::vector<int32_t> random_tokens(int64_t N, int64_t V, const std::string& label) {
  Rng r({7, stream_id(label)}, 0);
  std::vector<int32_t> t(static_cast<size_t>(N));
  for (auto& x : t) x = int32_t(r.below(uint64_t(V)));
  return t;
}

template <class T>
void expect_bitwise(const std::vector<T>& a, const std::vector<T>& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(T)), 0) << what << " differs";
}

std::string shape_str(std::initializer_list<int64_t> d) {
  std::string s;
  for (int64_t x : d) {
    if (!s.empty()) s += 'x';  // not "x" + std::string: GCC 12 warns falsely (-Wrestrict)
    s += std::to_string(x);
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Embeddings

TEST(CudaMisc, EmbeddingForwardAndBackwardMatchCpuExactly) {
  ICL_REQUIRE_GPU();
  struct Case {
    int64_t N, V, C;
  };
  // Small V next to N: many repeated tokens. V = 1000 spans 32 row tiles, C = 1000 eight column
  // tiles with a partial last one; V = 2.1M needs more row tiles than the grid has (65535), so
  // blocks take a second vocabulary slice.
  for (const Case k : {Case{1, 1, 1}, Case{37, 5, 7}, Case{5248, 97, 129}, Case{300, 1000, 64},
                       Case{64, 3, 256}, Case{37, 40, 1000}, Case{37, 2100000, 1}}) {
    const std::string tag = shape_str({k.N, k.V, k.C});
    auto tokens = random_tokens(k.N, k.V, "emb tokens " + tag);
    tokens[0] = int32_t(k.V - 1);  // the last row is used
    const auto table = random_vector(size_t(k.V * k.C), "emb table " + tag);
    const auto dy = random_vector(size_t(k.N * k.C), "emb dy " + tag);
    const auto dtable0 = random_vector(size_t(k.V * k.C), "emb dtable " + tag);

    std::vector<float> y(size_t(k.N * k.C));
    kern::embedding_forward(y.data(), tokens.data(), table.data(), k.N, k.C);
    std::vector<float> dtable = dtable0;
    kern::embedding_backward(dtable.data(), dy.data(), tokens.data(), k.N, k.C);

    DeviceArray<int32_t> d_tok(tokens);
    DeviceBuffer d_table(table), d_y(size_t(k.N * k.C)), d_dy(dy), d_dtable(dtable0);
    cuda::embedding_forward(ctx(), d_y.get(), d_tok.get(), d_table.get(), k.N, k.C);
    cuda::embedding_backward(ctx(), d_dtable.get(), d_dy.get(), d_tok.get(), k.N, k.V, k.C);
    ctx().synchronize();
    expect_close(d_y.download(), y, 0, "embedding y " + tag);
    const auto got = d_dtable.download();
    expect_close(got, dtable, 0, "embedding dtable " + tag);

    // Rerun from the same start: bit-identical.
    d_dtable.upload(dtable0);
    cuda::embedding_backward(ctx(), d_dtable.get(), d_dy.get(), d_tok.get(), k.N, k.V, k.C);
    // A null gradient is skipped.
    cuda::embedding_backward(ctx(), nullptr, d_dy.get(), d_tok.get(), k.N, k.V, k.C);
    ctx().synchronize();
    expect_bitwise(d_dtable.download(), got, "embedding dtable rerun " + tag);
  }
}

TEST(CudaMisc, PositionalForwardAndBackwardMatchCpuExactly) {
  ICL_REQUIRE_GPU();
  struct Case {
    int64_t B, Tn, Tmax, C;
  };
  for (const Case k : {Case{1, 1, 1, 1}, Case{3, 7, 9, 7}, Case{2, 41, 64, 129},
                       Case{5, 82, 100, 256}, Case{37, 3, 3, 1000}}) {
    const std::string tag = shape_str({k.B, k.Tn, k.Tmax, k.C});
    const size_t nx = size_t(k.B * k.Tn * k.C), np = size_t(k.Tmax * k.C);
    const auto x = random_vector(nx, "pos x " + tag), pos = random_vector(np, "pos pos " + tag);
    const auto dy = random_vector(nx, "pos dy " + tag);
    const auto dx0 = random_vector(nx, "pos dx " + tag), dpos0 = random_vector(np, "pos dp " + tag);

    std::vector<float> y(nx), dx = dx0, dpos = dpos0;
    kern::add_positional_forward(y.data(), x.data(), pos.data(), k.B, k.Tn, k.C);
    kern::add_positional_backward(dx.data(), dpos.data(), dy.data(), k.B, k.Tn, k.C);

    DeviceBuffer d_x(x), d_pos(pos), d_y(nx), d_dy(dy), d_dx(dx0), d_dpos(dpos0);
    cuda::add_positional_forward(ctx(), d_y.get(), d_x.get(), d_pos.get(), k.B, k.Tn, k.C);
    cuda::add_positional_backward(ctx(), d_dx.get(), d_dpos.get(), d_dy.get(), k.B, k.Tn, k.C);
    ctx().synchronize();
    expect_close(d_y.download(), y, 0, "positional y " + tag);
    expect_close(d_dx.download(), dx, 0, "positional dx " + tag);
    const auto got_dpos = d_dpos.download();
    expect_close(got_dpos, dpos, 0, "positional dpos " + tag);  // rows >= Tn untouched too

    // Null gradients, one at a time; the other must get exactly the same result as before.
    d_dx.upload(dx0);
    d_dpos.upload(dpos0);
    cuda::add_positional_backward(ctx(), nullptr, d_dpos.get(), d_dy.get(), k.B, k.Tn, k.C);
    ctx().synchronize();
    expect_bitwise(d_dpos.download(), got_dpos, "positional dpos, dx null " + tag);
    expect_bitwise(d_dx.download(), dx0, "positional dx untouched " + tag);
    cuda::add_positional_backward(ctx(), d_dx.get(), nullptr, d_dy.get(), k.B, k.Tn, k.C);
    ctx().synchronize();
    expect_close(d_dx.download(), dx, 0, "positional dx, dpos null " + tag);
    expect_bitwise(d_dpos.download(), got_dpos, "positional dpos untouched " + tag);
  }
}

// RoPE (kernels/rope.h). Both sides round the same double angles to float; the rotation's two
// products and add may be contracted to an FMA on either side, so 1e-6 relative (a few ulp), not 0.
// The gradient accumulates into random values; v is copied (added) unrotated.
TEST(CudaMisc, RopeForwardAndBackwardMatchCpu) {
  ICL_REQUIRE_GPU();
  struct Case {
    int64_t B, Tn, C, H;
    double base;
  };
  for (const Case k : {Case{1, 1, 2, 1, 1e4}, Case{3, 7, 12, 3, 1e4}, Case{2, 90, 64, 4, 1e4},
                       Case{1, 1031, 96, 3, 500.0}, Case{5, 33, 288, 8, 1e4}}) {
    const std::string tag = shape_str({k.B, k.Tn, k.C, k.H});
    const size_t n = size_t(k.B * k.Tn * 3 * k.C);
    const auto x = random_vector(n, "rope x " + tag), dy = random_vector(n, "rope dy " + tag);
    const auto dx0 = random_vector(n, "rope dx " + tag);
    std::vector<float> y(n), dx = dx0;
    kern::rope_forward(y.data(), x.data(), k.B, k.Tn, k.C, k.H, k.base);
    kern::rope_backward(dx.data(), dy.data(), k.B, k.Tn, k.C, k.H, k.base);

    DeviceBuffer d_x(x), d_y(n), d_dy(dy), d_dx(dx0);
    cuda::rope_forward(ctx(), d_y.get(), d_x.get(), k.B, k.Tn, k.C, k.H, k.base);
    cuda::rope_backward(ctx(), d_dx.get(), d_dy.get(), k.B, k.Tn, k.C, k.H, k.base);
    ctx().synchronize();
    expect_close(d_y.download(), y, 1e-6, "rope y " + tag);
    expect_close(d_dx.download(), dx, 1e-6, "rope dx " + tag);
  }
}

// ---------------------------------------------------------------------------------------------
// Selection

TEST(CudaMisc, TakePositionsMatchesCpuExactly) {
  ICL_REQUIRE_GPU();
  struct Case {
    int64_t B, Tn, C, offset, stride, count;
  };
  for (const Case k : {Case{1, 1, 1, 0, 1, 1}, Case{3, 20, 7, 0, 2, 10}, Case{2, 41, 129, 3, 5, 8},
                       Case{4, 82, 256, 1, 2, 40}, Case{5, 9, 1000, 8, 1, 1}}) {
    const std::string tag = shape_str({k.B, k.Tn, k.C, k.offset, k.stride, k.count});
    const size_t nx = size_t(k.B * k.Tn * k.C), ny = size_t(k.B * k.count * k.C);
    const auto x = random_vector(nx, "take x " + tag), dy = random_vector(ny, "take dy " + tag);
    const auto dx0 = random_vector(nx, "take dx " + tag);
    std::vector<float> y(ny), dx = dx0;
    kern::take_positions_forward(y.data(), x.data(), k.B, k.Tn, k.C, k.offset, k.stride, k.count);
    kern::take_positions_backward(dx.data(), dy.data(), k.B, k.Tn, k.C, k.offset, k.stride,
                                  k.count);

    DeviceBuffer d_x(x), d_y(ny), d_dy(dy), d_dx(dx0);
    cuda::take_positions_forward(ctx(), d_y.get(), d_x.get(), k.B, k.Tn, k.C, k.offset, k.stride,
                                 k.count);
    cuda::take_positions_backward(ctx(), d_dx.get(), d_dy.get(), k.B, k.Tn, k.C, k.offset, k.stride,
                                  k.count);
    cuda::take_positions_backward(ctx(), nullptr, d_dy.get(), k.B, k.Tn, k.C, k.offset, k.stride,
                                  k.count);  // skipped
    ctx().synchronize();
    expect_close(d_y.download(), y, 0, "take_positions y " + tag);
    expect_close(d_dx.download(), dx, 0, "take_positions dx " + tag);
  }
}

TEST(CudaMisc, InterleaveMatchesCpuExactly) {
  ICL_REQUIRE_GPU();
  struct Case {
    int64_t B, K, dx, dy;
  };
  for (const Case k : {Case{1, 1, 1, 1}, Case{3, 7, 5, 1}, Case{2, 41, 20, 3}, Case{16, 40, 64, 64},
                       Case{4, 11, 129, 7}}) {
    const std::string tag = shape_str({k.B, k.K, k.dx, k.dy});
    const size_t nt = size_t(k.B * 2 * k.K * k.dx);
    const auto xs = random_vector(size_t(k.B * k.K * k.dx), "inter xs " + tag);
    const auto ys = random_vector(size_t(k.B * k.K * k.dy), "inter ys " + tag);
    std::vector<float> tok(nt);
    kern::interleave_forward(tok.data(), xs.data(), ys.data(), k.B, k.K, k.dx, k.dy);
    DeviceBuffer d_xs(xs), d_ys(ys), d_tok(nt);
    cuda::interleave_forward(ctx(), d_tok.get(), d_xs.get(), d_ys.get(), k.B, k.K, k.dx, k.dy);
    ctx().synchronize();
    expect_close(d_tok.download(), tok, 0, "interleave " + tag);
  }
}

// ---------------------------------------------------------------------------------------------
// Losses

enum class MaskKind { None, Thirds, AllZero };

const char* mask_name(MaskKind m) {
  return m == MaskKind::None ? "no mask" : m == MaskKind::Thirds ? "mask" : "all-zero mask";
}

// Every third element unscored (Thirds), or none scored (AllZero); empty for None.
std::vector<float> make_mask(MaskKind kind, int64_t N) {
  if (kind == MaskKind::None) return {};
  std::vector<float> m(static_cast<size_t>(N), 0.f);
  if (kind == MaskKind::Thirds)
    for (int64_t i = 0; i < N; ++i) m[size_t(i)] = i % 3 == 1 ? 0.f : 1.f;
  return m;
}

const float* ptr_or_null(const std::vector<float>& v) { return v.empty() ? nullptr : v.data(); }

// A device copy of the mask, or none.
struct DeviceMask {
  std::unique_ptr<DeviceBuffer> buf;
  explicit DeviceMask(const std::vector<float>& m) {
    if (!m.empty()) buf = std::make_unique<DeviceBuffer>(m);
  }
  const float* get() const { return buf ? buf->get() : nullptr; }
};

enum class Pointwise { Mse, Logistic };

void check_pointwise_loss(Pointwise kind, int64_t N, MaskKind mk) {
  const bool mse = kind == Pointwise::Mse;
  const std::string tag =
      std::string(mse ? "mse" : "logistic") + " N=" + std::to_string(N) + " " + mask_name(mk);
  SCOPED_TRACE(tag);
  const auto mask = make_mask(mk, N);
  const float* m = ptr_or_null(mask);
  const auto z = random_vector(size_t(N), tag + " z", 2.0);
  std::vector<float> target = random_vector(size_t(N), tag + " y");
  if (!mse)
    for (auto& y : target) y = y < 0 ? -1.f : 1.f;
  for (int64_t i = 0; i < N; ++i)
    if (!kern::scored(m, i)) target[size_t(i)] = kNaN;  // never read
  const int64_t S = kern::count_scored(m, N);
  const float dloss = 0.75f;
  // Gradient start values of the size of the gradient, so the comparison sees what was added.
  const auto dz0 = random_vector(size_t(N), tag + " dz", 1.0 / double(S > 0 ? S : 1));

  std::vector<float> dz = dz0;
  float loss = 0;
  if (mse) {
    loss = kern::mse_forward(z.data(), target.data(), m, N);
    kern::mse_backward(dz.data(), dloss, z.data(), target.data(), m, N);
  } else {
    loss = kern::logistic_forward(z.data(), target.data(), m, N);
    kern::logistic_backward(dz.data(), dloss, z.data(), target.data(), m, N);
  }

  DeviceBuffer d_z(z), d_t(target), d_loss(1), d_dloss(std::vector<float>{dloss}), d_dz(dz0);
  const DeviceMask d_m(mask);
  auto run = [&] {
    if (mse) {
      cuda::mse_forward(ctx(), d_loss.get(), d_z.get(), d_t.get(), d_m.get(), N);
      cuda::mse_backward(ctx(), d_dz.get(), d_dloss.get(), d_z.get(), d_t.get(), d_m.get(), N);
      cuda::mse_backward(ctx(), nullptr, d_dloss.get(), d_z.get(), d_t.get(), d_m.get(), N);
    } else {
      cuda::logistic_forward(ctx(), d_loss.get(), d_z.get(), d_t.get(), d_m.get(), N);
      cuda::logistic_backward(ctx(), d_dz.get(), d_dloss.get(), d_z.get(), d_t.get(), d_m.get(), N);
      cuda::logistic_backward(ctx(), nullptr, d_dloss.get(), d_z.get(), d_t.get(), d_m.get(), N);
    }
    ctx().synchronize();
  };
  run();
  const auto got_loss = d_loss.download(), got_dz = d_dz.download();
  expect_close(got_loss, {loss}, 1e-6, "loss");
  expect_close(got_dz, dz, 1e-6, "gradient");
  if (S == 0) {
    EXPECT_EQ(got_loss[0], 0.f);
    expect_bitwise(got_dz, dz0, "gradient with nothing scored");
  }
  d_loss.poison();
  d_dz.upload(dz0);
  run();
  expect_bitwise(d_loss.download(), got_loss, "loss rerun");
  expect_bitwise(d_dz.download(), got_dz, "gradient rerun");
}

TEST(CudaMisc, MseLossMatchesCpu) {
  ICL_REQUIRE_GPU();
  for (int64_t N : {1, 2, 37, 5248, 100003})
    for (MaskKind mk : {MaskKind::None, MaskKind::Thirds, MaskKind::AllZero})
      check_pointwise_loss(Pointwise::Mse, N, mk);
}

TEST(CudaMisc, LogisticLossMatchesCpu) {
  ICL_REQUIRE_GPU();
  for (int64_t N : {1, 2, 37, 5248, 100003})
    for (MaskKind mk : {MaskKind::None, MaskKind::Thirds, MaskKind::AllZero})
      check_pointwise_loss(Pointwise::Logistic, N, mk);
}

TEST(CudaMisc, LossesOfNoElementsAreZero) {
  ICL_REQUIRE_GPU();
  DeviceBuffer empty(0), loss(1), lse(1);
  DeviceArray<int32_t> no_targets(0);
  cuda::mse_forward(ctx(), loss.get(), empty.get(), empty.get(), nullptr, 0);
  ctx().synchronize();
  EXPECT_EQ(loss.download()[0], 0.f);
  loss.poison();
  cuda::logistic_forward(ctx(), loss.get(), empty.get(), empty.get(), nullptr, 0);
  ctx().synchronize();
  EXPECT_EQ(loss.download()[0], 0.f);
  loss.poison();
  cuda::cross_entropy_forward(ctx(), loss.get(), lse.get(), empty.get(), no_targets.get(), nullptr,
                              0, 7);
  ctx().synchronize();
  EXPECT_EQ(loss.download()[0], 0.f);
}

void check_cross_entropy(int64_t N, int64_t V, MaskKind mk) {
  const std::string tag =
      "cross-entropy N=" + std::to_string(N) + " V=" + std::to_string(V) + " " + mask_name(mk);
  SCOPED_TRACE(tag);
  const auto mask = make_mask(mk, N);
  const float* m = ptr_or_null(mask);
  const auto z = random_vector(size_t(N * V), tag + " z", 3.0);
  auto targets = random_tokens(N, V, tag + " t");
  for (int64_t n = 0; n < N; ++n)
    if (!kern::scored(m, n)) targets[size_t(n)] = -1;  // never read
  const int64_t S = kern::count_scored(m, N);
  const float dloss = 1.25f;
  const auto dz0 = random_vector(size_t(N * V), tag + " dz", 1.0 / double(S > 0 ? S : 1));

  std::vector<float> lse(static_cast<size_t>(N)), dz = dz0;
  const float loss = kern::cross_entropy_forward(lse.data(), z.data(), targets.data(), m, N, V);
  kern::cross_entropy_backward(dz.data(), dloss, lse.data(), z.data(), targets.data(), m, N, V);

  DeviceBuffer d_z(z), d_loss(1), d_lse(static_cast<size_t>(N)), d_dloss(std::vector<float>{dloss}),
      d_dz(dz0);
  DeviceArray<int32_t> d_t(targets);
  const DeviceMask d_m(mask);
  auto run = [&] {
    cuda::cross_entropy_forward(ctx(), d_loss.get(), d_lse.get(), d_z.get(), d_t.get(), d_m.get(),
                                N, V);
    cuda::cross_entropy_backward(ctx(), d_dz.get(), d_dloss.get(), d_lse.get(), d_z.get(),
                                 d_t.get(), d_m.get(), N, V);
    cuda::cross_entropy_backward(ctx(), nullptr, d_dloss.get(), d_lse.get(), d_z.get(), d_t.get(),
                                 d_m.get(), N, V);
    ctx().synchronize();
  };
  run();
  const auto got_loss = d_loss.download(), got_lse = d_lse.download(), got_dz = d_dz.download();
  // ℓ_n = lse_n − z_t can be small next to lse_n (a confident row), and lse_n is rounded to float
  // at its own magnitude on either side: the loss is compared at the scale of lse.
  double lse_scale = 1;
  for (float l : lse) lse_scale = std::max(lse_scale, double(std::abs(l)));
  EXPECT_LE(std::abs(double(got_loss[0]) - double(loss)), 1e-5 * std::max(lse_scale, double(loss)))
      << "loss: gpu " << got_loss[0] << " cpu " << loss;
  expect_close(got_lse, lse, 1e-5, "lse");
  expect_close(got_dz, dz, 1e-5, "gradient");
  if (S == 0) {
    EXPECT_EQ(got_loss[0], 0.f);
    expect_bitwise(got_dz, dz0, "gradient with nothing scored");
  }

  // Without lse (no backward follows): the same loss, bit for bit.
  DeviceBuffer d_loss2(1);
  cuda::cross_entropy_forward(ctx(), d_loss2.get(), nullptr, d_z.get(), d_t.get(), d_m.get(), N, V);
  ctx().synchronize();
  expect_bitwise(d_loss2.download(), got_loss, "loss without lse");

  d_loss.poison();
  d_lse.poison();
  d_dz.upload(dz0);
  run();
  expect_bitwise(d_loss.download(), got_loss, "loss rerun");
  expect_bitwise(d_lse.download(), got_lse, "lse rerun");
  expect_bitwise(d_dz.download(), got_dz, "gradient rerun");
}

TEST(CudaMisc, CrossEntropyMatchesCpu) {
  ICL_REQUIRE_GPU();
  for (int64_t V : {1, 7, 1000})
    for (int64_t N : {1, 37, 530})
      for (MaskKind mk : {MaskKind::None, MaskKind::Thirds, MaskKind::AllZero})
        check_cross_entropy(N, V, mk);
}

// ---------------------------------------------------------------------------------------------
// Gradient norm and AdamW

TEST(CudaMisc, GradNormMatchesFp64HostSum) {
  ICL_REQUIRE_GPU();
  // Below, at and above one element per block, and a size that leaves the last chunk short.
  for (int64_t n : {0, 1, 37, 511, 512, 513, 5248, 1000003}) {
    const std::string tag = "grad_norm n=" + std::to_string(n);
    const auto g = random_vector(size_t(n), tag, 0.01);
    double sum = 0;
    for (float x : g) sum += double(x) * double(x);
    const double want = std::sqrt(sum);

    DeviceBuffer d_g(g);
    DeviceArray<double> norm(std::vector<double>{std::nan("")}),
        partials(std::vector<double>(size_t(cuda::kNormBlocks), std::nan("")));
    cuda::grad_norm(ctx(), norm.get(), partials.get(), d_g.get(), n);
    ctx().synchronize();
    const double got = norm.download()[0];
    if (n == 0)
      EXPECT_EQ(got, 0.0) << tag;
    else
      EXPECT_LE(std::abs(got - want), 1e-12 * want) << tag << ": gpu " << got << " host " << want;
    cuda::grad_norm(ctx(), norm.get(), partials.get(), d_g.get(), n);
    ctx().synchronize();
    const double again = norm.download()[0];
    EXPECT_EQ(std::memcmp(&got, &again, sizeof got), 0) << tag << " rerun";
  }
}

// A small store with odd shapes, decay and no-decay parameters, and random state of every kind.
void fill_store(ParameterStore& store, uint64_t seed, double grad_scale) {
  store.add("w1", {7, 13}, true);
  store.add("b1", {13}, false);
  store.add("w2", {129, 5}, true);
  store.add("scale", {1}, false);
  store.add("w3", {1000}, true);
  for (auto& p : store.all()) {
    const size_t n = p->value.size();
    const auto val = random_vector(n, p->name + " value", 1.0, seed);
    const auto grad = random_vector(n, p->name + " grad", grad_scale, seed);
    const auto m = random_vector(n, p->name + " m", 0.1, seed);
    const auto v = random_vector(n, p->name + " v", 0.1, seed);
    for (size_t i = 0; i < n; ++i) {
      p->value[i] = val[i];
      p->grad[i] = grad[i];
      p->m[i] = m[i];
      p->v[i] = v[i] * v[i];  // second moments are >= 0
    }
  }
}

// to_device copies values and moments; the gradients are uploaded here, as backward would leave
// them.
void store_to_device(ParameterStore& store) {
  store.to_device(ctx());
  for (auto& p : store.all())
    copy_to_device(p->dgrad, p->grad.data(), p->grad.size() * sizeof(float), ctx().stream());
  ctx().synchronize();
}

std::vector<float> host_vector(const AlignedFloats& a) { return {a.begin(), a.end()}; }

std::vector<float> download_slice(const float* d, size_t n) {
  std::vector<float> h(n);
  copy_to_host(h.data(), d, n * sizeof(float), ctx().stream());
  ctx().synchronize();
  return h;
}

// The device's four flat arrays, padding included.
std::vector<float> device_state(const ParameterStore& store) {
  const DeviceParameters& d = store.device();
  std::vector<float> all;
  for (const float* a : {d.value, d.grad, d.m, d.v}) {
    const auto h = download_slice(a, size_t(d.n));
    all.insert(all.end(), h.begin(), h.end());
  }
  return all;
}

// The step scalars in device memory, as the trainer's captured graph would see them.
class DeviceStep {
 public:
  explicit DeviceStep(const cuda::StepScalars& h)
      : p_(static_cast<cuda::StepScalars*>(device_alloc(sizeof h))) {
    copy_to_device(p_, &h, sizeof h, ctx().stream());
    ctx().synchronize();
  }
  ~DeviceStep() { device_free(p_); }
  DeviceStep(const DeviceStep&) = delete;
  DeviceStep& operator=(const DeviceStep&) = delete;
  const cuda::StepScalars* get() const { return p_; }

 private:
  cuda::StepScalars* p_;
};

TEST(CudaMisc, AdamWMatchesCpuWithAndWithoutClipping) {
  ICL_REQUIRE_GPU();
  AdamW cfg;
  cfg.beta1 = 0.9;
  cfg.beta2 = 0.98;
  cfg.eps = 1e-6;
  cfg.weight_decay = 0.1;  // large enough (with lr) that decay on the wrong parameters shows
  const double lr = 0.05;
  struct Case {
    const char* what;
    double max_norm_factor;  // max_norm = factor · norm; 0: no clipping
    int64_t step;
  };
  for (const Case k :
       {Case{"clipping", 0.5, 1}, Case{"clipping", 0.25, 7},
        Case{"no clipping (above the norm)", 10.0, 3}, Case{"no clipping (max_norm 0)", 0.0, 2}}) {
    const std::string tag = std::string(k.what) + ", step " + std::to_string(k.step);
    SCOPED_TRACE(tag);
    ParameterStore store;
    fill_store(store, 11 + uint64_t(k.step), 0.3);
    store_to_device(store);
    const double host_norm = global_grad_norm(store);
    const double max_norm = k.max_norm_factor * host_norm;

    const DeviceStep s({lr, double(k.step), max_norm});
    DeviceArray<double> norm(1), partials(size_t(cuda::kNormBlocks));
    DeviceBuffer loss(std::vector<float>{1.5f});
    const DeviceParameters& d = store.device();
    cuda::grad_norm(ctx(), norm.get(), partials.get(), d.grad, d.n);
    cuda::adamw_update(ctx(), d, s.get(), norm.get(), loss.get(), cfg.beta1, cfg.beta2, cfg.eps,
                       cfg.weight_decay);
    ctx().synchronize();

    // The CPU step on the host copies (to_device left them as they were).
    EXPECT_DOUBLE_EQ(clip_grad_norm(store, max_norm), host_norm);
    adamw_step(store, cfg, lr, k.step);

    const double got_norm = norm.download()[0];
    EXPECT_LE(std::abs(got_norm - host_norm), 1e-12 * host_norm) << "norm";
    for (auto& p : store.all()) {
      const size_t n = p->value.size();
      const int64_t off = p->dvalue - d.value;
      expect_close(download_slice(p->dvalue, n), host_vector(p->value), 1e-6, p->name + " value");
      expect_close(download_slice(p->dgrad, n), host_vector(p->grad), 1e-6, p->name + " grad");
      expect_close(download_slice(d.m + off, n), host_vector(p->m), 1e-6, p->name + " m");
      expect_close(download_slice(d.v + off, n), host_vector(p->v), 1e-6, p->name + " v");
    }

    // The same step on a fresh copy of the same state: bit-identical.
    const auto first = device_state(store);
    ParameterStore again;
    fill_store(again, 11 + uint64_t(k.step), 0.3);
    store_to_device(again);
    const DeviceParameters& d2 = again.device();
    cuda::grad_norm(ctx(), norm.get(), partials.get(), d2.grad, d2.n);
    cuda::adamw_update(ctx(), d2, s.get(), norm.get(), loss.get(), cfg.beta1, cfg.beta2, cfg.eps,
                       cfg.weight_decay);
    ctx().synchronize();
    expect_bitwise(device_state(again), first, "rerun");
  }
}

TEST(CudaMisc, AdamWChangesNothingWhenLossOrNormIsNotFinite) {
  ICL_REQUIRE_GPU();
  ParameterStore store;
  fill_store(store, 5, 0.3);
  store_to_device(store);
  const DeviceParameters& d = store.device();
  const auto before = device_state(store);
  // Clipping would be active, so the gradients would be rewritten too if the guard failed.
  const DeviceStep s({0.05, 1.0, 1e-3});
  DeviceArray<double> norm(1), partials(size_t(cuda::kNormBlocks));
  const float inf = std::numeric_limits<float>::infinity();
  for (float bad_loss : {kNaN, inf, -inf}) {
    DeviceBuffer loss(std::vector<float>{bad_loss});
    cuda::grad_norm(ctx(), norm.get(), partials.get(), d.grad, d.n);
    cuda::adamw_update(ctx(), d, s.get(), norm.get(), loss.get(), 0.9, 0.999, 1e-8, 0.1);
    ctx().synchronize();
    expect_bitwise(device_state(store), before, "loss " + std::to_string(bad_loss));
  }
  DeviceBuffer loss(std::vector<float>{1.f});
  for (double bad_norm : {std::nan(""), double(inf)}) {
    norm.upload({bad_norm});
    cuda::adamw_update(ctx(), d, s.get(), norm.get(), loss.get(), 0.9, 0.999, 1e-8, 0.1);
    ctx().synchronize();
    expect_bitwise(device_state(store), before, "norm " + std::to_string(bad_norm));
  }
  // And a finite step does change them (the guard is not always on).
  cuda::grad_norm(ctx(), norm.get(), partials.get(), d.grad, d.n);
  cuda::adamw_update(ctx(), d, s.get(), norm.get(), loss.get(), 0.9, 0.999, 1e-8, 0.1);
  ctx().synchronize();
  EXPECT_NE(std::memcmp(device_state(store).data(), before.data(), before.size() * sizeof(float)),
            0);
}

}  // namespace
}  // namespace icl

#else

#include <gtest/gtest.h>

TEST(CudaMisc, NotBuilt) { GTEST_SKIP() << "CUDA backend not built"; }

#endif

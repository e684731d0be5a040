#include "kernels/attention.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>

#include "tests/errors.h"
#include "tests/op_harness.h"

namespace icl {
namespace {

// Independent reference: the full [T, T] score matrix of every (b, h), a -inf causal mask (none
// when non-causal) and -inf at hidden keys (visible [B, T], softmax only), and a plain softmax (or
// ReLU over the visible count) in double; no code shared with the kernel.
struct Naive {
  std::vector<double> out;                                         // [B, T, C]
  std::vector<double> lse;                                         // [B, H, T] (softmax only)
  double min_abs_score = std::numeric_limits<double>::infinity();  // over unmasked scores
};

Naive naive_attention(const double* qkv, int64_t B, int64_t Tn, int64_t C, int64_t H,
                      AttentionKind kind, bool causal = true,
                      const std::vector<int32_t>& visible = {}) {
  const int64_t hd = C / H, ld = 3 * C;
  Naive r;
  r.out.assign(static_cast<size_t>(B * Tn * C), 0.0);
  r.lse.assign(static_cast<size_t>(B * H * Tn), 0.0);
  std::vector<double> S(static_cast<size_t>(Tn * Tn)), P(S.size());
  auto at = [&](int64_t b, int64_t t, int64_t part, int64_t h, int64_t i) {
    return qkv[b * Tn * ld + t * ld + part * C + h * hd + i];
  };
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      for (int64_t t = 0; t < Tn; ++t)
        for (int64_t s = 0; s < Tn; ++s) {
          double dot = 0;
          for (int64_t i = 0; i < hd; ++i) dot += at(b, t, 0, h, i) * at(b, s, 1, h, i);
          dot /= std::sqrt(double(hd));
          const bool seen = (!causal || s <= t) && (visible.empty() || visible[size_t(b * Tn + s)]);
          if (seen) r.min_abs_score = std::min(r.min_abs_score, std::abs(dot));
          S[size_t(t * Tn + s)] = seen ? dot : -std::numeric_limits<double>::infinity();
        }
      for (int64_t t = 0; t < Tn; ++t) {
        double* p = &P[size_t(t * Tn)];
        const double* srow = &S[size_t(t * Tn)];
        if (kind == AttentionKind::Softmax) {
          const double m = *std::max_element(srow, srow + Tn);
          double z = 0;
          for (int64_t s = 0; s < Tn; ++s) z += p[s] = std::exp(srow[s] - m);  // exp(-inf) = 0
          for (int64_t s = 0; s < Tn; ++s) p[s] /= z;
          r.lse[size_t((b * H + h) * Tn + t)] = m + std::log(z);
        } else {
          for (int64_t s = 0; s < Tn; ++s)
            p[s] = !causal || s <= t ? std::max(srow[s], 0.0) / double(causal ? t + 1 : Tn) : 0;
        }
        for (int64_t i = 0; i < hd; ++i) {
          double o = 0;
          for (int64_t s = 0; s < Tn; ++s) o += p[s] * at(b, s, 2, h, i);
          r.out[size_t(b * Tn * C + t * C + h * hd + i)] = o;
        }
      }
    }
  return r;
}

std::vector<double> gaussian(int64_t n, uint64_t seed, double scale = 1.0) {
  Rng rng({seed, stream_id("attention test")}, 0);
  std::vector<double> v(static_cast<size_t>(n));
  for (auto& x : v) x = scale * rng.normal();
  return v;
}

// One key of each sequence in three hidden (pseudo-random, the first key always visible): the
// pattern an MLM-U encoder-decoder's attention mask makes.
std::vector<int32_t> some_hidden(int64_t B, int64_t Tn) {
  std::vector<int32_t> v(size_t(B * Tn), 1);
  for (int64_t i = 0; i < B * Tn; ++i)
    if (i % Tn != 0 && (i * 7 + 3) % 3 == 0) v[size_t(i)] = 0;
  return v;
}

struct AttentionCase {
  int64_t B, Tn, C, H;
  AttentionKind kind = AttentionKind::Softmax;
  bool causal = true;
  std::vector<int32_t> visible = {};  // [B, T] key mask (softmax); empty: every key visible
  const int32_t* vis() const { return visible.empty() ? nullptr : visible.data(); }
  std::vector<Shape> inputs() const { return {{B, Tn, 3 * C}}; }
  Shape output() const { return {B, Tn, C}; }
  // ReLU attention has a kink at S = 0, where finite differences are meaningless (and where fp32
  // and fp64 could disagree on the gate). So for ReLU the inputs are shaped to keep every score far
  // from 0: in each head, the first q and k column is z + 2·sign(z) (|·| ≥ 2, random sign) and the
  // other columns s·z with s = min(0.2, 0.5/√hd). Then |S|·√hd ≥ 4 − s²·Σ_{i≥1}|z z'|, which
  // stays ≥ 2 unless products of normals are extreme (s = 0.2 up to hd = 6, where the CPU cases
  // are; the smaller s keeps the bound at the CUDA cases' head dimensions up to 256). Both signs
  // of S occur, so the gate 1[S > 0] is exercised. forward<double> checks the margin (min |S| >
  // 1e-3, far above the finite-difference step's effect of ~1e-5 on S).
  double input(size_t, int64_t i, double z) const {
    if (kind == AttentionKind::Softmax) return z;
    const int64_t hd = C / H, c = i % (3 * C), part = c / C, col = (c % C) % hd;
    if (part == 2) return z;
    return col == 0 ? z + (z < 0 ? -2.0 : 2.0) : std::min(0.2, 0.5 / std::sqrt(double(hd))) * z;
  }
  // aux: lse [B, H, T]; ReLU attention saves none and leaves it unwritten (NaN), on both devices.
  template <class T>
  void forward(const std::vector<const T*>& x, T* y, std::vector<T>& lse) const {
    if constexpr (std::is_same_v<T, double>) {
      if (kind == AttentionKind::Relu) {
        EXPECT_GT(naive_attention(x[0], B, Tn, C, H, kind, causal).min_abs_score, 1e-3);
      }
    }
    lse.assign(static_cast<size_t>(B * H * Tn),
               kind == AttentionKind::Softmax ? T(0) : std::numeric_limits<T>::quiet_NaN());
    kern::attention_forward(y, lse.data(), x[0], B, Tn, C, H, kind, causal, vis());
  }
  template <class T>
  void backward(const std::vector<const T*>& x, const T* y, const T* dy, const std::vector<T*>& dx,
                std::vector<T>& lse) const {
    kern::attention_backward(dx[0], dy, y, lse.data(), x[0], B, Tn, C, H, kind, causal, vis());
  }
#ifdef ICL_WITH_CUDA
  void cuda_forward(const CudaContext& cx, const test::DeviceInputs& x, float* y,
                    float* lse) const {
    cuda::attention_forward(cx, y, lse, x[0], B, Tn, C, H, kind, causal, device_vis(cx));
  }
  void cuda_backward(const CudaContext& cx, const test::DeviceInputs& x, const float* y,
                     const float* dy, const test::DeviceGrads& dx, float* lse) const {
    cuda::attention_backward(cx, dx[0], dy, y, kind == AttentionKind::Softmax ? lse : nullptr, x[0],
                             B, Tn, C, H, kind, causal, device_vis(cx));
  }
  // The mask on the device, uploaded once per case (kept for the case's lifetime).
  const int32_t* device_vis(const CudaContext&) const {
    if (visible.empty()) return nullptr;
    if (!dev_vis) dev_vis = std::make_shared<test::DeviceArray<int32_t>>(visible);
    return dev_vis->get();
  }
  mutable std::shared_ptr<test::DeviceArray<int32_t>> dev_vis = nullptr;
  // Against fp64: out and lse 1e-5, dq, dk, dv 1e-4 (op_harness.h's table), each compared at its
  // own scale.
  test::CudaTolerance cuda_tolerance() const {
    return {.fwd = 1e-5,
            .aux = 1e-5,
            .bwd = 1e-4,
            .against = test::Against::Fp64,
            .each_gradient_alone = true};
  }
  std::vector<test::Part> cuda_parts(test::Slot slot, size_t, const test::CpuResult&) const {
    if (slot != test::Slot::Gradient) return {};
    const int64_t rows = B * Tn;
    return {{"dq", 0, C, 3 * C, rows}, {"dk", C, C, 3 * C, rows}, {"dv", 2 * C, C, 3 * C, rows}};
  }
#endif
};

const char* name(AttentionKind k) { return k == AttentionKind::Softmax ? "softmax" : "relu"; }

ICL_OP_TEST(OpAttention, Attention) {
  test::Tolerance tol;
  tol.fd_samples = 120;
  for (bool causal : {true, false})
    for (AttentionKind kind : {AttentionKind::Softmax, AttentionKind::Relu}) {
      for (int64_t Tn : {1, 2, 7, 33})
        for (int64_t B : {1, 3})
          for (auto [C, H] : {std::pair<int64_t, int64_t>{4, 1}, {6, 2}, {15, 3}, {20, 4}})
            run(AttentionCase{B, Tn, C, H, kind, causal},
                fmt::format("attention {} causal={} B={} T={} C={} H={}", name(kind), causal, B, Tn,
                            C, H),
                tol);
      // Hidden keys (softmax only): every shape above, and both GPU paths below.
      if (kind == AttentionKind::Softmax)
        for (int64_t Tn : {1, 2, 7, 33})
          for (auto [B, C, H] :
               {std::tuple<int64_t, int64_t, int64_t>{1, 4, 1}, {3, 6, 2}, {2, 20, 4}})
            run(AttentionCase{B, Tn, C, H, kind, causal, some_hidden(B, Tn)},
                fmt::format("attention hidden keys causal={} B={} T={} C={} H={}", causal, B, Tn, C,
                            H),
                tol);
      // Both GPU paths, head dimensions 1 to 256: T <= kShortAttention with a head that fits in
      // shared memory runs one block per (b, h); longer prompts (and T = 256 with hd = 128, whose
      // K and V exceed shared memory) the tiled path.
      for (auto [B, Tn, C, H] : {std::tuple<int64_t, int64_t, int64_t, int64_t>{1, 1, 8, 1},
                                 {3, 2, 64, 2},     // hd 32
                                 {1, 31, 64, 1},    // hd 64
                                 {3, 82, 300, 3},   // hd 100: padded to 128
                                 {2, 40, 3, 3},     // hd 1
                                 {1, 256, 128, 2},  // hd 64 at T = 256: 128 KB of shared memory
                                 {2, 100, 256, 1},  // hd 256 on the short path (200 KB)
                                 {1, 256, 128, 1},  // hd 128 at T = 256: too big -> tiled
                                 {1, 257, 64, 2},   // hd 32, first tiled length
                                 {3, 600, 128, 2},  // hd 64
                                 {1, 1031, 96, 1},  // hd 96: padded to 128
                                 {2, 513, 24, 3},   // hd 8
                                 {1, 300, 256, 1},  // hd 256 tiled
                                 {1, 290, 5, 5},    // hd 1 tiled
                                 {2, 777, 128, 2},
                                 {1, 256, 256, 4}}) {
        run.cuda_only(AttentionCase{B, Tn, C, H, kind, causal},
                      fmt::format("attention {} causal={} B={} T={} C={} H={} (cuda)", name(kind),
                                  causal, B, Tn, C, H));
        if (kind == AttentionKind::Softmax)
          run.cuda_only(AttentionCase{B, Tn, C, H, kind, causal, some_hidden(B, Tn)},
                        fmt::format("attention hidden keys causal={} B={} T={} C={} H={} (cuda)",
                                    causal, B, Tn, C, H));
      }
    }
}

TEST(OpAttention, MatchesNaiveReference) {
  for (bool causal : {true, false})
    for (AttentionKind kind : {AttentionKind::Softmax, AttentionKind::Relu})
      for (auto [B, Tn, C, H] : {std::tuple<int64_t, int64_t, int64_t, int64_t>{1, 1, 4, 1},
                                 {2, 9, 6, 2},
                                 {3, 17, 20, 4}}) {
        SCOPED_TRACE(
            fmt::format("{} causal={} B={} T={} C={} H={}", name(kind), causal, B, Tn, C, H));
        const auto qkv = gaussian(B * Tn * 3 * C, uint64_t(Tn));
        const Naive ref = naive_attention(qkv.data(), B, Tn, C, H, kind, causal);
        std::vector<double> out(ref.out.size(), std::nan("")), lse(ref.lse.size(), std::nan(""));
        kern::attention_forward(out.data(), lse.data(), qkv.data(), B, Tn, C, H, kind, causal);
        EXPECT_LE(test::rel_err(out, ref.out), 1e-12);
        if (kind == AttentionKind::Softmax) {
          EXPECT_LE(test::rel_err(lse, ref.lse), 1e-12);
        }
      }
}

// out at t depends on positions ≤ t only; and the gradient from out at t reaches positions ≤ t
// only.
TEST(OpAttention, IsCausal) {
  const int64_t B = 2, Tn = 8, C = 6, H = 2, t0 = 3, ld = 3 * C;
  for (AttentionKind kind : {AttentionKind::Softmax, AttentionKind::Relu}) {
    SCOPED_TRACE(name(kind));
    auto qkv = gaussian(B * Tn * ld, 7);
    std::vector<double> out(size_t(B * Tn * C)), out2(out.size()), lse(size_t(B * H * Tn));
    kern::attention_forward(out.data(), lse.data(), qkv.data(), B, Tn, C, H, kind);

    auto changed = qkv;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = t0 + 1; t < Tn; ++t)
        for (int64_t c = 0; c < ld; ++c) changed[size_t((b * Tn + t) * ld + c)] += 1.5;
    kern::attention_forward(out2.data(), lse.data(), changed.data(), B, Tn, C, H, kind);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < Tn; ++t) {
        bool same = true;
        for (int64_t c = 0; c < C; ++c)
          same = same && out[size_t((b * Tn + t) * C + c)] == out2[size_t((b * Tn + t) * C + c)];
        EXPECT_EQ(same, t <= t0) << "b=" << b << " t=" << t;
      }

    kern::attention_forward(out.data(), lse.data(), qkv.data(), B, Tn, C, H, kind);
    std::vector<double> dout(out.size(), 0.0), dqkv(qkv.size(), 0.0);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t c = 0; c < C; ++c) dout[size_t((b * Tn + t0) * C + c)] = 1.0 + double(c);
    kern::attention_backward(dqkv.data(), dout.data(), out.data(), lse.data(), qkv.data(), B, Tn, C,
                             H, kind);
    // Zero at every later position; not zero everywhere (ReLU may gate single positions off).
    double before = 0;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < Tn; ++t)
        for (int64_t c = 0; c < ld; ++c) {
          const double d = dqkv[size_t((b * Tn + t) * ld + c)];
          if (t > t0) {
            EXPECT_EQ(d, 0.0) << "b=" << b << " t=" << t << " c=" << c;
          }
          before += std::abs(d);
        }
    EXPECT_GT(before, 0.0);
  }
}

// Non-causal: out at every position depends on every position, the last included, and the
// gradient from out at t0 reaches positions after t0.
TEST(OpAttention, NonCausalSeesTheWholeSequence) {
  const int64_t B = 2, Tn = 8, C = 6, H = 2, t0 = 3, ld = 3 * C;
  for (AttentionKind kind : {AttentionKind::Softmax, AttentionKind::Relu}) {
    SCOPED_TRACE(name(kind));
    auto qkv = gaussian(B * Tn * ld, 7);
    std::vector<double> out(size_t(B * Tn * C)), out2(out.size()), lse(size_t(B * H * Tn));
    kern::attention_forward(out.data(), lse.data(), qkv.data(), B, Tn, C, H, kind, false);
    auto changed = qkv;
    for (int64_t b = 0; b < B; ++b)  // v of the last position only
      for (int64_t c = 2 * C; c < ld; ++c) changed[size_t((b * Tn + Tn - 1) * ld + c)] += 1.5;
    kern::attention_forward(out2.data(), lse.data(), changed.data(), B, Tn, C, H, kind, false);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < Tn; ++t) {
        bool same = true;
        for (int64_t c = 0; c < C; ++c)
          same = same && out[size_t((b * Tn + t) * C + c)] == out2[size_t((b * Tn + t) * C + c)];
        // ReLU may gate a single (t, last) pair off for one head, never for all of them here.
        if (kind == AttentionKind::Softmax) {
          EXPECT_FALSE(same) << "b=" << b << " t=" << t;
        }
      }
    kern::attention_forward(out.data(), lse.data(), qkv.data(), B, Tn, C, H, kind, false);
    std::vector<double> dout(out.size(), 0.0), dqkv(qkv.size(), 0.0);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t c = 0; c < C; ++c) dout[size_t((b * Tn + t0) * C + c)] = 1.0 + double(c);
    kern::attention_backward(dqkv.data(), dout.data(), out.data(), lse.data(), qkv.data(), B, Tn, C,
                             H, kind, false);
    double after = 0;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = t0 + 1; t < Tn; ++t)
        for (int64_t c = 0; c < ld; ++c) after += std::abs(dqkv[size_t((b * Tn + t) * ld + c)]);
    EXPECT_GT(after, 0.0);
  }
}

// ops::causal_attention records a backward that gives exactly the kernel's gradient, and without
// gradients (no lse kept) gives the same output.
// Hidden keys are removed, not damped: at a visible query the output equals non-causal attention
// over the sequence with the hidden positions deleted; no output moves when a hidden key's k or v
// does, and no gradient reaches them.
TEST(OpAttention, HiddenKeysAreRemoved) {
  const int64_t B = 2, Tn = 9, C = 6, H = 2, ld = 3 * C;
  const std::vector<int32_t> vis = some_hidden(B, Tn);
  const auto qkv = gaussian(B * Tn * ld, 11);
  std::vector<double> out(size_t(B * Tn * C)), lse(size_t(B * H * Tn));
  kern::attention_forward(out.data(), lse.data(), qkv.data(), B, Tn, C, H, AttentionKind::Softmax,
                          false, vis.data());
  const Naive ref = naive_attention(qkv.data(), B, Tn, C, H, AttentionKind::Softmax, false, vis);
  EXPECT_LE(test::rel_err(out, ref.out), 1e-12);
  EXPECT_LE(test::rel_err(lse, ref.lse), 1e-12);
  for (int64_t b = 0; b < B; ++b) {
    std::vector<double> kept;  // the visible rows of sequence b
    for (int64_t t = 0; t < Tn; ++t)
      if (vis[size_t(b * Tn + t)])
        kept.insert(kept.end(), qkv.begin() + (b * Tn + t) * ld,
                    qkv.begin() + (b * Tn + t + 1) * ld);
    const int64_t n = int64_t(kept.size()) / ld;
    ASSERT_LT(n, Tn);
    std::vector<double> small(size_t(n * C)), small_lse(size_t(H * n));
    kern::attention_forward(small.data(), small_lse.data(), kept.data(), 1, n, C, H,
                            AttentionKind::Softmax, false);
    int64_t j = 0;
    for (int64_t t = 0; t < Tn; ++t) {
      if (!vis[size_t(b * Tn + t)]) continue;
      for (int64_t c = 0; c < C; ++c)
        EXPECT_NEAR(out[size_t((b * Tn + t) * C + c)], small[size_t(j * C + c)], 1e-12);
      ++j;
    }
  }
  auto changed = qkv;
  for (int64_t i = 0; i < B * Tn; ++i)
    if (!vis[size_t(i)])
      for (int64_t c = C; c < ld; ++c) changed[size_t(i * ld + c)] += 3.0;  // k and v
  std::vector<double> out2(out.size());
  kern::attention_forward(out2.data(), lse.data(), changed.data(), B, Tn, C, H,
                          AttentionKind::Softmax, false, vis.data());
  EXPECT_EQ(out, out2);
  kern::attention_forward(out.data(), lse.data(), qkv.data(), B, Tn, C, H, AttentionKind::Softmax,
                          false, vis.data());
  const auto dout = gaussian(int64_t(out.size()), 12);
  std::vector<double> dqkv(qkv.size(), 0.0);
  kern::attention_backward(dqkv.data(), dout.data(), out.data(), lse.data(), qkv.data(), B, Tn, C,
                           H, AttentionKind::Softmax, false, vis.data());
  double visible_grad = 0;
  for (int64_t i = 0; i < B * Tn; ++i)
    for (int64_t c = C; c < ld; ++c) {
      if (!vis[size_t(i)]) {
        EXPECT_EQ(dqkv[size_t(i * ld + c)], 0.0) << "position " << i << " column " << c;
      } else {
        visible_grad += std::abs(dqkv[size_t(i * ld + c)]);
      }
    }
  EXPECT_GT(visible_grad, 0.0);
}

// The op refuses a sequence that hides every key (softmax over nothing), naming it.
TEST(OpAttention, EverySequenceNeedsAVisibleKey) {
  Arena arena;
  Graph g(arena, false);
  const int64_t B = 2, Tn = 3, C = 4;
  Tensor qkv = arena.tensor({B, Tn, 3 * C}, DType::F32, true);
  std::vector<int32_t> vis = {1, 0, 1, 0, 0, 0};
  const Tensor v{vis.data(), {B, Tn}, DType::I32, Device::CPU};
  const std::string e = test::error_of(
      [&] { ops::attention(g, g.constant(qkv), 1, AttentionKind::Softmax, false, v); });
  EXPECT_NE(e.find("sequence 1"), std::string::npos) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  vis = {1, 0, 1, 0, 1, 1};  // sequence 1 hides position 0: fine both ways, refused causal
  EXPECT_NO_THROW(ops::attention(g, g.constant(qkv), 1, AttentionKind::Softmax, false, v));
  const std::string c = test::error_of(
      [&] { ops::attention(g, g.constant(qkv), 1, AttentionKind::Softmax, true, v); });
  EXPECT_NE(c.find("position 0 of sequence 1 is hidden"), std::string::npos) << c;
}

TEST(OpAttention, GraphWrapperMatchesKernel) {
  const int64_t B = 2, Tn = 5, C = 12, H = 3;
  for (bool causal : {true, false})
    for (AttentionKind kind : {AttentionKind::Softmax, AttentionKind::Relu}) {
      SCOPED_TRACE(fmt::format("{} causal={}", name(kind), causal));
      const auto x64 = gaussian(B * Tn * 3 * C, 11);
      const auto r64 = gaussian(B * Tn * C, 12);
      Arena arena;
      Graph g(arena, true);
      Tensor xt = arena.tensor({B, Tn, 3 * C}), gx = arena.tensor({B, Tn, 3 * C}, DType::F32, true);
      std::copy(x64.begin(), x64.end(), xt.f());
      const Var x = g.leaf(xt, gx);
      const Var y =
          causal ? ops::causal_attention(g, x, H, kind) : ops::attention(g, x, H, kind, false);
      ASSERT_EQ(y.shape(), (Shape{B, Tn, C}));
      // loss = Σ y·r → dL/dy = r
      float* r = arena.tensor({B, Tn, C}).f();
      std::copy(r64.begin(), r64.end(), r);
      Var loss = g.output({1}, true);
      loss.f()[0] = 0;
      for (int64_t i = 0; i < y.shape().numel(); ++i) loss.f()[0] += y.f()[i] * r[i];
      g.record([&g, y, loss, r] {
        const float d = g.grad(loss).f()[0];
        for (int64_t i = 0; i < y.shape().numel(); ++i) g.grad(y).f()[i] += d * r[i];
      });
      g.backward(loss);

      // Bit-for-bit: the reference buffers come from the arena too, aligned like the op's (Eigen's
      // rounding depends on alignment).
      float *out = arena.tensor({B, Tn, C}).f(), *lse = arena.tensor({B, H, Tn}).f(),
            *dx = arena.tensor({B, Tn, 3 * C}, DType::F32, true).f();
      kern::attention_forward(out, lse, xt.f(), B, Tn, C, H, kind, causal);
      kern::attention_backward(dx, r, out, lse, xt.f(), B, Tn, C, H, kind, causal);
      for (int64_t i = 0; i < y.shape().numel(); ++i) ASSERT_EQ(y.f()[i], out[i]);
      for (int64_t i = 0; i < xt.numel(); ++i) ASSERT_EQ(gx.f()[i], dx[i]) << i;

      Graph eval(arena, false);
      const Var y2 = ops::attention(eval, eval.constant(xt), H, kind, causal);
      EXPECT_FALSE(y2.needs_grad());
      EXPECT_EQ(eval.tape_size(), 0u);
      for (int64_t i = 0; i < y.shape().numel(); ++i) ASSERT_EQ(y2.f()[i], out[i]);
    }
}

// Inputs ×30 give scores in the hundreds: exp would overflow without the max subtraction. fp32
// stays finite and close to fp64: a score of ~500 carries a fp32 rounding of ~3e-5, so P, out and
// the gradients are good to a few 1e-5 relative (measured: out 3.4e-5, dqkv 2.6e-5, lse 9e-8).
TEST(OpAttention, LargeScoresStayFinite) {
  const int64_t B = 2, Tn = 33, C = 20, H = 4;
  const auto x64 = gaussian(B * Tn * 3 * C, 5, 30.0);
  const auto r64 = gaussian(B * Tn * C, 6);
  const std::vector<float> x32(x64.begin(), x64.end()), r32(r64.begin(), r64.end());
  std::vector<double> out64(r64.size()), lse64(size_t(B * H * Tn)), dx64(x64.size(), 0.0);
  std::vector<float> out32(r64.size()), lse32(lse64.size()), dx32(x64.size(), 0.f);
  kern::attention_forward(out64.data(), lse64.data(), x64.data(), B, Tn, C, H);
  kern::attention_backward(dx64.data(), r64.data(), out64.data(), lse64.data(), x64.data(), B, Tn,
                           C, H);
  kern::attention_forward(out32.data(), lse32.data(), x32.data(), B, Tn, C, H);
  kern::attention_backward(dx32.data(), r32.data(), out32.data(), lse32.data(), x32.data(), B, Tn,
                           C, H);
  double max_lse = 0;
  for (double v : lse64) max_lse = std::max(max_lse, std::abs(v));
  EXPECT_GT(max_lse, 100.0) << "the case must reach scores where a plain exp overflows fp32";
  for (float v : out32) ASSERT_TRUE(std::isfinite(v));
  for (float v : dx32) ASSERT_TRUE(std::isfinite(v));
  EXPECT_LE(test::rel_err(std::vector<double>(out32.begin(), out32.end()), out64), 1e-4);
  EXPECT_LE(test::rel_err(std::vector<double>(lse32.begin(), lse32.end()), lse64), 1e-6);
  EXPECT_LE(test::rel_err(std::vector<double>(dx32.begin(), dx32.end()), dx64), 2e-4);
  EXPECT_LE(
      test::rel_err(out64, naive_attention(x64.data(), B, Tn, C, H, AttentionKind::Softmax).out),
      1e-12);
}

TEST(OpAttention, SameResultForAnyThreadCount) {
  const int64_t B = 3, Tn = 128, C = 64, H = 4;  // big enough for one (b, h) pair per task
  const auto x64 = gaussian(B * Tn * 3 * C, 21), r64 = gaussian(B * Tn * C, 22);
  const std::vector<float> x(x64.begin(), x64.end()), r(r64.begin(), r64.end());
  // The same output buffers every time: Eigen's rounding depends on the data's alignment.
  std::vector<float> out(r.size()), lse(size_t(B * H * Tn)), dx(x.size());
  auto run = [&](int threads) {
    const int before = omp_get_max_threads();
    omp_set_num_threads(threads);
    std::fill(dx.begin(), dx.end(), 0.f);
    kern::attention_forward(out.data(), lse.data(), x.data(), B, Tn, C, H);
    kern::attention_backward(dx.data(), r.data(), out.data(), lse.data(), x.data(), B, Tn, C, H);
    omp_set_num_threads(before);
    std::vector<float> all(out);
    all.insert(all.end(), dx.begin(), dx.end());
    return all;
  };
  const auto one = run(1);
  EXPECT_EQ(one, run(3));
  EXPECT_EQ(one, run(8));
}

}  // namespace
}  // namespace icl

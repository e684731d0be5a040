// The LSTM and GRU recurrences (kernels/lstm.h, kernels/gru.h): hand-worked short cases, an
// independent element-by-element reference with gradients by finite differences of it, the op
// harness on every input, saturated gates, thread-count independence and the graph wrappers.
#include <omp.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "core/arena.h"
#include "core/rng.h"
#include "kernels/gru.h"
#include "kernels/lstm.h"
#include "tests/op_harness.h"

namespace icl {
namespace {

double sig(double x) { return 1 / (1 + std::exp(-x)); }

using Vecs = std::vector<std::vector<double>>;

// A cell family: its inputs (gates_x, w_h, then parameters and initial states), its outputs
// (h followed by the final states), the kernels behind one interface and a plain-loop reference.
//   LSTM inputs: gates_x [B,T,4H], w_h [H,4H], h0 [B,H], c0 [B,H]; outputs h, h_T, c_T.
//   GRU inputs:  gates_x [B,T,3H], w_h [H,3H], b_hn [H], h0 [B,H];  outputs h, h_T.
// An empty input vector is an absent input.
// `finals` false: the final states are not outputs (null in the forward, no gradient).
struct Lstm {
  static constexpr const char* name = "lstm";
  static constexpr int64_t finals = 2;
  static std::vector<int64_t> sizes(const RnnDims& d) {
    return {d.B * d.T * 4 * d.H, d.H * 4 * d.H, d.B * d.H, d.B * d.H};
  }
  static bool is_initial(size_t which) { return which >= 2; }
  static bool is_bias(size_t) { return false; }
  static int64_t saved_size(const RnnDims& d) { return d.B * d.T * 5 * d.H; }
  template <class T>
  static void forward(const std::vector<const T*>& x, T* y, std::vector<T>& saved, const RnnDims& d,
                      bool with_finals = true) {
    saved.assign(size_t(saved_size(d)), T(0));
    const int64_t n = d.B * d.T * d.H;
    T *hT = with_finals ? y + n : nullptr, *cT = with_finals ? y + n + d.B * d.H : nullptr;
    kern::lstm_forward(y, hT, cT, saved.data(), x[0], x[1], x[2], x[3], d);
  }
  template <class T>
  static void backward(const std::vector<const T*>& x, const T* y, const T* dy,
                       const std::vector<T*>& dx, const std::vector<T>& saved, const RnnDims& d,
                       bool with_finals = true) {
    std::vector<T> work(size_t(d.B * d.T * 4 * d.H), std::numeric_limits<T>::quiet_NaN());
    const int64_t n = d.B * d.T * d.H;
    const T *dhT = with_finals ? dy + n : nullptr,
            *dcT = with_finals ? dy + n + d.B * d.H : nullptr;
    kern::lstm_backward(dx[0], dx[1], dx[2], dx[3], work.data(), dy, dhT, dcT, x[1], x[2], x[3], y,
                        saved.data(), d);
  }
#ifdef ICL_WITH_CUDA
  static void cuda_forward(const CudaContext& cx, const test::DeviceInputs& x, float* y,
                           float* saved, const RnnDims& d, bool with_finals) {
    const int64_t n = d.B * d.T * d.H;
    float *hT = with_finals ? y + n : nullptr, *cT = with_finals ? y + n + d.B * d.H : nullptr;
    cuda::lstm_forward(cx, y, hT, cT, saved, x[0], x[1], x[2], x[3], d);
  }
  static void cuda_backward(const CudaContext& cx, const test::DeviceInputs& x, const float* y,
                            const float* dy, const test::DeviceGrads& dx, const float* saved,
                            const RnnDims& d, bool with_finals) {
    test::DeviceBuffer work(size_t(d.B * d.T * 4 * d.H));
    const int64_t n = d.B * d.T * d.H;
    const float *dhT = with_finals ? dy + n : nullptr,
                *dcT = with_finals ? dy + n + d.B * d.H : nullptr;
    cuda::lstm_backward(cx, dx[0], dx[1], dx[2], dx[3], work.get(), dy, dhT, dcT, x[1], x[2], x[3],
                        y, saved, d);
    cx.synchronize();  // before work is freed
  }
#endif
  // Written out per element from the equations, independently of the kernel.
  static std::vector<double> naive(const Vecs& in, const RnnDims& d) {
    const int64_t H = d.H, n = d.B * d.T * H;
    std::vector<double> out(size_t(n + 2 * d.B * H));
    for (int64_t b = 0; b < d.B; ++b) {
      std::vector<double> h(size_t(H), 0.0), c(size_t(H), 0.0);
      for (int64_t j = 0; j < H; ++j) {
        if (!in[2].empty()) h[size_t(j)] = in[2][size_t(b * H + j)];
        if (!in[3].empty()) c[size_t(j)] = in[3][size_t(b * H + j)];
      }
      for (int64_t t = 0; t < d.T; ++t) {
        std::vector<double> hn(static_cast<size_t>(H));
        for (int64_t j = 0; j < H; ++j) {
          double a[4];
          for (int64_t k = 0; k < 4; ++k) {
            a[k] = in[0][size_t((b * d.T + t) * 4 * H + k * H + j)];
            for (int64_t m = 0; m < H; ++m)
              a[k] += h[size_t(m)] * in[1][size_t(m * 4 * H + k * H + j)];
          }
          c[size_t(j)] = sig(a[1]) * c[size_t(j)] + sig(a[0]) * std::tanh(a[2]);
          hn[size_t(j)] = sig(a[3]) * std::tanh(c[size_t(j)]);
          out[size_t((b * d.T + t) * H + j)] = hn[size_t(j)];
        }
        h = hn;
      }
      for (int64_t j = 0; j < H; ++j) {
        out[size_t(n + b * H + j)] = h[size_t(j)];
        out[size_t(n + d.B * H + b * H + j)] = c[size_t(j)];
      }
    }
    return out;
  }
};

struct Gru {
  static constexpr const char* name = "gru";
  static constexpr int64_t finals = 1;
  static std::vector<int64_t> sizes(const RnnDims& d) {
    return {d.B * d.T * 3 * d.H, d.H * 3 * d.H, d.H, d.B * d.H};
  }
  static bool is_initial(size_t which) { return which == 3; }
  static bool is_bias(size_t which) { return which == 2; }
  static int64_t saved_size(const RnnDims& d) { return d.B * d.T * 4 * d.H; }
  template <class T>
  static void forward(const std::vector<const T*>& x, T* y, std::vector<T>& saved, const RnnDims& d,
                      bool with_finals = true) {
    saved.assign(size_t(saved_size(d)), T(0));
    kern::gru_forward(y, with_finals ? y + d.B * d.T * d.H : nullptr, saved.data(), x[0], x[1],
                      x[2], x[3], d);
  }
  template <class T>
  static void backward(const std::vector<const T*>& x, const T* y, const T* dy,
                       const std::vector<T*>& dx, const std::vector<T>& saved, const RnnDims& d,
                       bool with_finals = true) {
    std::vector<T> work(size_t(d.B * d.T * 3 * d.H), std::numeric_limits<T>::quiet_NaN());
    kern::gru_backward(dx[0], dx[1], dx[2], dx[3], work.data(), dy,
                       with_finals ? dy + d.B * d.T * d.H : nullptr, x[1], x[3], y, saved.data(),
                       d);
  }
#ifdef ICL_WITH_CUDA
  static void cuda_forward(const CudaContext& cx, const test::DeviceInputs& x, float* y,
                           float* saved, const RnnDims& d, bool with_finals) {
    cuda::gru_forward(cx, y, with_finals ? y + d.B * d.T * d.H : nullptr, saved, x[0], x[1], x[2],
                      x[3], d);
  }
  static void cuda_backward(const CudaContext& cx, const test::DeviceInputs& x, const float* y,
                            const float* dy, const test::DeviceGrads& dx, const float* saved,
                            const RnnDims& d, bool with_finals) {
    test::DeviceBuffer work(size_t(d.B * d.T * 3 * d.H));
    cuda::gru_backward(cx, dx[0], dx[1], dx[2], dx[3], work.get(), dy,
                       with_finals ? dy + d.B * d.T * d.H : nullptr, x[1], x[3], y, saved, d);
    cx.synchronize();  // before work is freed
  }
#endif
  static std::vector<double> naive(const Vecs& in, const RnnDims& d) {
    const int64_t H = d.H, n = d.B * d.T * H;
    std::vector<double> out(size_t(n + d.B * H));
    for (int64_t b = 0; b < d.B; ++b) {
      std::vector<double> h(size_t(H), 0.0);
      if (!in[3].empty())
        for (int64_t j = 0; j < H; ++j) h[size_t(j)] = in[3][size_t(b * H + j)];
      for (int64_t t = 0; t < d.T; ++t) {
        std::vector<double> hn(static_cast<size_t>(H));
        for (int64_t j = 0; j < H; ++j) {
          double x[3], u[3] = {0, 0, in[2].empty() ? 0.0 : in[2][size_t(j)]};
          for (int64_t k = 0; k < 3; ++k) {
            x[k] = in[0][size_t((b * d.T + t) * 3 * H + k * H + j)];
            for (int64_t m = 0; m < H; ++m)
              u[k] += h[size_t(m)] * in[1][size_t(m * 3 * H + k * H + j)];
          }
          const double r = sig(x[0] + u[0]), z = sig(x[1] + u[1]), nc = std::tanh(x[2] + r * u[2]);
          hn[size_t(j)] = (1 - z) * nc + z * h[size_t(j)];
          out[size_t((b * d.T + t) * H + j)] = hn[size_t(j)];
        }
        h = hn;
      }
      for (int64_t j = 0; j < H; ++j) out[size_t(n + b * H + j)] = h[size_t(j)];
    }
    return out;
  }
};

template <class Cell>
int64_t out_size(const RnnDims& d) {
  return d.B * d.T * d.H + Cell::finals * d.B * d.H;
}

// Random inputs: gate inputs × scale, recurrent weight × scale/√H, initial states (when `initial`)
// and the other inputs standard normal.
template <class Cell>
Vecs make_inputs(const RnnDims& d, bool initial, uint64_t seed, double scale = 1.0) {
  Rng rng({seed, stream_id(Cell::name)}, 0);
  const auto sizes = Cell::sizes(d);
  Vecs in(sizes.size());
  for (size_t j = 0; j < sizes.size(); ++j) {
    if (Cell::is_initial(j) && !initial) continue;
    const double s = j == 0 ? scale : j == 1 ? scale / std::sqrt(double(d.H)) : 1.0;
    in[j].resize(size_t(sizes[j]));
    for (auto& v : in[j]) v = s * rng.normal();
  }
  return in;
}

std::vector<double> normals(int64_t n, uint64_t seed) {
  Rng rng({seed, stream_id("output gradient")}, 0);
  std::vector<double> x(static_cast<size_t>(n));
  for (auto& v : x) v = rng.normal();
  return x;
}

struct CellRun {
  std::vector<double> out;
  Vecs grads;  // one per input (every input gets one: the initial states' even when absent)
};

// The kernels in precision T: forward into a NaN-poisoned output, backward from dout.
template <class Cell, class T>
CellRun run(const Vecs& in, const std::vector<double>& dout, const RnnDims& d) {
  const auto sizes = Cell::sizes(d);
  std::vector<std::vector<T>> x(in.size()), dx(in.size());
  std::vector<const T*> xp;
  std::vector<T*> dxp;
  for (size_t j = 0; j < in.size(); ++j) {
    x[j].assign(in[j].begin(), in[j].end());
    dx[j].assign(size_t(sizes[j]), T(0));
    xp.push_back(x[j].empty() ? nullptr : x[j].data());
    dxp.push_back(dx[j].data());
  }
  std::vector<T> y(size_t(out_size<Cell>(d)), std::numeric_limits<T>::quiet_NaN()), saved;
  const std::vector<T> dy(dout.begin(), dout.end());
  Cell::template forward<T>(xp, y.data(), saved, d);
  Cell::template backward<T>(xp, y.data(), dy.data(), dxp, saved, d);
  CellRun r{std::vector<double>(y.begin(), y.end()), {}};
  for (const auto& g : dx) r.grads.emplace_back(g.begin(), g.end());
  return r;
}

// The op harness over every input; without an initial state the state inputs are absent (null)
// and get no gradient, as the GRU's recurrent bias without `bias`. Without `final_state` the
// output is h alone (no final states written, none with a gradient).
template <class Cell>
struct CellOpCase {
  RnnDims d;
  bool initial = true;
  double scale = 1.0;
  bool final_state = true;
  bool bias = true;
  bool absent(size_t j) const {
    return (!initial && Cell::is_initial(j)) || (!bias && Cell::is_bias(j));
  }
  std::vector<Shape> inputs() const {
    std::vector<Shape> s;
    for (int64_t n : Cell::sizes(d)) s.push_back({n});
    return s;
  }
  Shape output() const { return {final_state ? out_size<Cell>(d) : d.B * d.T * d.H}; }
  std::vector<bool> differentiable() const {
    std::vector<bool> r;
    for (size_t j = 0; j < Cell::sizes(d).size(); ++j) r.push_back(!absent(j));
    return r;
  }
  double input(size_t which, int64_t, double z) const {
    if (which == 0) return scale * z;
    if (which == 1) return scale * z / std::sqrt(double(d.H));
    return z;
  }
  template <class T>
  std::vector<const T*> present(const std::vector<const T*>& x) const {
    std::vector<const T*> p(x);
    for (size_t j = 0; j < p.size(); ++j)
      if (absent(j)) p[j] = nullptr;
    return p;
  }
  template <class T>
  void forward(const std::vector<const T*>& x, T* y, std::vector<T>& saved) const {
    Cell::template forward<T>(present(x), y, saved, d, final_state);
  }
  template <class T>
  void backward(const std::vector<const T*>& x, const T* y, const T* dy, const std::vector<T*>& dx,
                std::vector<T>& saved) const {
    Cell::template backward<T>(present(x), y, dy, dx, saved, d, final_state);
  }
#ifdef ICL_WITH_CUDA
  // The time loops do the CPU's arithmetic with the device's expf / tanhf, dW_h is a column sum
  // in another order: 1e-5 against kern:: in fp32. The saved gates (and cells) are compared too.
  void cuda_forward(const CudaContext& cx, const test::DeviceInputs& x, float* y,
                    float* saved) const {
    Cell::cuda_forward(cx, present(x), y, saved, d, final_state);
  }
  void cuda_backward(const CudaContext& cx, const test::DeviceInputs& x, const float* y,
                     const float* dy, const test::DeviceGrads& dx, float* saved) const {
    Cell::cuda_backward(cx, present(x), y, dy, dx, saved, d, final_state);
  }
  std::vector<test::Part> cuda_parts(test::Slot slot, size_t, const test::CpuResult&) const {
    const int64_t n = d.B * d.T * d.H, s = d.B * d.H;
    if (slot != test::Slot::Output) return {};
    std::vector<test::Part> p = {test::whole("h", n)};
    if (final_state) p.push_back({"h_T", n, s, s});
    if (final_state && Cell::finals == 2) p.push_back({"c_T", n + s, s, s});
    return p;
  }
#endif
};

// ---------------------------------------------------------------------------------------------
// Hand-worked cases, H = 1.

// LSTM, T = 1: a = gates_x + h0·W_h, c_1 = σ(a_f) c0 + σ(a_i) tanh(a_g), h_1 = σ(a_o) tanh(c_1).
// With L = h_1 + 2 h_T + 3 c_T (h_T = h_1, c_T = c_1) the gradients are, by the chain rule,
// ∂L/∂c_1 = 3 + 3 σ(a_o)(1 − tanh² c_1), ∂L/∂a_o = 3 tanh(c_1) σ'(a_o), ∂L/∂a_i = ∂L/∂c_1 tanh(a_g)
// σ'(a_i), ∂L/∂a_f = ∂L/∂c_1 c0 σ'(a_f), ∂L/∂a_g = ∂L/∂c_1 σ(a_i)(1 − tanh² a_g),
// ∂L/∂W_h = h0 ∂L/∂a, ∂L/∂h0 = Σ_k W_k ∂L/∂a_k, ∂L/∂c0 = ∂L/∂c_1 σ(a_f).
TEST(OpLstm, HandComputedOneStep) {
  const double gx[4] = {0.5, -1, 0.25, 2}, w[4] = {0.2, -0.3, 0.4, 0.1}, h0 = 0.5, c0 = -1;
  double a[4];
  for (int k = 0; k < 4; ++k) a[k] = gx[k] + h0 * w[k];
  auto dsig = [](double x) { return sig(x) * (1 - sig(x)); };
  const double c1 = sig(a[1]) * c0 + sig(a[0]) * std::tanh(a[2]);
  const double h1 = sig(a[3]) * std::tanh(c1);
  const double dc = 3 + 3 * sig(a[3]) * (1 - std::tanh(c1) * std::tanh(c1));
  const double da[4] = {dc * std::tanh(a[2]) * dsig(a[0]), dc * c0 * dsig(a[1]),
                        dc * sig(a[0]) * (1 - std::tanh(a[2]) * std::tanh(a[2])),
                        3 * std::tanh(c1) * dsig(a[3])};
  const RnnDims d{1, 1, 1};
  const CellRun r = run<Lstm, double>({{gx, gx + 4}, {w, w + 4}, {h0}, {c0}}, {1, 2, 3}, d);
  EXPECT_NEAR(r.out[0], h1, 1e-15);
  EXPECT_NEAR(r.out[1], h1, 1e-15);
  EXPECT_NEAR(r.out[2], c1, 1e-15);
  double dh0 = 0;
  for (int k = 0; k < 4; ++k) {
    EXPECT_NEAR(r.grads[0][size_t(k)], da[k], 1e-14) << k;
    EXPECT_NEAR(r.grads[1][size_t(k)], h0 * da[k], 1e-14) << k;
    dh0 += w[k] * da[k];
  }
  EXPECT_NEAR(r.grads[2][0], dh0, 1e-14);
  EXPECT_NEAR(r.grads[3][0], dc * sig(a[1]), 1e-14);
}

// LSTM, T = 2 from the zero state, against the two steps written out; the first has no recurrent
// term, so h_1 = σ(x_o) tanh(σ(x_i) tanh(x_g)). A zero output gradient gives zero gradients.
TEST(OpLstm, HandComputedTwoSteps) {
  const double gx[8] = {0.3, 0.1, -0.7, 1.2, -0.4, 0.9, 0.6, -0.2};
  const double w[4] = {0.5, -0.25, 0.75, 1.0};
  double c = 0, h = 0, hs[2];
  for (int t = 0; t < 2; ++t) {
    double a[4];
    for (int k = 0; k < 4; ++k) a[k] = gx[4 * t + k] + h * w[k];
    c = sig(a[1]) * c + sig(a[0]) * std::tanh(a[2]);
    h = sig(a[3]) * std::tanh(c);
    hs[t] = h;
  }
  const CellRun r = run<Lstm, double>({{gx, gx + 8}, {w, w + 4}, {}, {}}, {0, 0, 0, 0}, {1, 2, 1});
  EXPECT_NEAR(r.out[0], hs[0], 1e-15);
  EXPECT_NEAR(r.out[1], hs[1], 1e-15);
  EXPECT_NEAR(r.out[2], hs[1], 1e-15);
  EXPECT_NEAR(r.out[3], c, 1e-15);
  EXPECT_NEAR(r.out[0], sig(1.2) * std::tanh(sig(0.3) * std::tanh(-0.7)), 1e-15);
  for (const auto& g : r.grads)
    for (double v : g) EXPECT_EQ(v, 0.0);
}

// GRU, T = 1: u = h0·W_h (+ b_hn on n), r = σ(x_r + u_r), z = σ(x_z + u_z),
// n = tanh(x_n + r u_n), h_1 = (1 − z) n + z h0. With L = h_1 + 2 h_T:
// ∂L/∂h_1 = 3, ∂L/∂p_z = 3 (h0 − n) σ'(p_z), ∂L/∂p_n = 3 (1 − z)(1 − n²), ∂L/∂p_r = ∂L/∂p_n u_n
// σ'(p_r), ∂L/∂b_hn = ∂L/∂p_n r, ∂L/∂W_h = h0 (∂L/∂p_r, ∂L/∂p_z, ∂L/∂p_n r),
// ∂L/∂h0 = 3 z + W_r ∂L/∂p_r + W_z ∂L/∂p_z + W_n r ∂L/∂p_n.
TEST(OpGru, HandComputedOneStep) {
  const double x[3] = {0.4, -0.6, 0.8}, w[3] = {0.3, 0.7, -0.5}, bhn = 0.25, h0 = -0.8;
  auto dsig = [](double v) { return sig(v) * (1 - sig(v)); };
  const double pr = x[0] + h0 * w[0], pz = x[1] + h0 * w[1], un = h0 * w[2] + bhn;
  const double r = sig(pr), z = sig(pz), n = std::tanh(x[2] + r * un);
  const double h1 = (1 - z) * n + z * h0;
  const double dpn = 3 * (1 - z) * (1 - n * n), dpz = 3 * (h0 - n) * dsig(pz),
               dpr = dpn * un * dsig(pr);
  const CellRun r1 = run<Gru, double>({{x, x + 3}, {w, w + 3}, {bhn}, {h0}}, {1, 2}, {1, 1, 1});
  EXPECT_NEAR(r1.out[0], h1, 1e-15);
  EXPECT_NEAR(r1.out[1], h1, 1e-15);
  EXPECT_NEAR(r1.grads[0][0], dpr, 1e-14);
  EXPECT_NEAR(r1.grads[0][1], dpz, 1e-14);
  EXPECT_NEAR(r1.grads[0][2], dpn, 1e-14);
  EXPECT_NEAR(r1.grads[1][0], h0 * dpr, 1e-14);
  EXPECT_NEAR(r1.grads[1][1], h0 * dpz, 1e-14);
  EXPECT_NEAR(r1.grads[1][2], h0 * dpn * r, 1e-14);
  EXPECT_NEAR(r1.grads[2][0], dpn * r, 1e-14);
  EXPECT_NEAR(r1.grads[3][0], 3 * z + w[0] * dpr + w[1] * dpz + w[2] * r * dpn, 1e-14);
}

// GRU, T = 2 from the zero state: step 1 has no recurrent term but b_hn, step 2 the full one.
TEST(OpGru, HandComputedTwoSteps) {
  const double x[6] = {0.4, -0.6, 0.8, -1.1, 0.2, 0.5}, w[3] = {0.3, 0.7, -0.5}, bhn = -0.3;
  const double r1 = sig(x[0]), z1 = sig(x[1]), n1 = std::tanh(x[2] + r1 * bhn);
  const double h1 = (1 - z1) * n1;
  const double r2 = sig(x[3] + h1 * w[0]), z2 = sig(x[4] + h1 * w[1]),
               n2 = std::tanh(x[5] + r2 * (h1 * w[2] + bhn));
  const double h2 = (1 - z2) * n2 + z2 * h1;
  const CellRun r = run<Gru, double>({{x, x + 6}, {w, w + 3}, {bhn}, {}}, {0, 0, 0}, {1, 2, 1});
  EXPECT_NEAR(r.out[0], h1, 1e-15);
  EXPECT_NEAR(r.out[1], h2, 1e-15);
  EXPECT_NEAR(r.out[2], h2, 1e-15);
}

// ---------------------------------------------------------------------------------------------
// Against the naive reference: outputs and final states, and every gradient (the loss includes the
// final states) against central differences of the reference itself.
template <class Cell>
void check_against_naive() {
  double worst_fwd = 0, worst_grad = 0;
  for (int64_t Tn : {1, 2, 63, 100})
    for (bool initial : {false, true}) {
      SCOPED_TRACE(fmt::format("{} T={} initial={}", Cell::name, Tn, initial));
      const RnnDims d{2, Tn, 5};
      const Vecs in = make_inputs<Cell>(d, initial, uint64_t(Tn) + 7);
      const std::vector<double> dout = normals(out_size<Cell>(d), uint64_t(Tn));
      const std::vector<double> ref = Cell::naive(in, d);
      const CellRun r = run<Cell, double>(in, dout, d);
      const double ef = test::rel_err(r.out, ref);
      EXPECT_LE(ef, 1e-13);
      worst_fwd = std::max(worst_fwd, ef);
      auto loss = [&](const Vecs& x) {
        const auto y = Cell::naive(x, d);
        double l = 0;
        for (size_t i = 0; i < y.size(); ++i) l += y[i] * dout[i];
        return l;
      };
      Rng pick({uint64_t(Tn), stream_id("fd picks")}, 0);
      for (size_t j = 0; j < in.size(); ++j) {
        if (in[j].empty()) continue;
        double scale = 1e-30, worst = 0;
        for (double v : r.grads[j]) scale = std::max(scale, std::abs(v));
        for (int s = 0; s < 24; ++s) {
          const size_t i = size_t(pick.below(in[j].size()));
          Vecs plus = in, minus = in;
          const double h = 1e-6;
          plus[j][i] += h;
          minus[j][i] -= h;
          const double fd = (loss(plus) - loss(minus)) / (2 * h);
          worst = std::max(worst, std::abs(fd - r.grads[j][i]));
        }
        EXPECT_LE(worst / scale, 1e-6) << "input " << j;
        worst_grad = std::max(worst_grad, worst / scale);
      }
    }
  std::printf("%s vs naive reference: forward %.2e, gradients vs FD %.2e\n", Cell::name, worst_fwd,
              worst_grad);
}

TEST(OpLstm, MatchesNaiveReference) { check_against_naive<Lstm>(); }
TEST(OpGru, MatchesNaiveReference) { check_against_naive<Gru>(); }

template <class Cell>
void check_harness(const test::OpRunner& runner) {
  test::Tolerance tol;
  tol.fd_samples = 40;
  for (auto [B, Tn, H] : {std::tuple<int64_t, int64_t, int64_t>{1, 1, 1}, {2, 3, 4}, {3, 17, 5}})
    for (bool initial : {true, false})
      runner(CellOpCase<Cell>{{B, Tn, H}, initial},
             fmt::format("{} B={} T={} H={} initial={}", Cell::name, B, Tn, H, initial), tol);
  // With and without initial and final states (and the GRU's recurrent bias with the initial
  // state), hidden sizes below and above one block of threads (G = 4H or 3H > 1024 makes threads
  // take several columns).
  for (auto [B, Tn, H, initial, final_state] :
       {std::tuple<int64_t, int64_t, int64_t, bool, bool>{1, 1, 1, false, false},
        {3, 37, 5, true, true},
        {2, 20, 64, false, true},
        {2, 9, 300, true, false}})
    runner.cuda_only(CellOpCase<Cell>{{B, Tn, H}, initial, 1.0, final_state, initial},
                     fmt::format("{} B={} T={} H={} initial={} final={}", Cell::name, B, Tn, H,
                                 initial, final_state));
}

ICL_OP_TEST(OpLstm, Cell) { check_harness<Lstm>(run); }
ICL_OP_TEST(OpGru, Cell) { check_harness<Gru>(run); }

// Pre-activations of ±30 and beyond saturate every gate (σ' and tanh' underflow towards 0 in
// fp32): outputs, final states and gradients stay finite. fp32 follows fp64 as far as the problem
// allows: a pre-activation of size `scale` carries an fp32 rounding error of about scale·2⁻²⁴,
// which the gates pass on unattenuated wherever a pre-activation happens to land near 0.
template <class Cell>
void check_saturation() {
  for (double scale : {30.0, 300.0}) {
    SCOPED_TRACE(fmt::format("{} scale {}", Cell::name, scale));
    const RnnDims d{2, 64, 8};
    const Vecs in = make_inputs<Cell>(d, true, 3, scale);
    const std::vector<double> dout = normals(out_size<Cell>(d), 4);
    const CellRun r64 = run<Cell, double>(in, dout, d), r32 = run<Cell, float>(in, dout, d);
    for (const CellRun* r : {&r64, &r32}) {
      for (double v : r->out) ASSERT_TRUE(std::isfinite(v));
      for (const auto& g : r->grads)
        for (double v : g) ASSERT_TRUE(std::isfinite(v));
    }
    EXPECT_LE(test::rel_err(r32.out, r64.out), scale * 1e-6);
  }
}

TEST(OpLstm, SaturatedGatesStayFinite) { check_saturation<Lstm>(); }
TEST(OpGru, SaturatedGatesStayFinite) { check_saturation<Gru>(); }

template <class Cell>
void check_threads() {
  const RnnDims d{7, 150, 24};
  const Vecs in = make_inputs<Cell>(d, true, 11);
  const std::vector<double> dout = normals(out_size<Cell>(d), 12);
  auto run_with = [&](int threads) {
    const int before = omp_get_max_threads();
    omp_set_num_threads(threads);
    const CellRun r = run<Cell, float>(in, dout, d);
    omp_set_num_threads(before);
    return r;
  };
  const CellRun one = run_with(1);
  for (int threads : {2, 3, 8}) {
    const CellRun r = run_with(threads);
    EXPECT_EQ(one.out, r.out) << threads;
    for (size_t j = 0; j < r.grads.size(); ++j) EXPECT_EQ(one.grads[j], r.grads[j]) << j;
  }
}

TEST(OpLstm, SameResultForAnyThreadCount) { check_threads<Lstm>(); }
TEST(OpGru, SameResultForAnyThreadCount) { check_threads<Gru>(); }

// ---------------------------------------------------------------------------------------------
// The graph ops: values and gradients (through h and the final states) equal the kernels'; without
// gradients nothing is recorded.

struct GraphFixture {
  Arena arena;
  Graph g{arena, true};
  Var leaf(const std::vector<double>& x, Shape s) {
    Tensor t = arena.tensor(s), gt = arena.tensor(s, DType::F32, true);
    std::copy(x.begin(), x.end(), t.f());
    return g.leaf(t, gt);
  }
  // Seeds the outputs' gradients with consecutive slices of dout and runs the backward.
  void backward(const std::vector<Var>& outs, const std::vector<double>& dout) {
    Var loss = g.output({1}, true);
    loss.f()[0] = 0;
    const Var* o = outs.data();
    const size_t n = outs.size();
    const double* dy = dout.data();
    g.record([this, o, n, dy, loss] {
      const float s = g.grad(loss).f()[0];
      size_t at = 0;
      for (size_t k = 0; k < n; ++k) {
        float* gr = g.grad(o[k]).f();
        for (int64_t i = 0; i < o[k].value().numel(); ++i) gr[i] += s * float(dy[at++]);
      }
    });
    g.backward(loss);
  }
};

std::vector<double> values(const Tensor& t) { return {t.f(), t.f() + t.numel()}; }

std::vector<double> concat(const std::vector<Var>& vs) {
  std::vector<double> r;
  for (const Var& v : vs) {
    const auto x = values(v.value());
    r.insert(r.end(), x.begin(), x.end());
  }
  return r;
}

TEST(OpLstm, GraphWrapperMatchesKernel) {
  const RnnDims d{3, 19, 6};
  const Vecs in = make_inputs<Lstm>(d, true, 21);
  const std::vector<double> dout = normals(out_size<Lstm>(d), 22);
  const CellRun ref = run<Lstm, float>(in, dout, d);
  GraphFixture f;
  const Var gx = f.leaf(in[0], {d.B, d.T, 4 * d.H}), w = f.leaf(in[1], {d.H, 4 * d.H}),
            h0 = f.leaf(in[2], {d.B, d.H}), c0 = f.leaf(in[3], {d.B, d.H});
  const ops::LstmResult r = ops::lstm(f.g, gx, w, h0, c0, true);
  ASSERT_EQ(r.h.shape(), (Shape{d.B, d.T, d.H}));
  ASSERT_EQ(r.c_last.shape(), (Shape{d.B, d.H}));
  const std::vector<Var> outs{r.h, r.h_last, r.c_last};
  f.backward(outs, dout);
  EXPECT_EQ(concat(outs), ref.out);
  const Var leaves[] = {gx, w, h0, c0};
  for (size_t j = 0; j < 4; ++j) EXPECT_EQ(values(leaves[j].n->grad), ref.grads[j]) << j;

  Graph eval(f.arena, false);
  const ops::LstmResult e = ops::lstm(eval, eval.constant(gx.value()), eval.constant(w.value()));
  EXPECT_FALSE(e.h.needs_grad());
  EXPECT_EQ(e.h_last.n, nullptr);
  EXPECT_EQ(eval.tape_size(), 0u);
  Vecs zero_init = in;
  zero_init[2].clear();
  zero_init[3].clear();
  const CellRun z = run<Lstm, float>(zero_init, dout, d);
  EXPECT_EQ(values(e.h.value()),
            std::vector<double>(z.out.begin(), z.out.begin() + d.B * d.T * d.H));
}

TEST(OpGru, GraphWrapperMatchesKernel) {
  const RnnDims d{3, 19, 6};
  const Vecs in = make_inputs<Gru>(d, true, 23);
  const std::vector<double> dout = normals(out_size<Gru>(d), 24);
  const CellRun ref = run<Gru, float>(in, dout, d);
  GraphFixture f;
  const Var gx = f.leaf(in[0], {d.B, d.T, 3 * d.H}), w = f.leaf(in[1], {d.H, 3 * d.H}),
            b = f.leaf(in[2], {d.H}), h0 = f.leaf(in[3], {d.B, d.H});
  const ops::GruResult r = ops::gru(f.g, gx, w, b, h0, true);
  ASSERT_EQ(r.h.shape(), (Shape{d.B, d.T, d.H}));
  ASSERT_EQ(r.h_last.shape(), (Shape{d.B, d.H}));
  const std::vector<Var> outs{r.h, r.h_last};
  f.backward(outs, dout);
  EXPECT_EQ(concat(outs), ref.out);
  const Var leaves[] = {gx, w, b, h0};
  for (size_t j = 0; j < 4; ++j) EXPECT_EQ(values(leaves[j].n->grad), ref.grads[j]) << j;

  Graph eval(f.arena, false);
  const ops::GruResult e = ops::gru(eval, eval.constant(gx.value()), eval.constant(w.value()));
  EXPECT_FALSE(e.h.needs_grad());
  EXPECT_EQ(eval.tape_size(), 0u);
  Vecs plain = in;
  plain[2].clear();
  plain[3].clear();
  const CellRun z = run<Gru, float>(plain, dout, d);
  EXPECT_EQ(values(e.h.value()),
            std::vector<double>(z.out.begin(), z.out.begin() + d.B * d.T * d.H));
}

}  // namespace
}  // namespace icl

// CUDA twins of the ops the linear-RNN and attention-free mixers are built from (gating,
// smooth_activations, per_head, long_conv, mlstm) against their CPU kern:: functions (fp32) on
// fresh random inputs at odd shapes. Forward outputs start poisoned (an unwritten element fails);
// gradients accumulate, so their buffers start from the same random values on both sides.
// Tolerance 1e-5 relative per tensor: the elementwise kernels and the RNN cells' time loops do the
// CPU's arithmetic with the device's expf / log1pf / tanhf (a few ulp from glibc); the column sums
// (dd, dA_log, dfilter, dW_h) add in another order. A whole recurrent model per mixer on the GPU
// against the CPU closes the file.
#ifdef ICL_WITH_CUDA

#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/device.h"
#include "kernels/gating.h"
#include "kernels/gru.h"
#include "kernels/long_conv.h"
#include "kernels/lstm.h"
#include "kernels/mlstm.h"
#include "kernels/per_head.h"
#include "kernels/smooth_activations.h"
#include "models/model.h"
#include "models/model_predictor.h"
#include "tasks/task.h"
#include "tests/cuda_harness.h"
#include "tests/mixer_cases.h"

namespace icl {
namespace {

using test::ctx;
using test::DeviceBuffer;
using test::expect_close;
using test::random_vector;

constexpr double kTol = 1e-5;

// n values squashed into (lo, hi) by tanh (gates, positive step sizes), from stream `label`.
std::vector<float> squashed(size_t n, const std::string& label, float lo, float hi) {
  std::vector<float> v = random_vector(n, label);
  for (auto& x : v) x = lo + (hi - lo) * 0.5f * (1.f + std::tanh(x));
  return v;
}

// --- elementwise maps: y = f(x), dx += g(dy, x[, y]) ------------------------------------------

struct Pointwise {
  const char* name;
  std::function<void(float*, const float*, int64_t)> cpu_fwd;
  std::function<void(float*, const float*, const float*, const float*, int64_t)> cpu_bwd;
  std::function<void(float*, const float*, int64_t)> gpu_fwd;
  std::function<void(float*, const float*, const float*, const float*, int64_t)> gpu_bwd;
};

TEST(CudaMixerOps, SmoothActivationsMatchCpu) {
  ICL_REQUIRE_GPU();
  const auto& c = ctx();
  const std::vector<Pointwise> ops = {
      {"sigmoid_gate c=2 p=0.4",
       [](float* y, const float* x, int64_t n) { kern::sigmoid_gate_forward(y, x, 2.f, 0.4f, n); },
       [](float* dx, const float* dy, const float* y, const float* x, int64_t n) {
         kern::sigmoid_gate_backward(dx, dy, y, x, 0.4f, n);
       },
       [&](float* y, const float* x, int64_t n) {
         cuda::sigmoid_gate_forward(c, y, x, 2.f, 0.4f, n);
       },
       [&](float* dx, const float* dy, const float* y, const float* x, int64_t n) {
         cuda::sigmoid_gate_backward(c, dx, dy, y, x, 0.4f, n);
       }},
      {"softplus", [](float* y, const float* x, int64_t n) { kern::softplus_forward(y, x, n); },
       [](float* dx, const float* dy, const float*, const float* x, int64_t n) {
         kern::softplus_backward(dx, dy, x, n);
       },
       [&](float* y, const float* x, int64_t n) { cuda::softplus_forward(c, y, x, n); },
       [&](float* dx, const float* dy, const float*, const float* x, int64_t n) {
         cuda::softplus_backward(c, dx, dy, x, n);
       }},
      {"elu_plus_one",
       [](float* y, const float* x, int64_t n) { kern::elu_plus_one_forward(y, x, n); },
       [](float* dx, const float* dy, const float*, const float* x, int64_t n) {
         kern::elu_plus_one_backward(dx, dy, x, n);
       },
       [&](float* y, const float* x, int64_t n) { cuda::elu_plus_one_forward(c, y, x, n); },
       [&](float* dx, const float* dy, const float*, const float* x, int64_t n) {
         cuda::elu_plus_one_backward(c, dx, dy, x, n);
       }},
      {"silu", [](float* y, const float* x, int64_t n) { kern::silu_forward(y, x, n); },
       [](float* dx, const float* dy, const float*, const float* x, int64_t n) {
         kern::silu_backward(dx, dy, x, n);
       },
       [&](float* y, const float* x, int64_t n) { cuda::silu_forward(c, y, x, n); },
       [&](float* dx, const float* dy, const float*, const float* x, int64_t n) {
         cuda::silu_backward(c, dx, dy, x, n);
       }},
  };
  // Odd sizes, one past the capped grid's reach per thread; inputs up to ±40 reach the stable
  // branches' far ends.
  for (const int64_t n : {int64_t(1), int64_t(1000), int64_t(2100003)})
    for (const Pointwise& op : ops) {
      const std::string tag = fmt::format("{} n={}", op.name, n);
      std::vector<float> x = random_vector(size_t(n), tag + " x", 6.0);
      if (n > 2) x[0] = 40.f, x[1] = -40.f;
      const auto dy = random_vector(size_t(n), tag + " dy");
      const size_t m = static_cast<size_t>(n);
      std::vector<float> y(m), dx = random_vector(m, tag + " dx0");
      DeviceBuffer gx(x), gdy(dy), gy(m), gdx(dx);
      op.cpu_fwd(y.data(), x.data(), n);
      op.cpu_bwd(dx.data(), dy.data(), y.data(), x.data(), n);
      op.gpu_fwd(gy.get(), gx.get(), n);
      op.gpu_bwd(gdx.get(), gdy.get(), gy.get(), gx.get(), n);
      c.synchronize();
      expect_close(gy.download(), y, kTol, tag + " y");
      expect_close(gdx.download(), dx, kTol, tag + " dx");
    }
}

TEST(CudaMixerOps, GatingMatchesCpu) {
  ICL_REQUIRE_GPU();
  const auto& c = ctx();
  struct Shape2 {
    int64_t R, C;
  };
  for (const Shape2 s : {Shape2{1, 1}, Shape2{7, 13}, Shape2{1031, 96}, Shape2{70001, 3}}) {
    const std::string tag = fmt::format("R{}C{}", s.R, s.C);
    const size_t n = size_t(s.R * s.C);
    const auto a = random_vector(n, tag + "a"), b = random_vector(n, tag + "b"),
               d = random_vector(size_t(s.C), tag + "d"), dy = random_vector(n, tag + "dy");
    // multiply
    std::vector<float> y(n), da = random_vector(n, tag + "da0"), db = random_vector(n, tag + "db0");
    DeviceBuffer ga(a), gb(b), gdy(dy), gy(n), gda(da), gdb(db);
    kern::multiply_forward(y.data(), a.data(), b.data(), int64_t(n));
    kern::multiply_backward(da.data(), db.data(), dy.data(), a.data(), b.data(), int64_t(n));
    cuda::multiply_forward(c, gy.get(), ga.get(), gb.get(), int64_t(n));
    cuda::multiply_backward(c, gda.get(), gdb.get(), gdy.get(), ga.get(), gb.get(), int64_t(n));
    c.synchronize();
    expect_close(gy.download(), y, kTol, tag + " multiply y");
    expect_close(gda.download(), da, kTol, tag + " multiply da");
    expect_close(gdb.download(), db, kTol, tag + " multiply db");
    // scale_channels, each gradient alone too (the other null)
    for (int which = 0; which < 3; ++which) {
      std::vector<float> ys(n), dx = random_vector(n, tag + "dx0"),
                                dd = random_vector(size_t(s.C), tag + "dd0");
      DeviceBuffer gd(d), gys(n), gdx(dx), gdd(dd);
      float* cdx = which != 2 ? dx.data() : nullptr;
      float* cdd = which != 1 ? dd.data() : nullptr;
      kern::scale_channels_forward(ys.data(), a.data(), d.data(), s.R, s.C);
      kern::scale_channels_backward(cdx, cdd, dy.data(), a.data(), d.data(), s.R, s.C);
      cuda::scale_channels_forward(c, gys.get(), ga.get(), gd.get(), s.R, s.C);
      cuda::scale_channels_backward(c, which != 2 ? gdx.get() : nullptr,
                                    which != 1 ? gdd.get() : nullptr, gdy.get(), ga.get(), gd.get(),
                                    s.R, s.C);
      c.synchronize();
      const std::string t = fmt::format("{} scale_channels grads {}", tag, which);
      expect_close(gys.download(), ys, kTol, t + " y");
      expect_close(gdx.download(), dx, kTol, t + " dx");
      expect_close(gdd.download(), dd, kTol, t + " dd");
    }
  }
}

TEST(CudaMixerOps, PerHeadOpsMatchCpu) {
  ICL_REQUIRE_GPU();
  const auto& c = ctx();
  struct Dims {
    int64_t R, H, d;
  };
  for (const Dims s : {Dims{1, 1, 1}, Dims{37, 3, 5}, Dims{4099, 4, 16}, Dims{20001, 2, 3}}) {
    const std::string tag = fmt::format("R{}H{}d{}", s.R, s.H, s.d);
    const size_t nx = size_t(s.R * s.H * s.d), nh = size_t(s.R * s.H);
    const auto x = random_vector(nx, tag + "x"), dy = random_vector(nx, tag + "dy"),
               sc = random_vector(nh, tag + "s"), dyh = random_vector(nh, tag + "dyh");
    DeviceBuffer gx(x), gdy(dy), gs(sc), gdyh(dyh);
    {  // scale_heads
      std::vector<float> y(nx), dx = random_vector(nx, tag + "dx0"), ds = random_vector(nh, "ds0");
      DeviceBuffer gy(nx), gdx(dx), gds(ds);
      kern::scale_heads_forward(y.data(), x.data(), sc.data(), s.R, s.H, s.d);
      kern::scale_heads_backward(dx.data(), ds.data(), dy.data(), x.data(), sc.data(), s.R, s.H,
                                 s.d);
      cuda::scale_heads_forward(c, gy.get(), gx.get(), gs.get(), s.R, s.H, s.d);
      cuda::scale_heads_backward(c, gdx.get(), gds.get(), gdy.get(), gx.get(), gs.get(), s.R, s.H,
                                 s.d);
      c.synchronize();
      expect_close(gy.download(), y, kTol, tag + " scale_heads y");
      expect_close(gdx.download(), dx, kTol, tag + " scale_heads dx");
      expect_close(gds.download(), ds, kTol, tag + " scale_heads ds");
    }
    {  // l2norm_heads: rows of d
      const int64_t rows = s.R * s.H;
      std::vector<float> y(nx), dx = random_vector(nx, tag + "ndx0");
      DeviceBuffer gy(nx), gdx(dx);
      kern::l2norm_heads_forward(y.data(), x.data(), 1e-6f, rows, s.d);
      kern::l2norm_heads_backward(dx.data(), dy.data(), y.data(), x.data(), 1e-6f, rows, s.d);
      cuda::l2norm_heads_forward(c, gy.get(), gx.get(), 1e-6f, rows, s.d);
      cuda::l2norm_heads_backward(c, gdx.get(), gdy.get(), gy.get(), gx.get(), 1e-6f, rows, s.d);
      c.synchronize();
      expect_close(gy.download(), y, kTol, tag + " l2norm y");
      expect_close(gdx.download(), dx, kTol, tag + " l2norm dx");
    }
    for (const bool negative : {false, true}) {  // ssm_decay: Δ > 0, A_log around 0
      const std::string t = tag + (negative ? " ssm_decay[-1,1]" : " ssm_decay[0,1]");
      const auto dt = squashed(nh, tag + "dt", 0.001f, 2.f);
      const auto a_log = random_vector(size_t(s.H), tag + "alog", 0.5);
      std::vector<float> y(nh), ddt = random_vector(nh, tag + "ddt0"),
                                da = random_vector(size_t(s.H), tag + "da0");
      DeviceBuffer gdt(dt), gal(a_log), gy(nh), gddt(ddt), gda(da);
      kern::ssm_decay_forward(y.data(), dt.data(), a_log.data(), negative, s.R, s.H);
      kern::ssm_decay_backward(ddt.data(), da.data(), dyh.data(), dt.data(), a_log.data(), negative,
                               s.R, s.H);
      cuda::ssm_decay_forward(c, gy.get(), gdt.get(), gal.get(), negative, s.R, s.H);
      cuda::ssm_decay_backward(c, gddt.get(), gda.get(), gdyh.get(), gdt.get(), gal.get(), negative,
                               s.R, s.H);
      c.synchronize();
      expect_close(gy.download(), y, kTol, t + " y");
      expect_close(gddt.download(), ddt, kTol, t + " ddt");
      expect_close(gda.download(), da, kTol, t + " dA_log");
    }
  }
}

TEST(CudaMixerOps, LongConvMatchesCpuDirectForm) {
  ICL_REQUIRE_GPU();
  const auto& c = ctx();
  // Short filters (Mamba's width 4), filters longer than the sequence, a single tap, T = 1.
  for (const ConvDims d : {ConvDims{1, 1, 1, 1}, ConvDims{3, 37, 5, 4}, ConvDims{2, 50, 7, 64},
                           ConvDims{2, 301, 33, 301}, ConvDims{5, 9, 3, 1}}) {
    const std::string tag = fmt::format("B{}T{}C{}L{}", d.B, d.T, d.C, d.L);
    const size_t n = size_t(d.B * d.T * d.C), nf = size_t(d.C * d.L);
    const auto x = random_vector(n, tag + "x"), dy = random_vector(n, tag + "dy"),
               f = random_vector(nf, tag + "f", 0.3);
    std::vector<float> y(n), dx = random_vector(n, tag + "dx0"),
                             df = random_vector(nf, tag + "df0");
    DeviceBuffer gx(x), gdy(dy), gf(f), gy(n), gdx(dx), gdf(df);
    kern::long_conv_forward(y.data(), x.data(), f.data(), d, ConvMethod::Direct);
    kern::long_conv_backward(dx.data(), df.data(), dy.data(), x.data(), f.data(), d,
                             ConvMethod::Direct);
    cuda::long_conv_forward(c, gy.get(), gx.get(), gf.get(), d);
    cuda::long_conv_backward(c, gdx.get(), gdf.get(), gdy.get(), gx.get(), gf.get(), d);
    c.synchronize();
    expect_close(gy.download(), y, kTol, tag + " y");
    expect_close(gdx.download(), dx, kTol, tag + " dx");
    expect_close(gdf.download(), df, kTol, tag + " dfilter");
  }
}

TEST(CudaMixerOps, MlstmOpsMatchCpu) {
  ICL_REQUIRE_GPU();
  const auto& c = ctx();
  struct Dims {
    int64_t B, L, H, d;
  };
  for (const Dims s : {Dims{1, 1, 1, 1}, Dims{3, 37, 2, 5}, Dims{2, 300, 4, 16}}) {
    const std::string tag = fmt::format("B{}L{}H{}d{}", s.B, s.L, s.H, s.d);
    const size_t nh = size_t(s.B * s.L * s.H), no = nh * size_t(s.d);
    const auto f_pre = random_vector(nh, tag + "f", 3.0), i_pre = random_vector(nh, tag + "i", 3.0);
    const auto ddecay = random_vector(nh, tag + "ddec"), dins = random_vector(nh, tag + "dins");
    std::vector<float> decay(nh), ins(nh), floor_v(nh), df = random_vector(nh, tag + "df0"),
                                                        di = random_vector(nh, tag + "di0");
    DeviceBuffer gf(f_pre), gi(i_pre), gdd(ddecay), gdi_s(dins), gdec(nh), gins(nh), gfl(nh),
        gdf(df), gdi(di);
    kern::mlstm_stabilise_forward(decay.data(), ins.data(), floor_v.data(), f_pre.data(),
                                  i_pre.data(), s.B, s.L, s.H);
    kern::mlstm_stabilise_backward(df.data(), di.data(), ddecay.data(), dins.data(), decay.data(),
                                   ins.data(), f_pre.data(), int64_t(nh));
    cuda::mlstm_stabilise_forward(c, gdec.get(), gins.get(), gfl.get(), gf.get(), gi.get(), s.B,
                                  s.L, s.H);
    cuda::mlstm_stabilise_backward(c, gdf.get(), gdi.get(), gdd.get(), gdi_s.get(), gdec.get(),
                                   gins.get(), gf.get(), int64_t(nh));
    c.synchronize();
    expect_close(gdec.download(), decay, kTol, tag + " decay");
    expect_close(gins.download(), ins, kTol, tag + " input scale");
    expect_close(gfl.download(), floor_v, kTol, tag + " floor");
    expect_close(gdf.download(), df, kTol, tag + " df_pre");
    expect_close(gdi.download(), di, kTol, tag + " di_pre");

    // Denominators straddling the floor, so both branches of the max are taken.
    const auto o = random_vector(no, tag + "o"), dy = random_vector(no, tag + "dy");
    std::vector<float> den = random_vector(nh, tag + "den", 2.0);
    std::vector<float> y(no), d_o = random_vector(no, tag + "do0"),
                              dden = random_vector(nh, tag + "dden0");
    DeviceBuffer go(o), gdy(dy), gden(den), gy(no), gdo(d_o), gdden(dden);
    kern::mlstm_normalise_forward(y.data(), o.data(), den.data(), floor_v.data(), s.B * s.L, s.H,
                                  s.d);
    kern::mlstm_normalise_backward(d_o.data(), dden.data(), dy.data(), o.data(), den.data(),
                                   floor_v.data(), s.B * s.L, s.H, s.d);
    cuda::mlstm_normalise_forward(c, gy.get(), go.get(), gden.get(), gfl.get(), s.B * s.L, s.H,
                                  s.d);
    cuda::mlstm_normalise_backward(c, gdo.get(), gdden.get(), gdy.get(), go.get(), gden.get(),
                                   gfl.get(), s.B * s.L, s.H, s.d);
    c.synchronize();
    expect_close(gy.download(), y, kTol, tag + " normalise y");
    expect_close(gdo.download(), d_o, kTol, tag + " normalise do");
    expect_close(gdden.download(), dden, kTol, tag + " normalise dden");
  }
}

// --- classic RNN cells: with and without initial and final states, hidden sizes below and above
// one block of threads (G = 4H or 3H > 1024 makes threads take several columns) ---------------

struct CellCase {
  int64_t B, T, H;
  bool initial, final_state;
  std::string name() const {
    return fmt::format("B{}T{}H{}{}{}", B, T, H, initial ? "i" : "", final_state ? "f" : "");
  }
};
const std::vector<CellCase> kCells = {{1, 1, 1, false, false},
                                      {3, 37, 5, true, true},
                                      {2, 20, 64, false, true},
                                      {2, 9, 300, true, false}};

// A device copy of v, or a null pointer when v is empty (an absent optional tensor).
struct Optional {
  explicit Optional(const std::vector<float>& v)
      : buf(v.empty() ? nullptr : std::make_unique<DeviceBuffer>(v)) {}
  float* get() const { return buf ? buf->get() : nullptr; }
  std::unique_ptr<DeviceBuffer> buf;
};
float* ptr(std::vector<float>& v) { return v.empty() ? nullptr : v.data(); }

TEST(CudaMixerOps, LstmMatchesCpu) {
  ICL_REQUIRE_GPU();
  const auto& c = ctx();
  for (const CellCase& k : kCells) {
    const std::string tag = "lstm " + k.name();
    const RnnDims d{k.B, k.T, k.H};
    const size_t nx = size_t(k.B * k.T * 4 * k.H), nh = size_t(k.B * k.T * k.H),
                 ns = size_t(k.B * k.H), nw = size_t(k.H * 4 * k.H);
    const auto gx = random_vector(nx, tag + "x"), w = random_vector(nw, tag + "w", 0.3),
               dh = random_vector(nh, tag + "dh");
    auto h0 = k.initial ? random_vector(ns, tag + "h0") : std::vector<float>{};
    auto c0 = k.initial ? random_vector(ns, tag + "c0") : std::vector<float>{};
    auto dhT = k.final_state ? random_vector(ns, tag + "dhT") : std::vector<float>{};
    auto dcT = k.final_state ? random_vector(ns, tag + "dcT") : std::vector<float>{};
    std::vector<float> h(nh), hT(k.final_state ? ns : 0), cT(k.final_state ? ns : 0),
        saved(size_t(k.B * k.T * 5 * k.H)), work(nx);
    std::vector<float> dx = random_vector(nx, tag + "dx0"), dw = random_vector(nw, tag + "dw0"),
                       dh0 = k.initial ? random_vector(ns, tag + "dh00") : std::vector<float>{},
                       dc0 = k.initial ? random_vector(ns, tag + "dc00") : std::vector<float>{};
    DeviceBuffer g_x(gx), g_w(w), g_dh(dh), g_h(nh), g_saved(saved.size()), g_work(nx), g_dx(dx),
        g_dw(dw);
    Optional g_h0(h0), g_c0(c0), g_dhT(dhT), g_dcT(dcT), g_hT(hT), g_cT(cT), g_dh0(dh0), g_dc0(dc0);
    if (g_hT.buf) g_hT.buf->poison(), g_cT.buf->poison();
    kern::lstm_forward(h.data(), ptr(hT), ptr(cT), saved.data(), gx.data(), w.data(), ptr(h0),
                       ptr(c0), d);
    kern::lstm_backward(dx.data(), dw.data(), ptr(dh0), ptr(dc0), work.data(), dh.data(), ptr(dhT),
                        ptr(dcT), w.data(), ptr(h0), ptr(c0), h.data(), saved.data(), d);
    cuda::lstm_forward(c, g_h.get(), g_hT.get(), g_cT.get(), g_saved.get(), g_x.get(), g_w.get(),
                       g_h0.get(), g_c0.get(), d);
    cuda::lstm_backward(c, g_dx.get(), g_dw.get(), g_dh0.get(), g_dc0.get(), g_work.get(),
                        g_dh.get(), g_dhT.get(), g_dcT.get(), g_w.get(), g_h0.get(), g_c0.get(),
                        g_h.get(), g_saved.get(), d);
    c.synchronize();
    expect_close(g_h.download(), h, kTol, tag + " h");
    expect_close(g_saved.download(), saved, kTol, tag + " saved gates and cells");
    expect_close(g_dx.download(), dx, kTol, tag + " dgates_x");
    expect_close(g_dw.download(), dw, kTol, tag + " dW_h");
    if (k.final_state) {
      expect_close(g_hT.buf->download(), hT, kTol, tag + " h_T");
      expect_close(g_cT.buf->download(), cT, kTol, tag + " c_T");
    }
    if (k.initial) {
      expect_close(g_dh0.buf->download(), dh0, kTol, tag + " dh0");
      expect_close(g_dc0.buf->download(), dc0, kTol, tag + " dc0");
    }
  }
}

TEST(CudaMixerOps, GruMatchesCpu) {
  ICL_REQUIRE_GPU();
  const auto& c = ctx();
  for (const CellCase& k : kCells) {
    const std::string tag = "gru " + k.name();
    const RnnDims d{k.B, k.T, k.H};
    const size_t nx = size_t(k.B * k.T * 3 * k.H), nh = size_t(k.B * k.T * k.H),
                 ns = size_t(k.B * k.H), nw = size_t(k.H * 3 * k.H);
    const auto gx = random_vector(nx, tag + "x"), w = random_vector(nw, tag + "w", 0.3),
               dh = random_vector(nh, tag + "dh");
    // The recurrent candidate bias with the initial state, so both optional inputs are covered.
    auto bhn = k.initial ? random_vector(size_t(k.H), tag + "bhn") : std::vector<float>{};
    auto h0 = k.initial ? random_vector(ns, tag + "h0") : std::vector<float>{};
    auto dhT = k.final_state ? random_vector(ns, tag + "dhT") : std::vector<float>{};
    std::vector<float> h(nh), hT(k.final_state ? ns : 0), saved(size_t(k.B * k.T * 4 * k.H)),
        work(nx);
    std::vector<float> dx = random_vector(nx, tag + "dx0"), dw = random_vector(nw, tag + "dw0"),
                       dbhn = k.initial ? random_vector(size_t(k.H), tag + "db0")
                                        : std::vector<float>{},
                       dh0 = k.initial ? random_vector(ns, tag + "dh00") : std::vector<float>{};
    DeviceBuffer g_x(gx), g_w(w), g_dh(dh), g_h(nh), g_saved(saved.size()), g_work(nx), g_dx(dx),
        g_dw(dw);
    Optional g_bhn(bhn), g_h0(h0), g_dhT(dhT), g_hT(hT), g_dbhn(dbhn), g_dh0(dh0);
    if (g_hT.buf) g_hT.buf->poison();
    kern::gru_forward(h.data(), ptr(hT), saved.data(), gx.data(), w.data(), ptr(bhn), ptr(h0), d);
    kern::gru_backward(dx.data(), dw.data(), ptr(dbhn), ptr(dh0), work.data(), dh.data(), ptr(dhT),
                       w.data(), ptr(h0), h.data(), saved.data(), d);
    cuda::gru_forward(c, g_h.get(), g_hT.get(), g_saved.get(), g_x.get(), g_w.get(), g_bhn.get(),
                      g_h0.get(), d);
    cuda::gru_backward(c, g_dx.get(), g_dw.get(), g_dbhn.get(), g_dh0.get(), g_work.get(),
                       g_dh.get(), g_dhT.get(), g_w.get(), g_h0.get(), g_h.get(), g_saved.get(), d);
    c.synchronize();
    expect_close(g_h.download(), h, kTol, tag + " h");
    expect_close(g_saved.download(), saved, kTol, tag + " saved gates");
    expect_close(g_dx.download(), dx, kTol, tag + " dgates_x");
    expect_close(g_dw.download(), dw, kTol, tag + " dW_h");
    if (k.final_state) expect_close(g_hT.buf->download(), hT, kTol, tag + " h_T");
    if (k.initial) {
      expect_close(g_dbhn.buf->download(), dbhn, kTol, tag + " db_hn");
      expect_close(g_dh0.buf->download(), dh0, kTol, tag + " dh0");
    }
  }
}

// --- whole models --------------------------------------------------------------------------------

// Every mixer with CUDA kernels for all its ops: a 2-layer recurrent model's predictions on the
// GPU against the CPU, same initial parameters, on the same linear-regression prompts (22 tokens:
// not a multiple of the chunk). Training on the GPU is checked end to end by gpu_check.sh's runs.
TEST(CudaMixerOps, RecurrentModelsMatchCpu) {
  ICL_REQUIRE_GPU();
  auto gpu = open_device("cuda", false);
  const auto task = make_task("linear_regression", {{"d", "3"}});
  const PromptBatch pb = task->sample({5, 1}, 0, 3, 11);
  for (const auto& mixer : test::kMixerCases) {
    std::map<std::string, std::string> p = {
        {"n_layer", "2"}, {"n_embd", "16"}, {"n_head", "2"}, {"chunk", "8"}};
    std::string tag;
    for (const auto& [k, v] : mixer) p[k] = v, tag += k + "=" + v + " ";
    auto on_cpu = make_model("recurrent", p, ModelIO{3, 1, 11});
    auto on_gpu = make_model("recurrent", p, ModelIO{3, 1, 11});
    on_cpu->init(3);
    on_gpu->init(3);
    on_gpu->parameters().to_device(*gpu);
    const auto a = ModelPredictor(*on_cpu, "m").predict(pb);
    const auto b = ModelPredictor(*on_gpu, "m").predict(pb);
    expect_close(b, a, 1e-4, tag + "predictions");
  }
}

}  // namespace
}  // namespace icl

#endif  // ICL_WITH_CUDA

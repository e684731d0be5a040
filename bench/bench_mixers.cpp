// Forward + backward time of every sequence-mixer op against the sequence length T (64 … 4096) on
// the CPU, fp32, batch 8, width 128 (4 heads of 32 for the attention-like mixers): the cost axis
// of the transformer vs linear-RNN comparison. One benchmark per (op, form), T as the argument.
//   bench_mixers [--benchmark_filter=REGEX]   (Google Benchmark flags)
#include <benchmark/benchmark.h>

#include <vector>

#include "core/rng.h"
#include "kernels/attention.h"
#include "kernels/delta_rule.h"
#include "kernels/gru.h"
#include "kernels/linear_recurrence.h"
#include "kernels/long_conv.h"
#include "kernels/lstm.h"

namespace {

using icl::kern::attention_backward;
using icl::kern::attention_forward;
constexpr int64_t kB = 8, kC = 128, kH = 4;

std::vector<float> randn(size_t n, float scale, uint64_t stream) {
  icl::Rng rng({0, stream}, 0);
  std::vector<float> v(n);
  for (auto& x : v) x = scale * float(rng.normal());
  return v;
}

void Attention(benchmark::State& st) {
  const int64_t T = st.range(0);
  const auto qkv = randn(size_t(kB * T * 3 * kC), 1.f, 1),
             dout = randn(size_t(kB * T * kC), 1.f, 2);
  std::vector<float> out(dout.size()), lse(size_t(kB * kH * T)), dqkv(qkv.size());
  for (auto _ : st) {
    attention_forward(out.data(), lse.data(), qkv.data(), kB, T, kC, kH);
    attention_backward(dqkv.data(), dout.data(), out.data(), lse.data(), qkv.data(), kB, T, kC, kH);
    benchmark::DoNotOptimize(dqkv.data());
  }
}

// Gated linear attention (scalar gate per head: RetNet, Mamba-2-style) and the delta rule.
template <bool Delta, icl::RecurrenceForm Form>
void Recurrence(benchmark::State& st) {
  const int64_t T = st.range(0), dk = kC / kH;
  icl::RecurrenceDims d{kB, T, kH, dk, dk, 64};
  const size_t n = size_t(kB * T * kC);
  const auto q = randn(n, 0.2f, 3), k = randn(n, 0.2f, 4), v = randn(n, 1.f, 5),
             dout = randn(n, 1.f, 6);
  std::vector<float> gates(size_t(kB * T * kH), Delta ? 0.5f : 0.97f), out(n), dq(n), dk_(n), dv(n),
      dg(gates.size()), states(size_t(kB * kH * d.chunks() * dk * dk));
  for (auto _ : st) {
    if constexpr (Delta) {
      icl::kern::delta_rule_forward(out.data(), (float*)nullptr, states.data(), q.data(), k.data(),
                                    v.data(), gates.data(), (const float*)nullptr, d, Form);
      icl::kern::delta_rule_backward(dq.data(), dk_.data(), dv.data(), dg.data(), (float*)nullptr,
                                     dout.data(), (const float*)nullptr, q.data(), k.data(),
                                     v.data(), gates.data(), states.data(), d, Form);
    } else {
      icl::kern::gated_linear_attention_forward(out.data(), (float*)nullptr, states.data(),
                                                q.data(), k.data(), v.data(), gates.data(), 1,
                                                (const float*)nullptr, d, Form);
      icl::kern::gated_linear_attention_backward(dq.data(), dk_.data(), dv.data(), dg.data(),
                                                 (float*)nullptr, dout.data(),
                                                 (const float*)nullptr, q.data(), k.data(),
                                                 v.data(), gates.data(), 1, states.data(), d, Form);
    }
    benchmark::DoNotOptimize(dq.data());
  }
}

template <bool Lstm>
void Rnn(benchmark::State& st) {
  const int64_t T = st.range(0), G = (Lstm ? 4 : 3) * kC;
  const icl::RnnDims d{kB, T, kC};
  const auto gx = randn(size_t(kB * T * G), 1.f, 7), w = randn(size_t(kC * G), 0.09f, 8),
             dh = randn(size_t(kB * T * kC), 1.f, 9);
  std::vector<float> h(dh.size()), saved(size_t(kB * T * (G + kC))), work(gx.size()),
      dgx(gx.size()), dw(w.size());
  for (auto _ : st) {
    if constexpr (Lstm) {
      icl::kern::lstm_forward(h.data(), (float*)nullptr, (float*)nullptr, saved.data(), gx.data(),
                              w.data(), (const float*)nullptr, (const float*)nullptr, d);
      icl::kern::lstm_backward(dgx.data(), dw.data(), (float*)nullptr, (float*)nullptr, work.data(),
                               dh.data(), (const float*)nullptr, (const float*)nullptr, w.data(),
                               (const float*)nullptr, (const float*)nullptr, h.data(), saved.data(),
                               d);
    } else {
      icl::kern::gru_forward(h.data(), (float*)nullptr, saved.data(), gx.data(), w.data(),
                             (const float*)nullptr, (const float*)nullptr, d);
      icl::kern::gru_backward(dgx.data(), dw.data(), (float*)nullptr, (float*)nullptr, work.data(),
                              dh.data(), (const float*)nullptr, w.data(), (const float*)nullptr,
                              h.data(), saved.data(), d);
    }
    benchmark::DoNotOptimize(dgx.data());
  }
}

// Hyena-style long convolution (a filter as long as the sequence), direct or FFT.
template <bool Fft>
void LongConv(benchmark::State& st) {
  const int64_t T = st.range(0);
  const icl::ConvDims d{kB, T, kC, T};
  const auto x = randn(size_t(kB * T * kC), 1.f, 10), f = randn(size_t(kC * T), 0.1f, 11),
             dy = randn(x.size(), 1.f, 12);
  std::vector<float> y(x.size()), dx(x.size()), df(f.size());
  for (auto _ : st) {
    if constexpr (Fft) {
      icl::kern::long_conv_forward_fft(y.data(), x.data(), f.data(), d);
      icl::kern::long_conv_backward_fft(dx.data(), df.data(), dy.data(), x.data(), f.data(), d);
    } else {
      icl::kern::long_conv_forward(y.data(), x.data(), f.data(), d);
      icl::kern::long_conv_backward(dx.data(), df.data(), dy.data(), x.data(), f.data(), d);
    }
    benchmark::DoNotOptimize(dx.data());
  }
}

void Lengths(benchmark::internal::Benchmark* b) {
  for (int64_t T : {64, 256, 1024, 4096}) b->Arg(T);
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}

using icl::RecurrenceForm;
BENCHMARK(Attention)->Apply(Lengths);
BENCHMARK(Recurrence<false, RecurrenceForm::Chunked>)
    ->Name("GatedLinearAttention/chunked")
    ->Apply(Lengths);
BENCHMARK(Recurrence<false, RecurrenceForm::Recurrent>)
    ->Name("GatedLinearAttention/recurrent")
    ->Apply(Lengths);
BENCHMARK(Recurrence<true, RecurrenceForm::Chunked>)->Name("DeltaRule/chunked")->Apply(Lengths);
BENCHMARK(Recurrence<true, RecurrenceForm::Recurrent>)->Name("DeltaRule/recurrent")->Apply(Lengths);
BENCHMARK(Rnn<true>)->Name("Lstm")->Apply(Lengths);
BENCHMARK(Rnn<false>)->Name("Gru")->Apply(Lengths);
BENCHMARK(LongConv<false>)->Name("LongConv/direct")->Apply(Lengths);
BENCHMARK(LongConv<true>)->Name("LongConv/fft")->Apply(Lengths);

}  // namespace

BENCHMARK_MAIN();

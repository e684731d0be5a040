// The recurrent stack (models/recurrent_stack.cpp) with every mixer (models/mixer_*.cpp) and the
// one-layer linear self-attention model (models/lsa.cpp): whole-model gradient checks, chunked vs
// recurrent forms, extreme gates, state sizes, config errors, and bit-identical training runs.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>

#include "kernels/loss.h"
#include "models/mixer.h"
#include "models/model.h"
#include "tasks/task.h"
#include "tasks/token_task.h"
#include "tests/errors.h"
#include "tests/mixer_cases.h"
#include "tests/model_loss.h"
#include "tests/train_fixture.h"

namespace icl {
namespace {

using Raw = std::map<std::string, std::string>;

const auto& kMixers = test::kMixerCases;

std::string label(const Raw& raw) {
  std::string s;
  for (const auto& [k, v] : raw) s += k + "=" + v + " ";
  return s;
}

Raw with(Raw raw, const Raw& more) {
  for (const auto& [k, v] : more) raw[k] = v;
  return raw;
}

using test::loss_of;

std::vector<float> outputs(Model& m, const PromptBatch& pb, Arena& arena) {
  arena.reset();
  Graph g(arena, false);
  const Var y = m.forward(g, pb);
  return std::vector<float>(y.f(), y.f() + y.shape().numel());
}

// As tests/test_model_gradcheck.cpp: per parameter tensor, the derivative along random directions
// against central differences of the fp32 loss. Only the blocks' weights are scaled up: a larger
// read-out would make the loss O(100), and its fp32 rounding over the step a few percent of the
// smaller directional derivatives (the gates' low-rank projections).
void gradcheck(Model& m, const PromptBatch& pb, float weight_scale = 12.f) {
  for (auto& p : m.parameters().all())
    if (p->name.starts_with("blocks.") && p->name.find(".w") != std::string::npos)
      for (auto& v : p->value) v *= weight_scale;
  Arena arena;
  loss_of(m, pb, arena, true);
  Rng rng({3, stream_id("gradcheck")}, 0);
  for (auto& p : m.parameters().all()) {
    const AlignedFloats analytic = p->grad, saved = p->value;
    double gnorm = 0;
    for (float v : analytic) gnorm += double(v) * v;
    gnorm = std::sqrt(gnorm);
    for (int trial = 0; trial < 3; ++trial) {
      std::vector<float> dir(saved.size());
      double expect = 0;
      for (size_t i = 0; i < dir.size(); ++i) {
        dir[i] = float(rng.normal());
        expect += double(dir[i]) * analytic[i];
      }
      const float h = 2e-3f;
      for (size_t i = 0; i < dir.size(); ++i) p->value[i] = saved[i] + h * dir[i];
      const double up = loss_of(m, pb, arena, false);
      for (size_t i = 0; i < dir.size(); ++i) p->value[i] = saved[i] - h * dir[i];
      const double down = loss_of(m, pb, arena, false);
      p->value = saved;
      const double fd = (up - down) / (2.0 * h);
      EXPECT_NEAR(fd, expect, 2e-2 * gnorm + 2e-4) << p->name << " trial " << trial;
    }
  }
}

const Raw kSmall = {
    {"n_layer", "2"}, {"n_head", "2"}, {"n_embd", "6"}, {"mlp_ratio", "2"}, {"chunk", "4"}};

TEST(RecurrentModels, GradientMatchesFiniteDifferences) {
  const auto task = make_task("linear_regression", {{"d", "3"}});
  const PromptBatch pb = task->sample({1, 2}, 0, 2, 5);
  for (const Raw& mixer : kMixers)
    for (const std::string form : {"chunked", "recurrent"}) {
      SCOPED_TRACE(label(mixer) + form);
      auto m = make_model("recurrent", with(with(kSmall, mixer), {{"form", form}}), {3, 1, 5});
      m->init(7);
      // mLSTM's normaliser max(|nᵀq|, 1) has a kink; with weights 12× the init's the denominators
      // spread so widely that some sit within a step of it, so its weights are scaled less.
      // Hyena's output is cubic in its projections (x₂ ⊙ h ∗ (x₁ ⊙ v)): at 12× the central
      // difference's h² term is a tenth of the derivative, so its weights are scaled less too.
      // Mamba-1's step size passes through two scaled matrices (W_δ then W_Δ) into exp(ΔA), so
      // at 12× a step of 2e-3 moves the transitions by far more than a linear change.
      const std::string name = mixer.at("mixer");
      gradcheck(*m, pb, name == "mlstm" || name == "hyena" || name == "mamba1" ? 3.f : 12.f);
    }
}

TEST(RecurrentModels, GradientWithRmsNormNoMlpAndPositions) {
  const auto task = make_task("linear_regression", {{"d", "3"}});
  const PromptBatch pb = task->sample({1, 2}, 0, 2, 5);
  auto m = make_model(
      "recurrent",
      with(kSmall,
           {{"mixer", "deltanet"}, {"norm", "rmsnorm"}, {"mlp_ratio", "0"}, {"pos", "learned"}}),
      {3, 1, 5});
  m->init(7);
  gradcheck(*m, pb);
}

TEST(RecurrentModels, ChunkedAndRecurrentFormsAgree) {
  const auto task = make_task("linear_regression", {{"d", "4"}});
  // 2K = 74 tokens: chunks of 16 leave a partial last chunk.
  const PromptBatch pb = task->sample({5, 6}, 0, 3, 37);
  Arena arena;
  for (const Raw& mixer : kMixers) {
    SCOPED_TRACE(label(mixer));
    const Raw base = with(mixer, {{"n_embd", "8"}, {"n_head", "2"}, {"chunk", "16"}});
    auto chunked = make_model("recurrent", with(base, {{"form", "chunked"}}), {4, 1, 37});
    auto recurrent = make_model("recurrent", with(base, {{"form", "recurrent"}}), {4, 1, 37});
    chunked->init(11);
    recurrent->init(11);
    // Larger weights than the init's make the state, not the skip path, carry the output.
    for (auto* m : {chunked.get(), recurrent.get()})
      for (auto& p : m->parameters().all())
        if (p->name.find(".w") != std::string::npos)
          for (auto& v : p->value) v *= 20.f;
    const auto a = outputs(*chunked, pb, arena), b = outputs(*recurrent, pb, arena);
    double err = 0, scale = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      err = std::max(err, double(std::abs(a[i] - b[i])));
      scale = std::max(scale, double(std::abs(b[i])));
    }
    EXPECT_LT(err, 1e-5 * scale) << "max |chunked - recurrent| " << err << ", max |y| " << scale;
  }
}

// Biases pushed to ±40 saturate every gate: decays → 0 and → 1, β → 0 and → 2, transitions
// → −1 in the negative range; inputs scaled by 1e3. Outputs and gradients stay finite.
TEST(RecurrentModels, ExtremeGatesStayFinite) {
  const auto task = make_task("linear_regression", {{"d", "3"}});
  PromptBatch pb = task->sample({1, 2}, 0, 2, 40);
  for (auto& x : pb.get<VectorPrompts>()->xs) x *= 1e3f;
  Arena arena;
  for (const Raw& mixer : kMixers)
    for (const float bias : {-40.f, 40.f}) {
      SCOPED_TRACE(label(mixer) + std::to_string(bias));
      auto m = make_model("recurrent", with(with(kSmall, mixer), {{"chunk", "16"}}), {3, 1, 40});
      m->init(3);
      for (auto& p : m->parameters().all())
        if (p->name.ends_with("b_beta") || p->name.ends_with("b_dt") ||
            p->name.ends_with("b_alpha") || p->name.ends_with("b_f") || p->name.ends_with("b_i") ||
            p->name.ends_with("b_x") || p->name.ends_with("b_hn"))
          for (auto& v : p->value) v = bias;
      const double loss = loss_of(*m, pb, arena, true);
      EXPECT_TRUE(std::isfinite(loss));
      for (auto& p : m->parameters().all())
        for (float v : p->grad) ASSERT_TRUE(std::isfinite(v)) << p->name;
    }
}

// Token prompts: the embedding read-in and per-position logits, causal for every mixer (changing
// token 5 of a prompt leaves the logits at 0..4 alone), and an untouched prompt unchanged.
TEST(RecurrentModels, TokenPromptLogitsAreCausal) {
  const auto task = make_task("parity_check", {{"min_length", "3"}, {"max_length", "12"}});
  const TokenTask& tt = *as_token_task(*task);
  const int64_t V = tt.vocab();
  const PromptBatch pb = task->sample({1, 2}, 0, 2, 11);
  const int64_t T = pb.as<TokenPrompts>("test").seq_len;
  ModelIO io;
  io.vocab = V;
  io.max_tokens = T;
  io.max_examples = 11;
  Arena arena;
  for (const Raw& mixer : kMixers) {
    SCOPED_TRACE(label(mixer));
    // Hyena by the direct sums: the FFT is causal only up to rounding (every output mixes all
    // positions at the 1e-7 level), and this checks exact equality.
    const Raw form = mixer.at("mixer") == "hyena" ? Raw{{"form", "recurrent"}} : Raw{};
    auto m = make_model("recurrent", with(with(with(kSmall, mixer), {{"n_embd", "8"}}), form), io);
    m->init(5);
    EXPECT_NE(m->parameters().find("embed.w"), nullptr);
    PromptBatch changed = pb;
    const std::vector<float> a = outputs(*m, pb, arena);
    ASSERT_EQ(a.size(), size_t(2 * T * V));
    int32_t& token = changed.get<TokenPrompts>()->tokens[size_t(T + 5)];
    token = 1 - token;
    const std::vector<float> b = outputs(*m, changed, arena);
    for (int64_t t = 0; t < T; ++t)
      for (int64_t v = 0; v < V; ++v) {
        const size_t i0 = size_t(t * V + v), i1 = size_t((T + t) * V + v);
        EXPECT_EQ(a[i0], b[i0]);
        if (t < 5) {
          EXPECT_EQ(a[i1], b[i1]) << t;
        }
      }
    double moved = 0;
    for (int64_t v = 0; v < V; ++v) {
      const size_t i = size_t((T + 5) * V + v);
      moved += std::abs(a[i] - b[i]);
    }
    EXPECT_GT(moved, 0.0);
  }
}

TEST(RecurrentModels, StateSizes) {
  const ModelIO io{5, 1, 10};
  const Raw base = {{"n_layer", "2"}, {"n_head", "2"}, {"n_embd", "8"}};
  // H · dk · dv per layer with dk = dv = C / H = 4: 2 · 4 · 4 = 32, two layers.
  for (const char* mixer : {"linear_attention", "retnet", "gla", "deltanet"})
    EXPECT_EQ(make_model("recurrent", with(base, {{"mixer", mixer}}), io)->state_size(), 64)
        << mixer;
  // Mamba: the SSM's H · d_state · (C / H) = 2 · 16 · 4 = 128 per layer, plus d_conv − 1 = 3
  // inputs of the short convolutions over x̃ (8), B and C (2 · 16 each): 3 · 72 = 216.
  EXPECT_EQ(make_model("recurrent", with(base, {{"mixer", "mamba"}}), io)->state_size(),
            2 * (128 + 216));
  EXPECT_EQ(
      make_model("recurrent", with(base, {{"mixer", "mamba"}, {"d_state", "3"}}), io)->state_size(),
      2 * (24 + 3 * (8 + 12)));
  EXPECT_EQ(
      make_model("recurrent", with(base, {{"mixer", "mamba"}, {"d_conv", "1"}}), io)->state_size(),
      256);
  // Mamba-1: the scan's E · N = (2 · 8) · 16 = 256 per layer, plus d_conv − 1 inputs of the
  // convolution over the inner width (16).
  EXPECT_EQ(make_model("recurrent", with(base, {{"mixer", "mamba1"}}), io)->state_size(),
            2 * (256 + 3 * 16));
  EXPECT_EQ(
      make_model("recurrent", with(base, {{"mixer", "mamba1"}, {"d_conv", "1"}}), io)->state_size(),
      2 * 256);
  // DeltaNet with fla's short convolutions: 3 · (d_conv − 1) = 9 inputs of q, k, v (8 each).
  EXPECT_EQ(make_model("recurrent", with(base, {{"mixer", "deltanet"}, {"short_conv", "true"}}), io)
                ->state_size(),
            2 * (32 + 3 * 3 * 8));
  // Hyena: the last filter_len − 1 inputs of the long filter (8 channels) and 2 of each of the
  // three short convolutions (8 channels each).
  EXPECT_EQ(make_model("recurrent", with(base, {{"mixer", "hyena"}, {"filter_len", "10"}}), io)
                ->state_size(),
            2 * (8 * 9 + 3 * 8 * 2));
  // LSTM: h and c; GRU: h.
  EXPECT_EQ(make_model("recurrent", with(base, {{"mixer", "lstm"}}), io)->state_size(), 32);
  EXPECT_EQ(make_model("recurrent", with(base, {{"mixer", "gru"}}), io)->state_size(), 16);
  // mLSTM: the matrix memory and the normaliser, 2 · 4 · (4 + 1) = 40 per layer.
  EXPECT_EQ(make_model("recurrent", with(base, {{"mixer", "mlstm"}}), io)->state_size(), 80);
  // LSA: the running Σ z_i v_i, (d + 1) · 1.
  EXPECT_EQ(make_model("lsa", {}, io)->state_size(), 6);
  EXPECT_EQ(make_model("transformer", {}, io)->state_size(), 0);
}

TEST(RecurrentModels, BadConfigNamesTheKey) {
  const ModelIO io{3, 1, 5};
  std::string e = test::error_of([&] { make_model("recurrent", {{"mixer", "lstmx"}}, io); });
  EXPECT_NE(e.find("model.mixer"), std::string::npos) << e;
  EXPECT_NE(e.find("deltanet"), std::string::npos) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  e = test::error_of([&] { make_model("recurrent", {{"eigen", "bogus"}}, io); });
  EXPECT_NE(e.find("model.eigen"), std::string::npos) << e;
  EXPECT_NE(e.find("negative"), std::string::npos) << e;
  e = test::error_of([&] { make_model("recurrent", {{"form", "parallel"}}, io); });
  EXPECT_NE(e.find("model.form"), std::string::npos) << e;
  e = test::error_of([&] { make_model("recurrent", {{"n_embd", "6"}, {"n_head", "4"}}, io); });
  EXPECT_NE(e.find("model.n_head"), std::string::npos) << e;
  e = test::error_of([&] { make_model("recurrent", {{"chunk", "0"}}, io); });
  EXPECT_NE(e.find("model.chunk"), std::string::npos) << e;
  e = test::error_of([&] {
    make_model("recurrent", {{"mixer", "mamba"}, {"dt_min", "0.5"}, {"dt_max", "0.1"}}, io);
  });
  EXPECT_NE(e.find("model.dt_min"), std::string::npos) << e;
  e = test::error_of([&] { make_model("recurrent", {{"filter_len", "0"}}, io); });
  EXPECT_NE(e.find("model.filter_len"), std::string::npos) << e;
}

// The Mamba mixer (models/mixer_mamba.cpp) against its equations written out as plain fp64 loops:
// the short convolutions and SiLU on x̃, B, C, the step sizes and transitions, the recurrence, the
// D skip, the SiLU(z) gate, the RMSNorm and the output projection; both eigenvalue ranges.
// A mixer's weights redrawn larger than the init's, N(0, 0.7²), so that every term matters, and
// Δ's bias N(0, 0.5²), so that step sizes sit around 1 and the transitions spread over their
// range; then its output y [Bn, T, C] on inputs xs ~ N(0, 1).
struct MixerRun {
  std::vector<float> xs, y;
};
MixerRun run_randomised(Mixer& mixer, ParameterStore& store, Rng& rng, int64_t Bn, int64_t T,
                        int64_t C) {
  for (auto& p : store.all())
    for (auto& v : p->value)
      v = p->name.ends_with("b_dt") ? float(0.5 * rng.normal()) : float(0.7 * rng.normal());
  MixerRun r;
  r.xs.resize(size_t(Bn * T * C));
  for (auto& v : r.xs) v = float(rng.normal());
  Arena arena;
  Graph g(arena, false);
  const Var y =
      mixer.forward(g, g.constant(Tensor{r.xs.data(), {Bn, T, C}, DType::F32, Device::CPU}));
  r.y.assign(y.f(), y.f() + y.shape().numel());
  return r;
}

TEST(RecurrentModels, MambaMatchesItsEquations) {
  const int64_t Bn = 2, T = 9, C = 4, H = 2, N = 3, W = 4, P = C / H;
  for (const std::string eigen : {"positive", "negative"}) {
    SCOPED_TRACE(eigen);
    ParamSpecs specs = recurrence_param_specs();
    for (const ParamSpec& sp : find_mixer("mamba").params) specs.push_back(sp);
    const ParamSet params = resolve_params(
        specs, {{"d_state", "3"}, {"d_conv", "4"}, {"eigen", eigen}, {"chunk", "4"}}, "model");
    ParameterStore store;
    auto mixer = find_mixer("mamba").make(MixerContext{params, C, H, store, "m."});
    mixer->init(5);
    Rng rng({9, stream_id("mamba reference")}, 0);
    const auto [xs, y] = run_randomised(*mixer, store, rng, Bn, T, C);
    auto value = [&](const std::string& n) -> const AlignedFloats& {
      return store.find("m." + n)->value;
    };

    auto silu = [](double v) { return v / (1.0 + std::exp(-v)); };
    // x [T, C] times w [C, n] for one sequence.
    auto proj = [&](const float* x, const std::string& w, int64_t n) {
      std::vector<double> r(size_t(T * n), 0.0);
      for (int64_t t = 0; t < T; ++t)
        for (int64_t j = 0; j < n; ++j)
          for (int64_t c = 0; c < C; ++c)
            r[size_t(t * n + j)] += x[t * C + c] * value(w)[size_t(c * n + j)];
      return r;
    };
    auto conv_silu = [&](const std::vector<double>& u, const std::string& f, int64_t n) {
      std::vector<double> r(u.size(), 0.0);
      for (int64_t t = 0; t < T; ++t)
        for (int64_t j = 0; j < n; ++j) {
          double acc = 0;
          for (int64_t k = 0; k < W && k <= t; ++k)
            acc += value(f)[size_t(j * W + k)] * u[size_t((t - k) * n + j)];
          r[size_t(t * n + j)] = silu(acc);
        }
      return r;
    };
    for (int64_t b = 0; b < Bn; ++b) {
      const float* x = xs.data() + b * T * C;
      const auto xc = conv_silu(proj(x, "w_x", C), "short_x", C);
      const auto Bc = conv_silu(proj(x, "w_B", H * N), "short_B", H * N);
      const auto Cc = conv_silu(proj(x, "w_C", H * N), "short_C", H * N);
      const auto z = proj(x, "w_z", C), dtp = proj(x, "w_dt", H);
      std::vector<double> S(size_t(H * N * P), 0.0);
      for (int64_t t = 0; t < T; ++t) {
        std::vector<double> o(static_cast<size_t>(C));
        for (int64_t h = 0; h < H; ++h) {
          const double pre = dtp[size_t(t * H + h)] + value("b_dt")[size_t(h)];
          const double dt = std::log1p(std::exp(pre));
          double a = std::exp(-dt * std::exp(double(value("A_log")[size_t(h)])));
          if (eigen == "negative") a = 2 * a - 1;
          for (int64_t n = 0; n < N; ++n)
            for (int64_t p = 0; p < P; ++p) {
              double& s = S[size_t((h * N + n) * P + p)];
              s = a * s + Bc[size_t(t * H * N + h * N + n)] * dt * xc[size_t(t * C + h * P + p)];
            }
          for (int64_t p = 0; p < P; ++p) {
            double acc = 0;
            for (int64_t n = 0; n < N; ++n)
              acc += Cc[size_t(t * H * N + h * N + n)] * S[size_t((h * N + n) * P + p)];
            o[size_t(h * P + p)] = acc;
          }
        }
        double ms = 0;
        for (int64_t c = 0; c < C; ++c) {
          o[size_t(c)] = (o[size_t(c)] + value("D")[size_t(c)] * xc[size_t(t * C + c)]) *
                         silu(z[size_t(t * C + c)]);
          ms += o[size_t(c)] * o[size_t(c)] / double(C);
        }
        for (int64_t c = 0; c < C; ++c)
          o[size_t(c)] *= value("out_norm.g")[size_t(c)] / std::sqrt(ms + 1e-5);
        for (int64_t j = 0; j < C; ++j) {
          double want = 0;
          for (int64_t c = 0; c < C; ++c) want += o[size_t(c)] * value("w_out")[size_t(c * C + j)];
          EXPECT_NEAR(y[size_t((b * T + t) * C + j)], want, 1e-4 * (1 + std::abs(want)))
              << b << " " << t << " " << j;
        }
      }
    }
  }
}

// Mamba-1 (models/mixer_mamba1.cpp) against its equations in double: projections to the inner
// width, the short convolution with its bias, SiLU, Δ through the rank-R bottleneck, the scan with
// a diagonal A per (channel, state), the D skip, the SiLU(z) gate and W_out (no output norm).
TEST(RecurrentModels, Mamba1MatchesItsEquations) {
  const int64_t Bn = 2, T = 9, C = 4, E = 8, N = 3, W = 2, R = 2;
  for (const std::string eigen : {"positive", "negative"}) {
    SCOPED_TRACE(eigen);
    ParamSpecs specs = recurrence_param_specs();
    for (const ParamSpec& sp : find_mixer("mamba1").params) specs.push_back(sp);
    const ParamSet params = resolve_params(specs,
                                           {{"d_state", "3"},
                                            {"d_conv", "2"},
                                            {"expand", "2"},
                                            {"dt_rank", "2"},
                                            {"eigen", eigen},
                                            {"form", "recurrent"}},
                                           "model");
    ParameterStore store;
    auto mixer = find_mixer("mamba1").make(MixerContext{params, C, 2, store, "m."});
    mixer->init(5);
    // The reference's initialisation: A_log = log(1..N) per channel, D = 1.
    EXPECT_FLOAT_EQ(store.find("m.A_log")->value[size_t(1 * N + 2)], float(std::log(3.0)));
    EXPECT_EQ(store.find("m.D")->value[3], 1.f);
    Rng rng({9, stream_id("mamba1 reference")}, 0);
    const auto [xs, y] = run_randomised(*mixer, store, rng, Bn, T, C);
    auto value = [&](const std::string& n) -> const AlignedFloats& {
      return store.find("m." + n)->value;
    };
    auto silu = [](double v) { return v / (1.0 + std::exp(-v)); };
    // u [T, in] times w [in, out].
    auto proj = [&](const std::vector<double>& u, int64_t in, const std::string& w, int64_t out) {
      std::vector<double> r(size_t(T * out), 0.0);
      for (int64_t t = 0; t < T; ++t)
        for (int64_t j = 0; j < out; ++j)
          for (int64_t c = 0; c < in; ++c)
            r[size_t(t * out + j)] += u[size_t(t * in + c)] * value(w)[size_t(c * out + j)];
      return r;
    };
    for (int64_t b = 0; b < Bn; ++b) {
      const std::vector<double> x(xs.begin() + b * T * C, xs.begin() + (b + 1) * T * C);
      const auto xp = proj(x, C, "w_x", E), z = proj(x, C, "w_z", E);
      std::vector<double> xc(size_t(T * E));
      for (int64_t t = 0; t < T; ++t)
        for (int64_t e = 0; e < E; ++e) {
          double acc = value("conv_bias")[size_t(e)];
          for (int64_t k = 0; k < W && k <= t; ++k)
            acc += value("conv")[size_t(e * W + k)] * xp[size_t((t - k) * E + e)];
          xc[size_t(t * E + e)] = silu(acc);
        }
      const auto delta = proj(xc, E, "w_delta", R), Bm = proj(xc, E, "w_B", N),
                 Cm = proj(xc, E, "w_C", N);
      const auto dtp = proj(delta, R, "w_dt", E);
      std::vector<double> h(size_t(E * N), 0.0);
      for (int64_t t = 0; t < T; ++t) {
        std::vector<double> o(static_cast<size_t>(E));
        for (int64_t e = 0; e < E; ++e) {
          const double dt = std::log1p(std::exp(dtp[size_t(t * E + e)] + value("b_dt")[size_t(e)]));
          double acc = 0;
          for (int64_t n = 0; n < N; ++n) {
            double a = std::exp(-dt * std::exp(double(value("A_log")[size_t(e * N + n)])));
            if (eigen == "negative") a = 2 * a - 1;
            double& s = h[size_t(e * N + n)];
            s = a * s + dt * xc[size_t(t * E + e)] * Bm[size_t(t * N + n)];
            acc += Cm[size_t(t * N + n)] * s;
          }
          o[size_t(e)] =
              (acc + value("D")[size_t(e)] * xc[size_t(t * E + e)]) * silu(z[size_t(t * E + e)]);
        }
        for (int64_t j = 0; j < C; ++j) {
          double want = 0;
          for (int64_t e = 0; e < E; ++e) want += o[size_t(e)] * value("w_out")[size_t(e * C + j)];
          EXPECT_NEAR(y[size_t((b * T + t) * C + j)], want, 1e-4 * (1 + std::abs(want)))
              << b << " " << t << " " << j;
        }
      }
    }
  }
}

// The LSA at its closed-form optimum computes the one-step estimator x_kᵀ Σ_{i<k} y_i x_i / c.
TEST(LsaModel, ComputesThePreconditionedGdStep) {
  const int64_t d = 3, K = 8;
  const auto task = make_task("linear_regression", {{"d", "3"}});
  const PromptBatch prompts = task->sample({2, 3}, 0, 4, K);
  const VectorPrompts& pb = prompts.as<VectorPrompts>("test");
  auto m = make_model("lsa", {}, {d, 1, K});
  m->init(1);
  const float c = 0.37f;
  for (auto& p : m->parameters().all()) {
    std::fill(p->value.begin(), p->value.end(), 0.f);
    if (p->name == "attn.w_kq")
      for (int64_t j = 0; j < d; ++j) p->value[size_t(j * (d + 1) + j)] = c;
    if (p->name == "attn.w_pv") p->value[size_t(d)] = 1.f;
  }
  Arena arena;
  const auto y = outputs(*m, prompts, arena);
  for (int64_t b = 0; b < pb.batch; ++b)
    for (int64_t k = 0; k < K; ++k) {
      double want = 0;
      for (int64_t i = 0; i < k; ++i) {
        double xx = 0;
        for (int64_t j = 0; j < d; ++j)
          xx += pb.xs[size_t((b * K + i) * d + j)] * pb.xs[size_t((b * K + k) * d + j)];
        want += pb.ys[size_t(b * K + i)] * xx;
      }
      if (k > 0) want *= c / double(k);
      EXPECT_NEAR(y[size_t(b * K + k)], want, 1e-5 * (1 + std::abs(want))) << b << " " << k;
    }
}

// Zhang, Frei & Bartlett's initialisation: the label reads the label with weight σ, W^{KQ} is σ
// times a symmetric positive semi-definite ΘΘᵀ of unit Frobenius norm on the x block, and
// everything else is 0; the model then predicts ŷ_k = σ² x_kᵀ ΘΘᵀ (1/n) Σ y_i x_i.
TEST(LsaModel, ZfbInitialisation) {
  const int64_t d = 4, D = d + 1;
  auto m = make_model("lsa", {{"init", "zfb"}, {"init_std", "0.3"}}, {d, 1, 6});
  m->init(5);
  const Parameter& kq = *m->parameters().find("attn.w_kq");
  const Parameter& pv = *m->parameters().find("attn.w_pv");
  for (int64_t i = 0; i < D; ++i) EXPECT_EQ(pv.value[size_t(i)], i == d ? 0.3f : 0.f);
  Eigen::MatrixXd block(d, d);
  for (int64_t i = 0; i < D; ++i)
    for (int64_t j = 0; j < D; ++j) {
      const float v = kq.value[size_t(i * D + j)];
      if (i == d || j == d)
        EXPECT_EQ(v, 0.f);
      else
        block(i, j) = v;
    }
  EXPECT_NEAR(block.norm(), 0.3, 1e-6);
  EXPECT_LT((block - block.transpose()).cwiseAbs().maxCoeff(), 1e-7);
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(block);
  EXPECT_GT(eig.eigenvalues().minCoeff(), -1e-7);
  // Another seed, another Θ; the same seed, the same weights.
  auto m2 = make_model("lsa", {{"init", "zfb"}, {"init_std", "0.3"}}, {d, 1, 6});
  m2->init(6);
  EXPECT_NE(m2->parameters().find("attn.w_kq")->value, kq.value);
  m2->init(5);
  EXPECT_EQ(m2->parameters().find("attn.w_kq")->value, kq.value);
}

TEST(LsaModel, GradientMatchesFiniteDifferences) {
  const auto task = make_task("linear_regression", {{"d", "3"}});
  const PromptBatch pb = task->sample({1, 2}, 0, 3, 6);
  auto m = make_model("lsa", {}, {3, 1, 6});
  m->init(4);
  gradcheck(*m, pb);
}

// Every mixer trains end to end through run_benchmark (the quickstart benchmark with a tiny
// model), and a rerun gives bit-identical losses.
TEST(RecurrentModels, TrainBitIdenticallyTwice) {
  const std::vector<std::vector<std::string>> mixers = {
      {"model.mixer=linear_attention"},
      {"model.mixer=retnet"},
      {"model.mixer=gla"},
      {"model.mixer=mamba", "model.eigen=negative"},
      {"model.mixer=deltanet", "model.eigen=negative"},
      {"model.mixer=mlstm"},
      {"model.mixer=hyena", "model.filter_len=64"},
      {"model.mixer=lstm"},
      {"model.mixer=gru"}};
  test::Dir dir("recurrent");
  for (const auto& mixer : mixers) {
    SCOPED_TRACE(mixer[0]);
    std::vector<std::string> o = {"model.name=recurrent", "model.chunk=4"};
    o.insert(o.end(), mixer.begin(), mixer.end());
    test::run(o, dir / "a.h5");
    test::run(o, dir / "b.h5");
    const auto a = test::losses(dir / "a.h5"), b = test::losses(dir / "b.h5");
    ASSERT_EQ(a.size(), 12u);
    EXPECT_EQ(a, b);
    for (double l : a) EXPECT_TRUE(std::isfinite(l));
    // The memory axis is recorded with the checkpoint: the model's recurrent state per sequence.
    const h5::Handle f = h5::open_file(dir / "a.h5");
    const h5::Handle g = h5::open_group(f.id(), "checkpoint");
    const ResolvedRun cfg = load_run("quickstart", [&] {
      std::vector<std::string> all = test::kTiny;
      all.insert(all.end(), o.begin(), o.end());
      return all;
    }());
    const auto model = cfg.build_model();
    EXPECT_GT(model->state_size(), 0);
    EXPECT_EQ(h5::read_attr_int(g.id(), "state_size"), model->state_size());
    EXPECT_EQ(h5::read_attr_int(g.id(), "parameters"), model->parameters().count());
  }
  // Attention models carry no fixed-size state.
  test::run({}, dir / "t.h5");
  const h5::Handle f = h5::open_file(dir / "t.h5");
  EXPECT_EQ(h5::read_attr_int(h5::open_group(f.id(), "checkpoint").id(), "state_size"), 0);
}

// Its benchmark (configs/ahn2023), shrunk.
std::vector<double> train_lsa(const std::string& out) {
  const ResolvedRun cfg =
      load_run("ahn2023/lsa_linear_regression_quick",
               {"task.d=3", "eval.prompts=32", "eval.examples=6", "eval.bootstrap=20",
                "train.steps=12", "train.batch_size=4", "train.eval_every=5",
                "train.eval_prompts=8", "train.checkpoint_every=4", "train.warmup=2"});
  {
    AtomicH5Output file(out);
    RunOptions ro;
    ro.progress = false;
    run_benchmark(cfg, file, ro);
  }
  return test::losses(out);
}

TEST(LsaModel, TrainsThroughTheBenchmarkRunner) {
  test::Dir dir("lsa");
  const auto a = train_lsa(dir / "a.h5"), b = train_lsa(dir / "b.h5");
  ASSERT_EQ(a.size(), 12u);
  EXPECT_EQ(a, b);
  for (double l : a) EXPECT_TRUE(std::isfinite(l));
}

}  // namespace
}  // namespace icl

// One-layer linear self-attention (LSA) in the parametrisation of the theory papers (von Oswald et
// al. 2023; Ahn et al. 2023; Zhang, Frei & Bartlett 2024; docs/TASKS.md §2): no softmax, no MLP, no
// norm, no read-in. Example i is one token z_i = (x_i, y_i) ∈ R^{d+dy}; the query of example k is
// z̃_k = (x_k, 0), and with n = k − 1 context examples
//     ŷ_k = label rows of  W^{PV} · (1/n) Σ_{i<k} z_i z_iᵀ · W^{KQ} z̃_k          (ŷ_1 = 0)
// i.e. the label coordinates of the query token's output Z + (1/n) W^{PV} Z M Zᵀ W^{KQ} Z, where M
// masks the query out of the keys and values. Parameters, in the engine's [in, out] convention:
//     attn.w_kq [d+dy, d+dy] = (W^{KQ})ᵀ
//     attn.w_pv [d+dy, dy]   = the label rows of W^{PV}, transposed
// (the other rows of W^{PV} only write coordinates that are never read). Every k is predicted
// in one pass: linear attention over the previous tokens with the query scaled by 1/n.
// The optimum on isotropic linear regression is one step of GD, ŷ = x_kᵀ Σ y_i x_i / (n + d + 1)
// (docs/TASKS.md §2), reached with W^{KQ} = [I 0; 0 0] / (n + d + 1) · n and w_pv = e_label.
// State: the running Σ z_i (z_iᵀ w_pv), (d + dy) · dy scalars.
// init: normal draws every weight from N(0, σ²). zfb is Zhang, Frei & Bartlett 2024's
// initialisation, from which they prove gradient flow reaches the global optimum: W^{PV} = σ·[0 0;
// 0 I] (the label reads the label), W^{KQ} = σ·[ΘΘᵀ 0; 0 0], Θ a d × d Gaussian scaled to
// ‖ΘΘᵀ‖_F = 1. From normal, Adam can stall in a rank-one solution that reads the labels through
// x-coordinates instead (measured: a fixed skewed covariance, seeds 0 and 2 stall at twice the
// optimal risk, seed 1 reaches it).
#include <Eigen/Dense>

#include "core/error.h"
#include "core/rng.h"
#include "kernels/linear.h"
#include "kernels/linear_recurrence.h"
#include "models/model.h"

namespace icl {
namespace {

class Lsa final : public Model {
 public:
  Lsa(const ParamSet& p, const ModelIO& io)
      : Model("lsa", p, io), D_(io.dx + io.dy), std_(p.r("init_std")), zfb_(p.s("init") == "zfb") {
    if (io.vocab > 0) fail("model lsa: needs vector prompts (x, y), the task gives token prompts");
    if (io.dx < 1 || io.max_examples < 1)
      fail("model lsa: needs vector prompts with dx >= 1 and K >= 1");
    store_.add("attn.w_kq", {D_, D_}, true);
    store_.add("attn.w_pv", {D_, io.dy}, true);
  }

  void init(uint64_t seed) override {
    if (!zfb_) {
      for (auto& p : store_.all()) init_normal(*p, seed, std_);
      return;
    }
    const int64_t dx = io().dx, dy = io().dy;
    Rng rng({seed, stream_id("init/lsa_theta")}, 0);
    Eigen::MatrixXd theta(dx, dx);
    for (int64_t i = 0; i < dx; ++i)
      for (int64_t j = 0; j < dx; ++j) theta(i, j) = rng.normal();
    Eigen::MatrixXd tt = theta * theta.transpose();
    tt /= tt.norm();
    Parameter& kq = *store_.find("attn.w_kq");  // (W^{KQ})ᵀ; ΘΘᵀ is symmetric
    std::fill(kq.value.begin(), kq.value.end(), 0.f);
    for (int64_t i = 0; i < dx; ++i)
      for (int64_t j = 0; j < dx; ++j) kq.value[size_t(i * D_ + j)] = float(std_ * tt(i, j));
    Parameter& pv = *store_.find("attn.w_pv");
    std::fill(pv.value.begin(), pv.value.end(), 0.f);
    for (int64_t j = 0; j < dy; ++j) pv.value[size_t((dx + j) * dy + j)] = float(std_);
  }

  Var forward(Graph& g, const PromptBatch& prompts) override {
    const VectorPrompts& pb = prompts.as<VectorPrompts>("model lsa");
    if (g.on_cuda()) fail("model lsa has no CUDA path yet");
    ICL_ASSERT(pb.dx == io().dx && pb.dy == io().dy);
    const int64_t B = pb.batch, K = pb.n_examples, dx = pb.dx, dy = pb.dy;
    // Keys (and value inputs): at step k the previous token z_{k−1}, so the running sum over steps
    // 1..k holds z_1..z_{k−1} only. Queries: (x_k / (k − 1), 0).
    const Tensor keys = g.arena().tensor({B, K, D_}, DType::F32, true);
    const Tensor query = g.arena().tensor({B, K, D_}, DType::F32, true);
    const Tensor ones = g.arena().tensor({B, K, 1});
    for (int64_t b = 0; b < B; ++b)
      for (int64_t k = 0; k < K; ++k) {
        float* key = keys.f() + (b * K + k) * D_;
        float* q = query.f() + (b * K + k) * D_;
        ones.f()[b * K + k] = 1.f;
        if (k == 0) continue;
        const float* x_prev = pb.xs.data() + (b * K + k - 1) * dx;
        const float* y_prev = pb.ys.data() + (b * K + k - 1) * dy;
        const float* x = pb.xs.data() + (b * K + k) * dx;
        for (int64_t j = 0; j < dx; ++j) {
          key[j] = x_prev[j];
          q[j] = x[j] / float(k);
        }
        for (int64_t j = 0; j < dy; ++j) key[dx + j] = y_prev[j];
      }
    const Var z = g.constant(keys);
    const Var q = ops::linear(g, g.constant(query), use(g, *store_.find("attn.w_kq")));
    const Var v = ops::linear(g, z, use(g, *store_.find("attn.w_pv")));
    return ops::gated_linear_attention(g, q, z, v, g.constant(ones), 1).out;
  }

  int64_t state_size() const override { return D_ * io().dy; }

 private:
  int64_t D_;
  double std_;
  bool zfb_;
};

// LSA's footprint (models/footprint.h): keys and queries [B, K, D] and the gates without gradient,
// the projected queries (D) and values (dy) and the recurrence's output (dy) at the K positions,
// and in training the loss and the recurrence's chunk states (one head of D × dy).
void lsa_footprint(const ParamSet&, const ModelIO& io, Footprint& f) {
  const double D = double(io.dx + io.dy), dy = double(io.dy), K = f.outputs();
  f.parameters(D * D + D * dy);
  f.constant(f.batch() * K * (2 * D + 1));
  f.activation_at(D + 2 * dy, K);
  count_recurrence_states(f, ops::RecurrenceOptions{}.chunk, 1, D, dy, K);
  f.ops(12);
  if (f.training()) {
    f.constant(2 + f.batch() * K * dy);  // the loss and the expanded loss mask
    f.ops(2);
  }
}

}  // namespace

void register_lsa(std::vector<ModelInfo>& r) {
  r.push_back({"lsa",
               "one-layer linear self-attention (W^{KQ}, W^{PV}; no softmax, MLP or norm), the "
               "model of the preconditioned-GD theory",
               {ParamSpec::real("init_std", 0.1, "σ: std of the initial weights (zfb: their scale)",
                                0.0, 10.0),
                ParamSpec::choice("init", "normal", {"normal", "zfb"},
                                  "N(0, σ²) weights, or Zhang, Frei & Bartlett's initialisation "
                                  "(label reads label, W^{KQ} = σΘΘᵀ)")},
               [](const ParamSet& p, const ModelIO& io) -> std::unique_ptr<Model> {
                 return std::make_unique<Lsa>(p, io);
               },
               lsa_footprint});
}

}  // namespace icl

// Whole-model gradient check: the backward of a 2-layer transformer against central finite
// differences of the loss, for every norm placement and both norms (fp32 engine: differences in
// fp32 with a step of 1e-3, compared per parameter tensor).
#include <gtest/gtest.h>

#include <cmath>

#include "kernels/loss.h"
#include "models/model.h"
#include "tasks/task.h"
#include "tests/model_loss.h"

namespace icl {
namespace {

using test::loss_of;

void gradcheck(const std::map<std::string, std::string>& params) {
  const auto task = make_task("linear_regression", {{"d", "3"}});
  const PromptBatch pb = task->sample({1, 2}, 0, 3, 5);
  auto m = make_model("transformer", params, {3, 1, 5});
  m->init(7);
  // Weights at about the 1/√fan_in scale rather than GPT-2's 0.02: every sublayer output is O(1),
  // so no norm amplifies a tiny vector (peri-LN's output norm would: a strongly curved loss) and
  // every path carries gradient well above fp32 rounding.
  for (auto& p : m->parameters().all())
    if (p->name.find(".w") != std::string::npos)
      for (auto& v : p->value) v *= 12.f;
  Arena arena;
  loss_of(*m, pb, arena, true);
  // Per tensor, the derivative along random directions v (all elements at once): the central
  // difference (L(θ + hv) − L(θ − hv)) / 2h against g·v. Moving every element adds signal from all
  // of them, which per-element differences in fp32 lack for tensors with tiny gradients.
  for (auto& p : m->parameters().all()) {
    // Directions from a stream per parameter: the check does not depend on the store's order.
    Rng rng({3, stream_id("gradcheck/" + p->name)}, 0);
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
      auto central = [&](float h) {
        for (size_t i = 0; i < dir.size(); ++i) p->value[i] = saved[i] + h * dir[i];
        const double up = loss_of(*m, pb, arena, false);
        for (size_t i = 0; i < dir.size(); ++i) p->value[i] = saved[i] - h * dir[i];
        const double down = loss_of(*m, pb, arena, false);
        p->value = saved;
        return (up - down) / (2.0 * h);
      };
      // Richardson extrapolation of two central differences cancels their h² error, which the
      // strongly curved loss (weights ×12) makes larger than the tolerance along some directions.
      // h = 4e-3 and 8e-3, not 1e-3 and 2e-3: the fp32 rounding of the loss, divided by 2h, reached
      // the tolerance under an x86-64-v2 build (blocks.1.norm1.g: 0.5512 against 0.5421), whose
      // products round differently from v3's; with Richardson the truncation stays O(h⁴).
      const double fd = (4.0 * central(4e-3f) - central(8e-3f)) / 3.0;
      // |g·v| is about ‖g‖ for a random v; the absolute floor covers fp32 rounding of the loss.
      EXPECT_NEAR(fd, expect, 2e-2 * gnorm + 2e-4) << p->name << " trial " << trial;
    }
  }
}

TEST(ModelGradcheck, EveryNormPlacementAndNorm) {
  for (const std::string placement : {"pre", "post", "peri", "mix"})
    for (const std::string norm : {"layernorm", "rmsnorm"}) {
      SCOPED_TRACE(placement + " " + norm);
      gradcheck({{"n_layer", "2"},
                 {"n_head", "2"},
                 {"n_embd", "6"},
                 {"mlp_ratio", "2"},
                 {"placement", placement},
                 {"norm", norm},
                 {"mix_alpha", "0.5"}});
    }
}

// ReLU attention is left to its op test (tests/test_op_attention.cpp), whose inputs keep scores
// away from relu's kink: perturbing whole weight tensors here moves scores across it.
TEST(ModelGradcheck, LayerNormScalingAndNoPositions) {
  gradcheck({{"n_layer", "2"}, {"n_embd", "6"}, {"ln_scaling", "true"}, {"pos", "none"}});
  gradcheck({{"n_layer", "3"},
             {"n_embd", "6"},
             {"ln_scaling", "true"},
             {"norm", "rmsnorm"},
             {"placement", "peri"}});
}

// Rotary positions: the gradient flows through every block's rotation of q and k (heads of width 4
// and, with one head, 6).
TEST(ModelGradcheck, RotaryPositions) {
  gradcheck({{"n_layer", "2"}, {"n_head", "2"}, {"n_embd", "8"}, {"pos", "rope"}});
  gradcheck(
      {{"n_layer", "2"}, {"n_head", "1"}, {"n_embd", "6"}, {"pos", "rope"}, {"rope_base", "50"}});
}

// Attention-only blocks (mlp_ratio 0, issue 19 item 3: Li et al. 2024's self-attention-only
// model): no MLP or norm2 parameters, the gradient right in every placement, and with pre and peri
// norms the same loss as the full model whose MLPs output exactly 0 (w_out = b_out = 0), the other
// parameters shared (post-LN would still apply norm2 to the stream).
TEST(ModelGradcheck, AttentionOnlyBlocks) {
  for (const std::string placement : {"pre", "post", "peri", "mix"}) {
    SCOPED_TRACE(placement);
    const std::map<std::string, std::string> p = {{"n_layer", "2"},         {"n_head", "2"},
                                                  {"n_embd", "6"},          {"mlp_ratio", "0"},
                                                  {"placement", placement}, {"mix_alpha", "0.5"}};
    gradcheck(p);
    const auto task = make_task("linear_regression", {{"d", "3"}});
    const PromptBatch pb = task->sample({1, 2}, 0, 3, 5);
    auto bare = make_model("transformer", p, {3, 1, 5});
    std::map<std::string, std::string> q = p;
    q["mlp_ratio"] = "2";
    auto full = make_model("transformer", q, {3, 1, 5});
    bare->init(7);
    full->init(7);
    for (const auto& par : bare->parameters().all()) {
      EXPECT_EQ(par->name.find("mlp"), std::string::npos) << par->name;
      EXPECT_EQ(par->name.find("norm2"), std::string::npos) << par->name;
      ASSERT_NE(full->parameters().find(par->name), nullptr) << par->name;
      EXPECT_EQ(full->parameters().find(par->name)->value, par->value) << par->name;
    }
    EXPECT_LT(bare->parameters().all().size(), full->parameters().all().size());
    for (auto& par : full->parameters().all())
      if (par->name.ends_with("mlp.w_out") || par->name.ends_with("mlp.b_out"))
        for (auto& v : par->value) v = 0.f;
    Arena arena;
    if (placement == "pre" || placement == "peri") {
      EXPECT_EQ(loss_of(*bare, pb, arena, false), loss_of(*full, pb, arena, false));
    }
  }
}

}  // namespace
}  // namespace icl

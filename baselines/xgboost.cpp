// XGBoost: Garg et al. 2022's XGBoostModel baseline (src/models.py in
// github.com/dtsip/in-context-learning: xgboost.XGBRegressor() with its defaults, refit on examples
// 0..k-1 for every k and asked for example k; 0 at k = 0), through XGBoost's C API
// (libxgboost-dev).
//
// Gradient-boosted regression trees for squared error: the prediction starts at base_score; each
// of n_estimators rounds grows one tree on the residuals' gradients g_i = f(x_i) − y_i (hessians
// h_i = 1) and adds learning_rate times its leaf values w = −soft(G, α) / (H + λ) (G, H: the sums
// of g and h over the leaf's examples; soft(G, α) shrinks G towards 0 by α). A tree grows depth by
// depth to max_depth with XGBoost's exact greedy method: every feature, every threshold between
// consecutive sorted values, keeping the split of largest gain G_l²/(H_l+λ) + G_r²/(H_r+λ) −
// G²/(H+λ) (each G through soft(·, α)) whose children each have H >= min_child_weight, if it gains
// more than 1e-6; afterwards splits whose gain is below gamma are pruned, deepest first.
//
// The defaults are XGBoost 1.7's (Debian bookworm's version; the reference's environment.yml pins
// 1.6.1, whose defaults are the same): 100 trees, depth 6, learning rate 0.3, λ 1, α 0, gamma 0,
// min_child_weight 1, base_score 0.5, tree_method exact for data this small, no row or column
// sampling. XGBoost 2.0 changed the defaults of tree_method (hist) and base_score (the label mean),
// so both are set here explicitly and a newer library fits the same trees. One thread per booster
// (Baseline::run already parallelises over prompts) and seed 0 (XGBRegressor's random_state
// default; nothing is sampled at these settings), so the fit is deterministic.
#include <fmt/format.h>

#include <string>

#include "baselines/baseline.h"
#include "core/error.h"

#ifdef ICL_HAVE_XGBOOST
#include <xgboost/c_api.h>

#include <memory>
#include <utility>
#include <vector>
#endif

namespace icl {
namespace {

// XGBoost keeps its parameters as fp32: larger values would overflow them.
constexpr double kMaxXgbValue = 1e30;

ParamSpecs xgboost_params() {
  return {
      ParamSpec::integer("n_estimators", 100, "boosting rounds (one tree each)", 1, 1e6),
      ParamSpec::integer("max_depth", 6, "maximum depth of a tree (the exact method needs >= 1)", 1,
                         1e9),
      ParamSpec::real("learning_rate", 0.3, "shrinkage of each tree's leaf values (eta)", 0.0, 1.0),
      ParamSpec::real("min_child_weight", 1.0,
                      "smallest hessian sum (here: example count) a child may have", 0.0,
                      kMaxXgbValue),
      ParamSpec::real("gamma", 0.0, "smallest loss reduction a split must bring (min_split_loss)",
                      0.0, kMaxXgbValue),
      ParamSpec::real("reg_lambda", 1.0, "L2 penalty λ on leaf values", 0.0, kMaxXgbValue),
      ParamSpec::real("reg_alpha", 0.0, "L1 penalty α on leaf values", 0.0, kMaxXgbValue),
      ParamSpec::real("base_score", 0.5, "initial prediction of every example", -kMaxXgbValue,
                      kMaxXgbValue),
  };
}

#ifdef ICL_HAVE_XGBOOST

// XGBGetLastError() may hold a stack trace after its first line; the message stays one line.
[[noreturn]] void xgboost_fail(const char* call, const char* file, int line) {
  std::string what = XGBGetLastError();
  if (const size_t nl = what.find('\n'); nl != std::string::npos) what.resize(nl);
  fail("baseline xgboost: XGBoost error in {} at {}:{}: {}", call, file, line, what);
}

#define XGB_CHECK(call)                                       \
  do {                                                        \
    if ((call) != 0) xgboost_fail(#call, __FILE__, __LINE__); \
  } while (0)

struct DMatrixFree {
  void operator()(void* h) const { XGDMatrixFree(h); }
};
struct BoosterFree {
  void operator()(void* h) const { XGBoosterFree(h); }
};
using DMatrix = std::unique_ptr<void, DMatrixFree>;
using Booster = std::unique_ptr<void, BoosterFree>;

// n rows of dx floats, row-major, as a DMatrix (NaN would mean missing; prompts have none).
DMatrix dense(const float* rows, int64_t n, int64_t dx) {
  DMatrixHandle h = nullptr;
  XGB_CHECK(XGDMatrixCreateFromMat(rows, bst_ulong(n), bst_ulong(dx), NAN, &h));
  return DMatrix(h);
}

class XGBoost final : public Baseline {
 public:
  XGBoost(const ParamSet& p, const std::string& label)
      : Baseline("xgboost", p, label), rounds_(int(p.i("n_estimators"))) {
    // XGBoost's own names; values as text, which it parses as the Python package's do.
    settings_ = {
        {"booster", "gbtree"},
        {"objective", "reg:squarederror"},
        {"tree_method", "exact"},
        {"max_depth", std::to_string(p.i("max_depth"))},
        {"eta", fmt::format("{}", p.r("learning_rate"))},
        {"min_child_weight", fmt::format("{}", p.r("min_child_weight"))},
        {"gamma", fmt::format("{}", p.r("gamma"))},
        {"lambda", fmt::format("{}", p.r("reg_lambda"))},
        {"alpha", fmt::format("{}", p.r("reg_alpha"))},
        {"base_score", fmt::format("{}", p.r("base_score"))},
        {"nthread", "1"},
        {"seed", "0"},
        {"validate_parameters", "1"},
    };
  }

 private:
  void predict_prompt(const PromptView& p, float* out) const override {
    const VectorPrompts& pb = p.pb;
    out[0] = 0.f;
    for (int64_t k = 1; k < pb.n_examples; ++k) out[k] = fit_predict(pb, p.b, k);
  }

  // Fits on examples 0..k-1 of prompt b (consecutive rows of xs and ys) and predicts query k.
  float fit_predict(const VectorPrompts& pb, int64_t b, int64_t k) const {
    const DMatrix train = dense(pb.x(b, 0), k, pb.dx);
    XGB_CHECK(XGDMatrixSetFloatInfo(train.get(), "label", pb.y(b, 0), bst_ulong(k)));
    BoosterHandle h = nullptr;
    DMatrixHandle cache[1] = {train.get()};
    XGB_CHECK(XGBoosterCreate(cache, 1, &h));
    const Booster booster(h);
    for (const auto& [key, value] : settings_)
      XGB_CHECK(XGBoosterSetParam(booster.get(), key.c_str(), value.c_str()));
    for (int round = 0; round < rounds_; ++round)
      XGB_CHECK(XGBoosterUpdateOneIter(booster.get(), round, train.get()));
    const DMatrix query = dense(pb.query_x(b, k), 1, pb.dx);
    const bst_ulong* shape = nullptr;
    bst_ulong dims = 0;
    const float* pred = nullptr;
    XGB_CHECK(XGBoosterPredictFromDMatrix(
        booster.get(), query.get(),
        R"({"type": 0, "training": false, "iteration_begin": 0, "iteration_end": 0,)"
        R"( "strict_shape": false})",
        &shape, &dims, &pred));
    ICL_ASSERT(dims == 1 && shape[0] == 1);
    return pred[0];  // owned by the booster: read before it is freed
  }

  int rounds_;
  std::vector<std::pair<std::string, std::string>> settings_;
};

#endif  // ICL_HAVE_XGBOOST

constexpr const char* kSummary =
    "gradient-boosted trees (xgboost XGBRegressor, its 1.7 defaults) refit on the examples so far "
    "(Garg et al.'s tree baseline)";

}  // namespace

void register_xgboost(std::vector<BaselineInfo>& r) {
#ifdef ICL_HAVE_XGBOOST
  r.push_back(baseline_info<XGBoost>("xgboost", kSummary, xgboost_params()));
#else
  // Listed with its parameters, so that a config naming it fails with what to install rather than
  // as an unknown baseline.
  r.push_back({"xgboost", kSummary, xgboost_params(), nullptr,
               "this build has no XGBoost (install libxgboost-dev: bash scripts/install-deps.sh, "
               "then rebuild)"});
#endif
}

}  // namespace icl

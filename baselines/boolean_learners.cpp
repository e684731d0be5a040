// Exact and classical learners for the Boolean classes of Bhattamishra et al. 2024
// (docs/TASKS.md §3). Inputs are read as bits by sign (x_i > 0 is +1), labels by the evaluation's
// rule (y >= 0 is +1).
//
//   elimination      Valiant's elimination algorithm. Conjunctions: start from the conjunction of
//                    all 2n literals (n with monotone) and drop every literal a positive example
//                    falsifies; predict with that most specific consistent conjunction (−1 until
//                    the first positive example). Disjunctions: the same on the complement
//                    (¬(OR of literals) is the AND of their negations), so it predicts +1 until the
//                    first negative example. Noisy labels can make it inconsistent; it never
//                    revises a dropped literal.
//   gf2_elimination  Gaussian elimination over GF(2) for the paper's parities, y = +1 iff
//                    Σ_{i∈S} b_i = 1 (mod 2) with b_i = (x_i + 1)/2 (homogeneous, S = ∅ allowed).
//                    The examples' bit vectors are kept in reduced row-echelon form with their
//                    labels. A query in their span has its label fixed by the examples and gets it
//                    (±1); otherwise every label is equally consistent and it predicts 0, which
//                    the accuracy metric counts as wrong (sign(0) = 0, as in the reference). An
//                    example inconsistent with earlier ones (label noise, a non-parity task) is
//                    dropped.
//   perceptron       Rosenblatt's perceptron, online: predict w·x + b, then on a mistake
//                    (y (w·x + b) <= 0) update w += y x, b += y (bias: false keeps b = 0).
//                    Starting from 0 it makes at most (R/γ)² mistakes on data separable with
//                    margin γ (Novikoff), R = max ‖(x, 1)‖.
//   null_classifier  always −1: the paper's null classifier, as the reference defines it
//                    (satwik77/incontext-bool, src/baselines.py, NullClassifier).
//   running_majority the majority label seen so far (0, i.e. no preference, before any example
//                    and on ties): a null predictor that adapts to the class's label balance.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "baselines/baseline.h"

namespace icl {
namespace {

bool positive(double v) { return v >= 0.0; }  // the evaluation's sign rule

class Elimination final : public Baseline {
 public:
  Elimination(const ParamSet& p, const std::string& label)
      : Baseline("elimination", p, label),
        disjunction_(p.s("target") == "disjunction"),
        monotone_(p.b("monotone")) {}

 private:
  void predict_prompt(const PromptView& p, float* out) const override {
    const int64_t n = p.pb.dx;
    // alive[2i]: the literal "x_i = +1"; alive[2i+1]: "x_i = −1" (never alive when monotone).
    std::vector<uint8_t> alive(size_t(2 * n), 1);
    if (monotone_)
      for (int64_t i = 0; i < n; ++i) alive[size_t(2 * i + 1)] = 0;
    // Disjunctions are learnt as the conjunction of the negated literals, on negated labels.
    const double s = disjunction_ ? -1.0 : 1.0;
    auto holds = [&](const float* x) {
      for (int64_t i = 0; i < n; ++i) {
        const bool up = s * x[i] > 0.0f;
        if (alive[size_t(2 * i + (up ? 1 : 0))]) return false;
      }
      return true;
    };
    for (int64_t k = 0; k < p.pb.n_examples; ++k) {
      out[k] = float(s * (holds(p.pb.query_x(p.b, k)) ? 1.0 : -1.0));
      if (!positive(s * p.y(k))) continue;
      const float* x = p.pb.x(p.b, k);
      for (int64_t i = 0; i < n; ++i) alive[size_t(2 * i + (s * x[i] > 0.0f ? 1 : 0))] = 0;
    }
  }
  bool disjunction_, monotone_;
};

// Rows of GF(2) bits, 64 to a word.
class Gf2Elimination final : public Baseline {
 public:
  Gf2Elimination(const ParamSet& p, const std::string& label)
      : Baseline("gf2_elimination", p, label) {}

 private:
  void predict_prompt(const PromptView& p, float* out) const override {
    const int64_t n = p.pb.dx, words = (n + 63) / 64;
    using Row = std::vector<uint64_t>;
    // pivot_row[i]: the basis row whose lowest set bit is i (empty if none), with its label bit.
    std::vector<Row> pivot_row(static_cast<size_t>(n));
    std::vector<uint8_t> pivot_label(size_t(n), 0);
    auto bits = [&](const float* x) {
      Row r(size_t(words), 0);
      for (int64_t i = 0; i < n; ++i)
        if (x[i] > 0.0f) r[size_t(i / 64)] |= uint64_t(1) << (i % 64);
      return r;
    };
    // Reduces r against the basis (rows only have bits at or above their pivot, so a pass in
    // increasing bit order clears every pivot bit); returns the label bit that accumulates.
    auto reduce = [&](Row& r) {
      uint8_t lbl = 0;
      for (int64_t i = 0; i < n; ++i) {
        if (!((r[size_t(i / 64)] >> (i % 64)) & 1u) || pivot_row[size_t(i)].empty()) continue;
        const Row& b = pivot_row[size_t(i)];
        for (int64_t w = 0; w < words; ++w) r[size_t(w)] ^= b[size_t(w)];
        lbl ^= pivot_label[size_t(i)];
      }
      return lbl;
    };
    auto lowest = [&](const Row& r) -> int64_t {
      for (int64_t w = 0; w < words; ++w)
        if (r[size_t(w)]) return w * 64 + __builtin_ctzll(r[size_t(w)]);
      return -1;
    };
    for (int64_t k = 0; k < p.pb.n_examples; ++k) {
      Row q = bits(p.pb.query_x(p.b, k));
      const uint8_t lq = reduce(q);
      out[k] = lowest(q) < 0 ? (lq ? 1.f : -1.f) : 0.f;

      Row r = bits(p.pb.x(p.b, k));
      const uint8_t lr = reduce(r) ^ uint8_t(positive(p.y(k)) ? 1 : 0);
      const int64_t piv = lowest(r);
      if (piv < 0) continue;  // spanned: consistent (lr = 0) or dropped (lr = 1)
      pivot_row[size_t(piv)] = std::move(r);
      pivot_label[size_t(piv)] = lr;
    }
  }
};

class Perceptron final : public Baseline {
 public:
  Perceptron(const ParamSet& p, const std::string& label)
      : Baseline("perceptron", p, label), bias_(p.b("bias")) {}

 private:
  void predict_prompt(const PromptView& p, float* out) const override {
    const int64_t n = p.pb.dx;
    VecD w = VecD::Zero(n), x(n);
    double b = 0.0;
    for (int64_t k = 0; k < p.pb.n_examples; ++k) {
      out[k] = float(p.query_into(k, x).dot(w) + b);
      const double y = positive(p.y(k)) ? 1.0 : -1.0;
      p.x_into(k, x);
      if (y * (x.dot(w) + b) <= 0.0) {
        w += y * x;
        if (bias_) b += y;
      }
    }
  }
  bool bias_;
};

class NullClassifier final : public Baseline {
 public:
  NullClassifier(const ParamSet& p, const std::string& label)
      : Baseline("null_classifier", p, label) {}

 private:
  void predict_prompt(const PromptView& p, float* out) const override {
    std::fill(out, out + p.pb.n_examples, -1.f);
  }
};

class RunningMajority final : public Baseline {
 public:
  RunningMajority(const ParamSet& p, const std::string& label)
      : Baseline("running_majority", p, label) {}

 private:
  void predict_prompt(const PromptView& p, float* out) const override {
    int64_t balance = 0;  // positives − negatives so far
    for (int64_t k = 0; k < p.pb.n_examples; ++k) {
      out[k] = balance > 0 ? 1.f : balance < 0 ? -1.f : 0.f;
      balance += positive(p.y(k)) ? 1 : -1;
    }
  }
};

}  // namespace

void register_boolean_learners(std::vector<BaselineInfo>& r) {
  r.push_back(baseline_info<Elimination>(
      "elimination",
      "elimination algorithm: the most specific conjunction (or dual disjunction) consistent so "
      "far",
      {ParamSpec::choice("target", "conjunction", {"conjunction", "disjunction"},
                         "class the learner assumes"),
       ParamSpec::boolean("monotone", false, "positive literals only")}));
  r.push_back(baseline_info<Gf2Elimination>("gf2_elimination",
                                            "Gaussian elimination over GF(2): exact label once the "
                                            "query is in the examples' span, else 0",
                                            {}));
  r.push_back(baseline_info<Perceptron>(
      "perceptron", "online perceptron (predict, then update on a mistake), from w = 0",
      {ParamSpec::boolean("bias", true, "learn a threshold (input augmented with a constant 1)")}));
  r.push_back(baseline_info<NullClassifier>(
      "null_classifier", "always −1, the paper's null classifier (Bhattamishra et al. 2024)", {}));
  r.push_back(baseline_info<RunningMajority>(
      "running_majority", "majority label seen so far (0 before any example and on ties)", {}));
}

}  // namespace icl

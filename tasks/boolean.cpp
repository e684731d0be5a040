// Boolean function classes of Bhattamishra et al. 2024, "Understanding In-Context Learning in
// Transformers and LLMs by Learning to Learn Discrete Functions" (arXiv 2310.03016),
// docs/TASKS.md §3. Definitions follow the authors' public code
// (github.com/satwik77/incontext-bool, src/bool_tasks.py, read 2025): x uniform on {±1}^n,
// labels ±1, logistic loss, accuracy of sign(prediction).
//
//   conjunction         w_i ∈ {0, +1, −1} w.p. .7/.15/.15 (monotone: {0, +1} w.p. .7/.3);
//                       y = sign(w·x − (‖w‖₁ − 1)): +1 iff every literal holds (empty: always +1).
//                       Each example has its literals forced true w.p. force_prob = .3 (the code's
//                       teach_* tasks use .4), which balances the labels.
//   disjunction         same literals; y = sign(w·x + ‖w‖₁ − 1): +1 iff some literal holds (empty:
//                       always −1); literals forced false w.p. .3.
//   sparse_disjunction  exactly `literals` = 4 positive literals, forced false w.p. .3.
//   dnf3                3 terms, literals w.p. .8/.1/.1 (monotone: {0, +1} w.p. .8/.2); y = OR of
//                       the terms; one term per prompt, chosen uniformly, is forced true in each
//                       example w.p. .35.
//   cnf3                3 clauses, literals w.p. .8/.1/.1; y = AND of the clauses; one clause per
//                       prompt forced false w.p. .3 (the code's value, where dnf3 uses .35;
//                       docs/TASKS.md §3).
//   majority            w ∈ {0, 1}, P(1) = .3; y = sign(w·x − .5).
//   sparse_threshold    w ∈ {0, +1, −1} w.p. .7/.15/.15, b uniform on {−3, …, 2} + .5;
//                       y = sign(w·x − b).
//   integer_halfspace   w uniform on {−3, …, 3}^n; y = sign(w·x − .5).
//   parity              a uniformly random subset S of the n coordinates (each in S w.p. 1/2);
//                       y = +1 iff an odd number of x_i, i ∈ S, are +1 (the code's ((x+1)/2·w) mod
//                       2; S = ∅ gives −1 always).
//   sparse_parity       the same with |S| = k (default 2) chosen uniformly.
//   nearest_neighbour   the first `random_prefix` labels are uniform ±1 (an exact repeat of an
//                       earlier input copies its label); every later label is that of the nearest
//                       earlier input (largest cosine similarity = smallest Hamming distance, the
//                       earliest on ties, as torch.argmax). The code's start_idx; its args.py
//                       suggests 20. As in the code, training does not score the random prefix
//                       (loss_mask); evaluation curves still show it, at chance for every learner.
//
// Teaching sequences (teaching: true) put the paper's teaching set first, then random examples:
//   conjunction (the code's teach_biconjunction): x = the literals satisfied and every other
//     coordinate −1; the same with the others +1; then, for each positive literal and then each
//     negative literal in coordinate order, the first point with that literal made false.
//   monotone conjunction (teach_conjunction): the literals +1, the rest −1; then that point with
//     each literal in turn set to −1.
//   monotone dnf3 (teach_dnf): the monotone-conjunction sequence of each term in turn.
// Sequences longer than the prompt are cut at K.
//
// label_noise flips each observed label independently w.p. p (the code's noise_rate, applied to
// every label of a training prompt); truth keeps the noiseless function. It shapes training
// prompts only (ParamSpec::training_only): the reference's src/train.py multiplies the training
// labels by a ±1 noise matrix, its src/eval.py never does, so the run layer builds evaluation
// sets with label_noise 0 unless a set gives it itself (run/resolved_run.cpp). The noise coins have
// their own stream (key.sub("label_noise"), one word per example, drawn only when p > 0), so a
// noisy prompt is its noiseless twin with some labels flipped. Draw order in the main stream: the
// function, then each example's n signs, its forcing coin (and nearest_neighbour's label coin), so
// a longer prompt extends a shorter one. A sign is one bit of a word, a coin or a literal one word
// (a uniform with 32 bits, compared with the probability).
//
// truth: the weights w (n values; literals as ±1, parity/sparse_parity the indicator of S),
// sparse_threshold (w, b), dnf3/cnf3 the three terms/clauses (3n), nearest_neighbour none.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

#include "core/error.h"
#include "core/parallel.h"
#include "tasks/task.h"

namespace icl {
namespace {

enum class Kind {
  Conjunction,
  Disjunction,
  SparseDisjunction,
  Dnf,
  Cnf,
  Majority,
  SparseThreshold,
  IntegerHalfspace,
  Parity,
  SparseParity,
  NearestNeighbour,
};

constexpr int kTerms = 3;  // dnf3 / cnf3

// One prompt's function: rows of integer weights (one per term or clause) and a threshold.
struct Function {
  std::vector<std::vector<int>> rows;
  double threshold = 0.0;
  int forced_row = 0;  // the term/clause made true/false by forcing (dnf3, cnf3)
};

int dot(const int* w, const int* x, int64_t n) {
  int s = 0;
  for (int64_t i = 0; i < n; ++i) s += w[i] * x[i];
  return s;
}
// k distinct coordinates of 0..n-1, uniformly (partial Fisher-Yates), in draw order.
std::vector<int64_t> choose(Rng& rng, int64_t n, int64_t k) {
  std::vector<int64_t> idx(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) idx[size_t(i)] = i;
  for (int64_t i = 0; i < k; ++i)
    std::swap(idx[size_t(i)], idx[size_t(i + int64_t(rng.below(uint64_t(n - i))))]);
  idx.resize(size_t(k));
  return idx;
}

// The ±1 signs of the 8 bits of a byte (bit i set: +1 at position i).
struct SignBytes {
  float v[256][8];
};
constexpr SignBytes make_sign_bytes() {
  SignBytes t{};
  for (int b = 0; b < 256; ++b)
    for (int i = 0; i < 8; ++i) t.v[b][i] = (b >> i) & 1 ? 1.f : -1.f;
  return t;
}
alignas(64) constexpr SignBytes kSignBytes = make_sign_bytes();

// u = word·2⁻³², uniform on [0, 1) to 32 bits: plenty for comparing with a probability, and one
// Philox word instead of two (Philox is a third of a Boolean prompt's cost).
double uniform32(uint32_t word) { return double(word) * 0x1.0p-32; }

// np.random.choice([0, 1, −1], p = [1 − 2q, q, q]) from a uniform u; monotone: [0, 1] with
// p = [1 − 2q, 2q].
int literal(double u, double q, bool monotone) {
  if (u < 1.0 - 2.0 * q) return 0;
  if (monotone) return 1;
  return u < 1.0 - q ? 1 : -1;
}

class BooleanTask final : public Task {
 public:
  BooleanTask(const std::string& name, const ParamSet& p, Kind kind)
      : Task(name, p),
        kind_(kind),
        n_(p.i("n")),
        noise_(p.r("label_noise")),
        force_(p.has("force_prob") ? p.r("force_prob") : 0.0),
        force_threshold_(uint64_t(std::ceil(force_ * 0x1.0p32))),
        monotone_(p.has("monotone") && p.b("monotone")),
        teaching_(p.has("teaching") && p.b("teaching")),
        k_(p.has("k")          ? p.i("k")
           : p.has("literals") ? p.i("literals")
                               : 0),
        prefix_(p.has("random_prefix") ? p.i("random_prefix") : 0) {
    if ((kind_ == Kind::SparseParity || kind_ == Kind::SparseDisjunction) && k_ > n_)
      fail("{}.{}: must be <= n = {}, got {}", name, kind_ == Kind::SparseParity ? "k" : "literals",
           n_, k_);
    if (kind_ == Kind::Dnf && teaching_ && !monotone_)
      fail(
          "{}.teaching: the paper's DNF teaching sequence is for monotone terms; set monotone: "
          "true",
          name);
  }

  Metric metric() const override { return Metric::Accuracy; }

  PromptBatch sample(const RngKey& key, int64_t first, int64_t batch, int64_t K) const override {
    check_examples(K);
    VectorPrompts pb;
    pb.loss = LossKind::Logistic;
    pb.allocate(batch, K, n_, 1, false);
    pb.truth_dim = truth_dim();
    pb.truth.assign(size_t(batch * pb.truth_dim), 0.f);
    const RngKey noise_key = key.sub("label_noise");
    parallel_for(batch, [&](int64_t b) {
      sample_one(Rng(key, uint64_t(first + b)), Rng(noise_key, uint64_t(first + b)), pb, b);
    });
    if (kind_ == Kind::NearestNeighbour) {  // the random prefix is not trained on (as the code)
      pb.loss_mask.assign(size_t(batch * K), 1);
      for (int64_t b = 0; b < batch; ++b)
        std::fill_n(pb.loss_mask.begin() + b * K, std::min(prefix_, K), uint8_t(0));
    }
    return PromptBatch(std::move(pb));
  }

 private:
  int64_t truth_dim() const {
    switch (kind_) {
      case Kind::Dnf:
      case Kind::Cnf:
        return kTerms * n_;
      case Kind::SparseThreshold:
        return n_ + 1;
      case Kind::NearestNeighbour:
        return 0;
      default:
        return n_;
    }
  }

  // Into f, whose rows keep their storage from the previous prompt (no allocation per prompt).
  void draw_function(Rng& rng, Function& f) const {
    const size_t rows = kind_ == Kind::NearestNeighbour            ? 0
                        : kind_ == Kind::Dnf || kind_ == Kind::Cnf ? size_t(kTerms)
                                                                   : 1;
    f.rows.resize(rows);
    for (auto& w : f.rows) w.assign(size_t(n_), 0);
    f.threshold = 0.0;
    f.forced_row = 0;
    // n literal() draws, their words fetched in one block.
    auto row = [&](std::vector<int>& w, double q, bool monotone) {
      thread_local std::vector<uint32_t> words;
      words.resize(size_t(n_));
      rng.next_u32s(words.data(), words.size());
      for (size_t i = 0; i < w.size(); ++i) w[i] = literal(uniform32(words[i]), q, monotone);
    };
    auto subset = [&](std::vector<int>& w, int64_t k) {
      for (int64_t i : choose(rng, n_, k)) w[size_t(i)] = 1;
    };
    switch (kind_) {
      case Kind::Conjunction:
      case Kind::Disjunction:
        row(f.rows[0], 0.15, monotone_);
        break;
      case Kind::SparseDisjunction:
      case Kind::SparseParity:
        subset(f.rows[0], k_);
        break;
      case Kind::Dnf:
      case Kind::Cnf:
        for (auto& w : f.rows) row(w, 0.1, monotone_);
        f.forced_row = int(rng.below(kTerms));
        break;
      case Kind::Majority:
        row(f.rows[0], 0.15, true);  // P(1) = .3
        f.threshold = 0.5;
        break;
      case Kind::SparseThreshold:
        row(f.rows[0], 0.15, false);
        f.threshold = double(int64_t(rng.below(6)) - 3) + 0.5;
        break;
      case Kind::IntegerHalfspace:
        for (auto& v : f.rows[0]) v = int(rng.below(7)) - 3;
        f.threshold = 0.5;
        break;
      case Kind::Parity:
        for (auto& v : f.rows[0]) v = (rng.next_u32() & 1u) ? 1 : 0;
        break;
      case Kind::NearestNeighbour:
        break;
    }
  }

  // The threshold classes' label, sign(w·x − b); the literal classes label from bit masks.
  bool threshold_label(const Function& f, const int* x) const {
    return double(dot(f.rows[0].data(), x, n_)) - f.threshold > 0.0;
  }

  // Forcing makes the chosen term true (conjunction, dnf3) or the clause false (disjunctions,
  // cnf3): each literal's coordinate is set to the literal's value, or its negation.
  bool forces() const {
    return kind_ == Kind::Conjunction || kind_ == Kind::Disjunction ||
           kind_ == Kind::SparseDisjunction || kind_ == Kind::Dnf || kind_ == Kind::Cnf;
  }
  // Only where `on` (all ones or zero) is set.
  // p, q: the forced row's positive and negative literal masks.
  static void force(bool make_true, const uint32_t* p, const uint32_t* q, int64_t words,
                    uint32_t on, uint32_t* bits) {
    for (int64_t j = 0; j < words; ++j) {
      const uint32_t b = bits[j];
      const uint32_t forced = make_true ? (b | p[j]) & ~q[j] : (b & ~p[j]) | q[j];
      bits[j] = b ^ ((forced ^ b) & on);
    }
  }

  // Classes whose labels depend only on which literals hold (everything but the threshold
  // classes and nearest_neighbour).
  bool by_masks() const {
    return kind_ != Kind::Majority && kind_ != Kind::SparseThreshold &&
           kind_ != Kind::IntegerHalfspace && kind_ != Kind::NearestNeighbour;
  }
  // pos/neg [rows, words]: bit i set where the row's weight i is positive/negative.
  void row_masks(const Function& f, int64_t words, std::vector<uint32_t>& pos,
                 std::vector<uint32_t>& neg) const {
    pos.assign(f.rows.size() * size_t(words), 0u);
    neg.assign(f.rows.size() * size_t(words), 0u);
    for (size_t r = 0; r < f.rows.size(); ++r)
      for (int64_t i = 0; i < n_; ++i) {
        const size_t j = r * size_t(words) + size_t(i >> 5);
        if (f.rows[r][size_t(i)] > 0) pos[j] |= 1u << (i & 31);
        if (f.rows[r][size_t(i)] < 0) neg[j] |= 1u << (i & 31);
      }
  }
  // label() for the literal classes, from the sign bits.
  bool mask_label(const Function& f, int64_t words, const uint32_t* pos, const uint32_t* neg,
                  const uint32_t* bits) const {
    auto conj = [&](size_t r) {  // every positive literal's bit set, every negative one's clear
      uint32_t miss = 0;
      for (int64_t j = 0; j < words; ++j) {
        const size_t o = r * size_t(words) + size_t(j);
        miss |= (pos[o] & ~bits[j]) | (neg[o] & bits[j]);
      }
      return miss == 0;
    };
    auto disj = [&](size_t r) {  // some literal holds
      uint32_t hit = 0;
      for (int64_t j = 0; j < words; ++j) {
        const size_t o = r * size_t(words) + size_t(j);
        hit |= (pos[o] & bits[j]) | (neg[o] & ~bits[j]);
      }
      return hit != 0;
    };
    switch (kind_) {
      case Kind::Conjunction:
        return conj(0);
      case Kind::Disjunction:
      case Kind::SparseDisjunction:
        return disj(0);
      case Kind::Dnf:
        for (size_t r = 0; r < f.rows.size(); ++r)
          if (conj(r)) return true;
        return false;
      case Kind::Cnf:
        for (size_t r = 0; r < f.rows.size(); ++r)
          if (!disj(r)) return false;
        return true;
      case Kind::Parity:
      case Kind::SparseParity: {
        int ones = 0;
        for (int64_t j = 0; j < words; ++j) ones += std::popcount(pos[j] & bits[j]);
        return ones % 2 == 1;
      }
      default:
        break;
    }
    ICL_ASSERT(false);
    return false;
  }

  // The teaching set of a conjunction term (see the header); appended to `out`.
  void teaching_rows(const std::vector<int>& w, bool monotone,
                     std::vector<std::vector<int>>& out) const {
    std::vector<int> base(static_cast<size_t>(n_));
    for (int64_t i = 0; i < n_; ++i) base[size_t(i)] = w[size_t(i)] != 0 ? w[size_t(i)] : -1;
    out.push_back(base);
    if (!monotone) {
      std::vector<int> other = base;
      for (int64_t i = 0; i < n_; ++i)
        if (w[size_t(i)] == 0) other[size_t(i)] = 1;
      out.push_back(other);
    }
    for (int sign : {1, -1}) {
      for (int64_t i = 0; i < n_; ++i) {
        if (w[size_t(i)] != sign) continue;
        std::vector<int> r = base;
        r[size_t(i)] = -sign;
        out.push_back(std::move(r));
      }
    }
  }

  void sample_one(Rng rng, Rng noise_rng, VectorPrompts& pb, int64_t b) const {
    const int64_t K = pb.n_examples;
    thread_local Function f;
    draw_function(rng, f);
    std::vector<std::vector<int>> teach;
    if (teaching_) {
      if (kind_ == Kind::Conjunction) teaching_rows(f.rows[0], monotone_, teach);
      if (kind_ == Kind::Dnf)
        for (const auto& w : f.rows) teaching_rows(w, true, teach);
    }

    // Every example takes the same number of words, in this order: the n signs (bit i % 32 of
    // word i / 32), the forcing coin, nearest_neighbour's label coin (one word each).
    // So the words of all K examples are fetched in one next_u32s call (the same stream as drawing
    // example by example, but Philox runs on many counters at once) and decoded below.
    const bool nn = kind_ == Kind::NearestNeighbour;
    const int64_t sign_words = (n_ + 31) / 32;
    const int64_t per = sign_words + (forces() ? 1 : 0) + (nn ? 1 : 0);
    // Scratch reused across the prompts a thread generates: no allocation per prompt.
    thread_local std::vector<uint32_t> words, noise_words;
    thread_local std::vector<int> xs, ys, label_coins;  // xs [K, n]; ys noiseless ±1
    words.resize(size_t(K * per));
    xs.resize(size_t(K * n_));
    ys.resize(size_t(K));
    label_coins.resize(size_t(K));
    rng.next_u32s(words.data(), words.size());

    // Literal classes work on the sign bits themselves (bit set = +1): a row's literals become two
    // masks, forcing is two mask operations and a label one AND and compare per 32 coordinates.
    const bool masks = by_masks();
    thread_local std::vector<uint32_t> pos, neg, bits;  // [rows, sign_words]; one example's bits
    if (masks) row_masks(f, sign_words, pos, neg);
    bits.resize(size_t(sign_words));
    // Raw pointers, fetched once: the loop below runs per example.
    uint32_t* bt = bits.data();
    const uint32_t *ps = pos.data(), *ng = neg.data();
    const bool make_true = kind_ == Kind::Conjunction || kind_ == Kind::Dnf;
    const uint32_t* fp = masks ? ps + f.forced_row * sign_words : nullptr;
    const uint32_t* fq = masks ? ng + f.forced_row * sign_words : nullptr;
    float* xo = pb.xs.data() + b * K * n_;
    int* yk = ys.data();
    int* lc = label_coins.data();
    // Eight signs at a time from a table indexed by their byte: no branch on coin flips, and
    // whole 8-float copies. A row's last group may spill up to 7 floats into the rows after it,
    // which are written later; a group that would reach past the prompt (the next prompt may
    // belong to another thread) stops at n.
    const auto write_signs = [&](int64_t k, const uint32_t* sb) {
      float* xf = xo + k * n_;
      const int64_t whole = (k * n_ + (n_ + 7) / 8 * 8 <= K * n_) ? n_ : n_ / 8 * 8;
      int64_t i = 0;
      for (; i < whole; i += 8) {
        const float* e = kSignBytes.v[(sb[i >> 5] >> (i & 31)) & 0xffu];
        std::copy(e, e + 8, xf + i);
      }
      if (i < n_) {
        const float* e = kSignBytes.v[(sb[i >> 5] >> (i & 31)) & 0xffu];
        std::copy(e, e + (n_ - i), xf + i);
      }
      return xf;
    };
    // Conjunction and the disjunctions at n <= 32 (the published n = 28): one sign word, one
    // literal row, always a forcing coin. The general loop below, with its loops over words and
    // its switch over classes taken out of the per-example work; the same bits and labels.
    const bool one_word_literal = sign_words == 1 && per == 2 && teach.empty() &&
                                  (kind_ == Kind::Conjunction || kind_ == Kind::Disjunction ||
                                   kind_ == Kind::SparseDisjunction);
    if (one_word_literal) {
      const uint32_t p = ps[0], q = ng[0];
      const uint64_t threshold = force_threshold_;
      const uint32_t* wk = words.data();
      for (int64_t k = 0; k < K; ++k, wk += 2) {
        uint32_t sb = wk[0];
        const uint32_t on = 0u - uint32_t(uint64_t(wk[1]) < threshold);
        const uint32_t forced = make_true ? (sb | p) & ~q : (sb & ~p) | q;
        sb ^= (forced ^ sb) & on;
        const bool label = make_true ? ((p & ~sb) | (q & sb)) == 0 : ((p & sb) | (q & ~sb)) != 0;
        yk[k] = label ? 1 : -1;
        write_signs(k, &sb);
      }
    } else {
      for (int64_t k = 0; k < K; ++k) {
        const uint32_t* w = words.data() + k * per;
        std::copy(w, w + sign_words, bt);
        const uint32_t* coin = w + sign_words;
        if (forces()) {
          // uniform32(coin) < force_, as a mask: forced w.p. .3 would mispredict as a branch.
          const uint32_t forced = 0u - uint32_t(uint64_t(coin[0]) < force_threshold_);
          force(make_true, fp, fq, sign_words, forced, bt);
          coin += 1;
        }
        if (nn) lc[k] = (coin[0] & 1u) ? 1 : -1;
        if (k < int64_t(teach.size())) {
          std::fill(bits.begin(), bits.end(), 0u);
          for (int64_t i = 0; i < n_; ++i)
            if (teach[size_t(k)][size_t(i)] > 0) bits[size_t(i >> 5)] |= 1u << (i & 31);
        }
        // The integer signs are kept only for the classes that compute with them.
        const float* xf = write_signs(k, bt);
        int* x = xs.data() + k * n_;
        if (!masks || nn)
          for (int64_t j = 0; j < n_; ++j) x[j] = int(xf[j]);
        if (!nn)
          yk[k] = (masks ? mask_label(f, sign_words, ps, ng, bt) : threshold_label(f, x)) ? 1 : -1;
      }
    }
    if (nn) nearest_neighbour_labels(xs.data(), K, label_coins, ys);

    // Noise coins (one word per example) come from their own stream, so a noisy prompt is its
    // noiseless twin with labels flipped, and noiseless prompts need not draw them.
    if (noise_ > 0.0) {
      noise_words.resize(size_t(K));
      noise_rng.next_u32s(noise_words.data(), noise_words.size());
      for (int64_t k = 0; k < K; ++k)
        if (uniform32(noise_words[size_t(k)]) < noise_) ys[size_t(k)] = -ys[size_t(k)];
    }
    for (int64_t k = 0; k < K; ++k) pb.ys[size_t(b * K + k)] = float(ys[size_t(k)]);
    float* t = pb.truth.data() + b * pb.truth_dim;
    for (size_t r = 0; r < f.rows.size(); ++r)
      for (int64_t i = 0; i < n_; ++i) t[int64_t(r) * n_ + i] = float(f.rows[r][size_t(i)]);
    if (kind_ == Kind::SparseThreshold) t[n_] = float(f.threshold);
  }

  // Labels of the nearest-neighbour task (xs [K, n]); coins[k] is example k's label if it is
  // random.
  void nearest_neighbour_labels(const int* xs, int64_t K, const std::vector<int>& coins,
                                std::vector<int>& ys) const {
    for (int64_t k = 0; k < K; ++k) {
      const int coin = coins[size_t(k)];
      int64_t best = -1, best_dot = 0;
      for (int64_t j = 0; j < k; ++j) {
        const int64_t d = dot(xs + j * n_, xs + k * n_, n_);
        if (best < 0 || d > best_dot) best = j, best_dot = d;
      }
      if (k < prefix_)
        ys[size_t(k)] = (best >= 0 && best_dot == n_) ? ys[size_t(best)] : coin;
      else
        ys[size_t(k)] = best >= 0 ? ys[size_t(best)] : coin;
    }
  }

  Kind kind_;
  int64_t n_;
  double noise_, force_;
  // A coin word c is forced iff c · 2⁻³² < force_, i.e. c < ⌈force_ · 2³²⌉ (c is an integer).
  uint64_t force_threshold_;
  bool monotone_, teaching_;
  int64_t k_, prefix_;
};

ParamSpec n_param(int64_t def) {
  return ParamSpec::integer("n", def, "input dimension (x uniform on {±1}^n)", 1, 4096);
}
// Training prompts only, as the reference: its src/train.py flips training labels (-noise_rate)
// and its src/eval.py scores clean ones. Evaluation sets take the default 0 unless they set it.
ParamSpec noise_param() {
  return ParamSpec::real("label_noise", 0.0,
                         "probability of flipping each observed label of a training prompt "
                         "(evaluation sets: clean unless set there)",
                         0.0, 1.0)
      .only_for_training();
}
ParamSpec force_param(double def, const char* what) {
  return ParamSpec::real("force_prob", def, what, 0.0, 1.0);
}

TaskInfo boolean_info(std::string name, std::string summary, Kind kind, ParamSpecs params) {
  return {std::move(name), std::move(summary), std::move(params),
          [kind](const std::string& n, const ParamSet& p) -> std::unique_ptr<Task> {
            return std::make_unique<BooleanTask>(n, p, kind);
          }};
}

}  // namespace

void register_boolean(std::vector<TaskInfo>& r) {
  const ParamSpec monotone = ParamSpec::boolean(
      "monotone", false, "positive literals only (the paper's teaching-sequence variant)");
  const ParamSpec teaching = ParamSpec::boolean(
      "teaching", false, "start each prompt with the teaching sequence that identifies f");
  r.push_back(boolean_info(
      "conjunction", "y = AND of random literals of x ∈ {±1}^n (Bhattamishra et al. 2024)",
      Kind::Conjunction,
      {n_param(28), noise_param(),
       force_param(0.3, "probability that an example has its literals forced true"), monotone,
       teaching}));
  r.push_back(boolean_info(
      "disjunction", "y = OR of random literals of x ∈ {±1}^n (Bhattamishra et al. 2024)",
      Kind::Disjunction,
      {n_param(28), noise_param(),
       force_param(0.3, "probability that an example has its literals forced false"), monotone}));
  r.push_back(boolean_info(
      "sparse_disjunction", "y = OR of `literals` random positive literals (Bhattamishra et al.)",
      Kind::SparseDisjunction,
      {n_param(28), noise_param(),
       force_param(0.3, "probability that an example has its literals forced false"),
       ParamSpec::integer("literals", 4, "number of literals", 1, 4096)}));
  r.push_back(
      boolean_info("dnf3", "y = OR of 3 random conjunctions (Bhattamishra et al. 2024)", Kind::Dnf,
                   {n_param(28), noise_param(),
                    force_param(0.35, "probability that an example has one fixed term forced true"),
                    monotone, teaching}));
  r.push_back(boolean_info(
      "cnf3", "y = AND of 3 random disjunctions (Bhattamishra et al. 2024)", Kind::Cnf,
      {n_param(28), noise_param(),
       force_param(0.3, "probability that an example has one fixed clause forced false")}));
  r.push_back(boolean_info("majority", "y = sign(w·x − .5), w ∈ {0,1}^n, P(1) = .3 (Bhattamishra)",
                           Kind::Majority, {n_param(28), noise_param()}));
  r.push_back(boolean_info("sparse_threshold",
                           "y = sign(w·x − b), w ∈ {0,±1}^n, b ∈ {−3..2} + .5 (Bhattamishra)",
                           Kind::SparseThreshold, {n_param(28), noise_param()}));
  r.push_back(boolean_info("integer_halfspace",
                           "y = sign(w·x − .5), w uniform on {−3..3}^n (Bhattamishra et al.)",
                           Kind::IntegerHalfspace, {n_param(28), noise_param()}));
  r.push_back(boolean_info("parity", "parity of a uniformly random subset of the n bits",
                           Kind::Parity, {n_param(10), noise_param()}));
  r.push_back(boolean_info("sparse_parity",
                           "parity of k random bits (Parity-(n, k) of Bhattamishra et al.)",
                           Kind::SparseParity,
                           {n_param(10), noise_param(),
                            ParamSpec::integer("k", 2, "number of bits in the parity", 1, 4096)}));
  r.push_back(boolean_info(
      "nearest_neighbour", "labels copy the nearest earlier input's after a random prefix",
      Kind::NearestNeighbour,
      {n_param(28), noise_param(),
       ParamSpec::integer("random_prefix", 20, "leading examples with uniform random labels", 1,
                          1e9)}));
}

}  // namespace icl

// State-tracking tasks of Grazzi et al. 2025, "Unlocking State-Tracking in Linear RNNs Through
// Negative Eigenvalues" (arXiv 2411.12537, §5.1 and App. E.1; docs/TASKS.md §9), which take them
// from Delétang et al. 2023, "Neural Networks and the Chomsky Hierarchy" (regular-language tasks):
//
//   parity_check    a string of uniformly random bits b_1..b_L; the answer, read at the last bit,
//                   is (Σ b_i) mod 2. Tokens: BOS b_1 .. b_L (T = L + 1). |Y| = 2. Named as in
//                   Delétang et al.; "parity" is Bhattamishra et al.'s in-context Boolean class.
//   mod_arithmetic  an expression n_1 o_1 n_2 ... o_{k-1} n_k with numbers uniform in
//                   {0, ..., m−1} and operators uniform in the chosen subset of {+, −, ×}, no
//                   brackets; the answer, read at a final "=" token, is its value mod m.
//                   Tokens: BOS n_1 o_1 ... n_k = (T = L + 2). |Y| = m.
//
// Which modular arithmetic. Grazzi et al.'s table reports "Mod. Arithm. (w/o brackets)" (their
// example "2 − 3 − 3 ∗ 2 = 3", App. E.1.2, m = 5) next to a bracketed, context-free variant; this
// is the former. Their example only comes out as 3 when × binds tighter than + and −
// (2 − 3 − 6 = −7 ≡ 3; left to right it would be (2 − 3 − 3)·2 = −8 ≡ 2), and Delétang et al.'s
// reference generator (tasks/regular/modular_arithmetic.py in google-deepmind/
// neural_networks_chomsky_hierarchy) evaluates the same way: products first, then the sum with
// subtractions as additions of the negation. Its length is the number of expression tokens, which
// is odd; an even length gives one token less, as there.
//
// The training lengths (min_length..max_length, default 3–40 as in Grazzi et al. and Beck et al.)
// only shape sample_mixed; evaluation asks for explicit lengths (tasks/token_task.h).
#include <fmt/format.h>

#include "core/error.h"
#include "tasks/token_task.h"

namespace icl {
namespace {

// `length_counts: answer` counts the answer token (and mod_arithmetic's '=') in a prompt's length,
// as Grazzi et al.'s reference generator (xlstm's formal_language tasks) does: its parity sequence
// of length L is L − 1 bits and the answer, its expression of length L is L − 2 tokens, '=' and the
// answer. `content` (the default) counts bits or expression tokens only, as Delétang et al.'s
// generator does. The shortest length with answer counting has one bit (parity) or one number.
int64_t answer_tokens(const ParamSet& p, int64_t counted) {
  return p.s("length_counts") == "answer" ? counted : 0;
}

// `what`: "" for a prompt's length, ".min_length" for the training range's lower end.
void check_counted_length(const Task& t, const char* what, int64_t length, int64_t least) {
  if (length < least)
    fail(
        "{}{}: with length_counts: answer a prompt length must be >= {} (one symbol and what is "
        "counted with the answer), got {}",
        t.name(), what, least, length);
}

class Parity final : public TokenTask {
 public:
  Parity(const std::string& name, const ParamSet& p)
      : TokenTask(name, p, 4, 2), extra_(answer_tokens(p, 1)) {
    check_counted_length(*this, ".min_length", min_length(), 1 + extra_);
  }

  int64_t seq_len(int64_t length) const override { return length - extra_ + 1; }
  void check_examples(int64_t length) const override {
    TokenTask::check_examples(length);
    check_counted_length(*this, "", length, 1 + extra_);
  }

 protected:
  void write_prompt(Rng& rng, int64_t counted, int32_t* tokens, int32_t* targets,
                    uint8_t* mask) const override {
    const int64_t length = counted - extra_;  // bits
    tokens[0] = bos();
    uint32_t word = 0, parity = 0;
    for (int64_t i = 0; i < length; ++i) {
      if (i % 32 == 0) word = rng.next_u32();
      const uint32_t bit = (word >> (i % 32)) & 1u;
      tokens[i + 1] = int32_t(bit);
      parity ^= bit;
    }
    targets[length] = int32_t(parity);
    mask[length] = 1;
  }

 private:
  int64_t extra_;
};

class ModArithmetic final : public TokenTask {
 public:
  ModArithmetic(const std::string& name, const ParamSet& p)
      : TokenTask(name, p, p.i("modulus") + 6, p.i("modulus")),
        m_(p.i("modulus")),
        ops_(operator_tokens(p.s("operators"))),
        extra_(answer_tokens(p, 2)) {
    check_counted_length(*this, ".min_length", min_length(), 1 + extra_);
  }

  // Even lengths round down to the odd number of tokens an expression has.
  int64_t seq_len(int64_t length) const override { return expression_tokens(length - extra_) + 2; }
  void check_examples(int64_t length) const override {
    TokenTask::check_examples(length);
    check_counted_length(*this, "", length, 1 + extra_);
  }

 protected:
  void write_prompt(Rng& rng, int64_t length, int32_t* tokens, int32_t* targets,
                    uint8_t* mask) const override {
    const int64_t n = expression_tokens(length - extra_);
    tokens[0] = bos();
    // Operator precedence by one left-to-right pass: `term` is the running product since the
    // last + or −, `sign` the sign it will be added with.
    int64_t total = 0, term = 0, sign = 1;
    for (int64_t i = 0; i < n; i += 2) {
      const int64_t x = int64_t(rng.below(uint64_t(m_)));
      tokens[i + 1] = int32_t(x);
      if (i == 0) {
        term = x;
        continue;
      }
      const int32_t op = ops_[rng.below(ops_.size())];
      tokens[i] = op;
      if (op == times()) {
        term = term * x % m_;
      } else {
        total = (total + sign * term) % m_;
        sign = op == plus() ? 1 : -1;
        term = x;
      }
    }
    total = ((total + sign * term) % m_ + m_) % m_;
    const int64_t eq = n + 1;
    tokens[eq] = equals();
    targets[eq] = int32_t(total);
    mask[eq] = 1;
  }

 private:
  static int64_t expression_tokens(int64_t length) { return length % 2 == 1 ? length : length - 1; }
  int32_t plus() const { return int32_t(m_); }
  int32_t minus() const { return int32_t(m_ + 1); }
  int32_t times() const { return int32_t(m_ + 2); }
  int32_t equals() const { return int32_t(m_ + 3); }

  std::vector<int32_t> operator_tokens(const std::string& ops) const {
    std::vector<int32_t> out;
    for (char c : ops) out.push_back(c == '+' ? plus() : c == '-' ? minus() : times());
    return out;
  }

  int64_t m_;
  std::vector<int32_t> ops_;
  int64_t extra_;
};

ParamSpec length_counts_spec() {
  return ParamSpec::choice("length_counts", "content", {"content", "answer"},
                           "what a prompt's length counts: the bits or expression tokens "
                           "(content, Deletang et al.), or those plus the answer and '=' "
                           "(answer, Grazzi et al.'s reference generator)");
}

}  // namespace

void register_state_tracking(std::vector<TaskInfo>& r) {
  r.push_back({"parity_check",
               "parity of a random bit string, answered at the last bit; trained on short strings, "
               "evaluated by length (Grazzi et al. 2025)",
               [] {
                 ParamSpecs p = token_length_params();
                 p.push_back(length_counts_spec());
                 return p;
               }(),
               [](const std::string& n, const ParamSet& p) -> std::unique_ptr<Task> {
                 return std::make_unique<Parity>(n, p);
               }});
  ParamSpecs mod = token_length_params();
  mod.push_back(length_counts_spec());
  mod.push_back(
      ParamSpec::integer("modulus", 5, "m: numbers are 0..m-1, the answer is mod m", 2, 1000));
  mod.push_back(
      ParamSpec::choice("operators", "+-*", {"+-*", "+-", "+*", "-*", "+", "-", "*"},
                        "operators drawn uniformly between the numbers (* binds tighter)"));
  r.push_back({"mod_arithmetic",
               "value mod m of a bracket-free expression over 0..m-1 with + - * (precedence), "
               "answered after '=' (Grazzi et al. 2025, Deletang et al. 2023)",
               std::move(mod),
               [](const std::string& n, const ParamSet& p) -> std::unique_ptr<Task> {
                 return std::make_unique<ModArithmetic>(n, p);
               }});
}

}  // namespace icl

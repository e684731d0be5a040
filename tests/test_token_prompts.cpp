// Token prompts end to end (docs/DESIGN.md, "TokenPrompts" and "results.h5"): the state-tracking
// tasks of docs/TASKS.md §9 (parity_check, mod_arithmetic) -- shapes, masks, padding of
// mixed-length training batches, labels checked against independent evaluations -- the
// transformer's token read-in and logits read-out, the scaled accuracy by length, config parsing of
// evaluation lengths, and training through run_benchmark and the `icl` binary: determinism, resume,
// a results file whose curves run over the sequence length.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include <fmt/format.h>

#include "core/arena.h"
#include "eval/results.h"
#include "eval/streams.h"
#include "io/h5.h"
#include "models/model.h"
#include "run/run_benchmark.h"
#include "tasks/token_task.h"
#include "tests/errors.h"
#include "tests/prompts.h"

namespace icl {
namespace {

namespace fs = std::filesystem;
using test::error_of;
using testing::HasSubstr;

const RngKey kKey{11, stream_id("token-prompts")};

std::unique_ptr<Task> token_task(const std::string& name, const RawParams& raw = {}) {
  auto t = make_task(name, raw);
  EXPECT_NE(as_token_task(*t), nullptr) << name;
  return t;
}

// Position of the one scored token of row b (both tasks score exactly one), or -1.
int64_t answer_position(const TokenPrompts& pb, int64_t b) {
  int64_t pos = -1;
  for (int64_t t = 0; t < pb.seq_len; ++t)
    if (pb.loss_mask[size_t(b * pb.seq_len + t)]) {
      EXPECT_EQ(pos, -1) << "more than one scored position in row " << b;
      pos = t;
    }
  return pos;
}

// ------------------------------------------------------------------------------------------------
// Tasks.

// length_counts: answer counts the answer (and '=') in the length, as Grazzi et al.'s reference
// generator does: the prompt of length L is the content-counted prompt of L − 1 bits (parity) or
// L − 2 expression tokens (mod arithmetic), token for token, from the same stream.
TEST(TokenTasks, AnswerCountedLengthsAreTheReferenceCount) {
  const RngKey key{4, stream_id("answer counted")};
  for (const auto& [name_, less_] :
       {std::pair{"parity_check", 1}, std::pair{"mod_arithmetic", 2}}) {
    // Copies: clang before 16 cannot capture structured bindings in the lambdas below.
    const std::string name = name_;
    const int less = less_;
    SCOPED_TRACE(name);
    const auto counted = make_task(name, {{"length_counts", "answer"}});
    const auto content = make_task(name, {});
    for (const int64_t L : {3, 7, 40, 41}) {
      const PromptBatch a = counted->sample(key, 0, 5, L);
      const PromptBatch b = content->sample(key, 0, 5, L - less);
      const auto &ta = a.as<TokenPrompts>("a"), &tb = b.as<TokenPrompts>("b");
      ASSERT_EQ(ta.seq_len, tb.seq_len) << L;
      EXPECT_EQ(ta.tokens, tb.tokens) << L;
      EXPECT_EQ(ta.targets, tb.targets) << L;
      // The reference's sequence of length L holds L tokens with the answer; ours starts with BOS
      // and predicts the answer instead of holding it: the same L positions (odd L for the
      // expression, whose even lengths round down).
      if (L % 2 == 1 || name == "parity_check") {
        EXPECT_EQ(ta.seq_len, L) << L;
      }
    }
    EXPECT_THAT(error_of([&] {
                  make_task(name, {{"length_counts", "answer"}, {"min_length", "1"}});
                }),
                HasSubstr("length_counts: answer a prompt length must be >="));
    EXPECT_THAT(error_of([&] { counted->sample(key, 0, 1, less); }),
                HasSubstr(fmt::format("must be >= {} (one symbol", less + 1)));
  }
}

TEST(TokenTasks, ShapesMasksAndTokenRanges) {
  for (const char* name : {"parity_check", "mod_arithmetic"}) {
    const auto task = token_task(name);
    const TokenTask& tt = *as_token_task(*task);
    EXPECT_EQ(task->prompt_kind(), PromptKind::Token);
    EXPECT_EQ(task->metric(), Metric::ScaledAccuracy);
    for (int64_t L : {1, 2, 7, 40, 41}) {
      for (int64_t B : {1, 7}) {
        SCOPED_TRACE(fmt::format("{} L={} B={}", name, L, B));
        const TokenPrompts pb = test::take<TokenPrompts>(task->sample(kKey, 3, B, L));
        EXPECT_EQ(pb.batch, B);
        EXPECT_EQ(pb.n_examples, L);
        EXPECT_EQ(pb.seq_len, tt.seq_len(L));
        ASSERT_EQ(pb.tokens.size(), size_t(B * pb.seq_len));
        ASSERT_EQ(pb.targets.size(), pb.tokens.size());
        ASSERT_EQ(pb.loss_mask.size(), pb.tokens.size());
        for (int64_t b = 0; b < B; ++b) {
          EXPECT_EQ(pb.tokens[size_t(b * pb.seq_len)], tt.bos());
          // The answer is read at the last token: nothing after it, so a causal model's answer
          // has seen the whole prompt.
          EXPECT_EQ(answer_position(pb, b), pb.seq_len - 1);
          for (int64_t t = 0; t < pb.seq_len; ++t) {
            const size_t i = size_t(b * pb.seq_len + t);
            EXPECT_GE(pb.tokens[i], 0);
            EXPECT_LT(pb.tokens[i], tt.pad()) << "no padding in a fixed-length batch";
            if (t > 0) {
              EXPECT_NE(pb.tokens[i], tt.bos());
            }
            if (pb.loss_mask[i]) {
              EXPECT_GE(pb.targets[i], 0);
              EXPECT_LT(pb.targets[i], tt.answers());
            } else {
              EXPECT_EQ(pb.targets[i], -1);
            }
          }
        }
        // Prompt i is the same in a batch of 1.
        for (int64_t b = 0; b < B; ++b) {
          const TokenPrompts one = test::take<TokenPrompts>(task->sample(kKey, 3 + b, 1, L));
          const auto row = [&](const auto& v) {
            return std::vector(v.begin() + b * pb.seq_len, v.begin() + (b + 1) * pb.seq_len);
          };
          EXPECT_EQ(row(pb.tokens), one.tokens);
          EXPECT_EQ(row(pb.targets), one.targets);
        }
      }
    }
  }
  EXPECT_EQ(as_token_task(*token_task("parity_check"))->answers(), 2);
  EXPECT_EQ(as_token_task(*token_task("mod_arithmetic"))->answers(), 5);
  EXPECT_EQ(as_token_task(*token_task("mod_arithmetic", {{"modulus", "7"}}))->answers(), 7);
  EXPECT_EQ(as_token_task(*make_task("linear_regression", {})), nullptr);
}

// Training batches: prompt i's length is drawn in [min_length, max_length] from its own stream,
// and the row is exactly the fixed-length prompt i of that length followed by padding.
TEST(TokenTasks, MixedBatchesArePaddedPromptsOfDrawnLengths) {
  for (const char* name : {"parity_check", "mod_arithmetic"}) {
    SCOPED_TRACE(name);
    const auto task = token_task(name, {{"min_length", "3"}, {"max_length", "12"}});
    const TokenTask& tt = *as_token_task(*task);
    constexpr int64_t B = 600;
    const TokenPrompts pb = test::take<TokenPrompts>(tt.sample_mixed(kKey, 5, B));
    EXPECT_EQ(pb.seq_len, tt.seq_len(12));
    EXPECT_EQ(pb.n_examples, 12);
    std::set<int64_t> seen_lengths;
    for (int64_t b = 0; b < B; ++b) {
      const int64_t answer = answer_position(pb, b);
      // Find the length whose unpadded prompt is this row's prefix.
      int64_t match = -1;
      for (int64_t L = 3; L <= 12 && match < 0; ++L) {
        if (tt.seq_len(L) != answer + 1) continue;
        const TokenPrompts one = test::take<TokenPrompts>(task->sample(kKey, 5 + b, 1, L));
        if (std::equal(one.tokens.begin(), one.tokens.end(), pb.tokens.begin() + b * pb.seq_len) &&
            std::equal(one.targets.begin(), one.targets.end(), pb.targets.begin() + b * pb.seq_len))
          match = L;
      }
      ASSERT_GE(match, 0) << "row " << b << " is no fixed-length prompt";
      seen_lengths.insert(tt.seq_len(match));
      for (int64_t t = answer + 1; t < pb.seq_len; ++t) {
        const size_t i = size_t(b * pb.seq_len + t);
        EXPECT_EQ(pb.tokens[i], tt.pad());
        EXPECT_EQ(pb.loss_mask[i], 0);
      }
    }
    // Every sequence length of the range occurs (mod_arithmetic: odd lengths only).
    std::set<int64_t> all;
    for (int64_t L = 3; L <= 12; ++L) all.insert(tt.seq_len(L));
    EXPECT_EQ(seen_lengths, all);
    // Batch independence of the mixed stream too.
    const TokenPrompts one = test::take<TokenPrompts>(tt.sample_mixed(kKey, 5 + 17, 1));
    EXPECT_TRUE(
        std::equal(one.tokens.begin(), one.tokens.end(), pb.tokens.begin() + 17 * pb.seq_len));
  }
}

TEST(ParityCheck, LabelsAreTheParityAndBalanced) {
  const auto task = token_task("parity_check");
  for (int64_t L : {7, 8, 33}) {
    SCOPED_TRACE(L);
    constexpr int64_t B = 4000;
    const TokenPrompts pb = test::take<TokenPrompts>(task->sample(kKey, 0, B, L));
    int64_t odd = 0, ones = 0;
    for (int64_t b = 0; b < B; ++b) {
      int sum = 0;
      for (int64_t t = 1; t <= L; ++t) {
        const int32_t bit = pb.tokens[size_t(b * pb.seq_len + t)];
        ASSERT_TRUE(bit == 0 || bit == 1);
        sum += bit;
      }
      ones += sum;
      EXPECT_EQ(pb.targets[size_t(b * pb.seq_len + L)], sum % 2);
      odd += sum % 2;
    }
    // 4 standard deviations of a fair coin.
    EXPECT_NEAR(double(odd) / B, 0.5, 4 * 0.5 / std::sqrt(double(B)));
    EXPECT_NEAR(double(ones) / double(B * L), 0.5, 4 * 0.5 / std::sqrt(double(B * L)));
  }
}

// An independent evaluation of mod_arithmetic: a recursive-descent parser of the expression as
// text, expr := term (('+'|'-') term)*, term := number ('*' number)*.
struct Parser {
  std::string s;
  size_t i = 0;
  int64_t m;
  int64_t number() { return int64_t(s[i++] - '0'); }
  int64_t term() {
    int64_t v = number();
    while (i < s.size() && s[i] == '*') {
      ++i;
      v = v * number() % m;
    }
    return v;
  }
  int64_t expr() {
    int64_t v = term();
    while (i < s.size() && (s[i] == '+' || s[i] == '-')) {
      const char op = s[i++];
      v = op == '+' ? v + term() : v - term();
    }
    return ((v % m) + m) % m;
  }
};

int64_t evaluate_text(const std::string& s, int64_t m) { return Parser{s, 0, m}.expr(); }

// Left to right, ignoring precedence: what the task must *not* compute.
int64_t left_to_right(const std::string& s, int64_t m) {
  int64_t v = s[0] - '0';
  for (size_t i = 1; i + 1 < s.size(); i += 2) {
    const int64_t x = s[i + 1] - '0';
    v = s[i] == '+' ? v + x : s[i] == '-' ? v - x : v * x;
    v = ((v % m) + m) % m;
  }
  return v;
}

// The prompt's expression as text (numbers < 10 only), and checks of its token grammar.
std::string expression_text(const TokenPrompts& pb, int64_t b, int64_t m) {
  std::string s;
  const int32_t* tok = pb.tokens.data() + b * pb.seq_len;
  for (int64_t t = 1; t + 1 < pb.seq_len; ++t) {
    const int32_t v = tok[t];
    if (t % 2 == 1) {
      EXPECT_LT(v, m) << "a number is expected at position " << t;
      s += char('0' + v);
    } else {
      EXPECT_GE(v, m) << "an operator is expected at position " << t;
      EXPECT_LE(v, m + 2);
      s += "+-*"[v - m];
    }
  }
  EXPECT_EQ(tok[pb.seq_len - 1], m + 3) << "the prompt ends with '='";
  return s;
}

TEST(ModArithmetic, ReferenceEvaluatorOnPublishedExamples) {
  // Grazzi et al. App. E.1.2 and the examples of Delétang et al.'s generator (mod 5).
  EXPECT_EQ(evaluate_text("2-3-3*2", 5), 3);
  EXPECT_EQ(evaluate_text("1+2*3", 5), 2);
  EXPECT_EQ(evaluate_text("1-1-1", 5), 4);
  EXPECT_EQ(evaluate_text("0*1+4*3-2", 5), 0);
  EXPECT_EQ(left_to_right("2-3-3*2", 5), 2);
}

TEST(ModArithmetic, AnswersMatchAnIndependentEvaluation) {
  for (const auto& [modulus, ops] : std::vector<std::pair<std::string, std::string>>{
           {"5", "+-*"}, {"7", "+-*"}, {"3", "-*"}, {"5", "+"}, {"2", "*"}}) {
    SCOPED_TRACE(modulus + " " + ops);
    const auto task = token_task("mod_arithmetic", {{"modulus", modulus}, {"operators", ops}});
    const int64_t m = std::stoi(modulus);
    int64_t precedence_matters = 0, prompts = 0;
    std::array<int64_t, 10> answers{};
    for (int64_t L : {1, 3, 4, 9, 25, 41}) {
      const TokenPrompts pb = test::take<TokenPrompts>(task->sample(kKey, 100 * L, 300, L));
      EXPECT_EQ(pb.seq_len, (L % 2 ? L : L - 1) + 2);
      for (int64_t b = 0; b < pb.batch; ++b) {
        const std::string text = expression_text(pb, b, m);
        for (size_t i = 1; i < text.size(); i += 2)
          EXPECT_NE(ops.find(text[i]), std::string::npos) << text;
        const int32_t answer = pb.targets[size_t((b + 1) * pb.seq_len - 1)];
        ASSERT_EQ(answer, evaluate_text(text, m)) << text;
        precedence_matters += evaluate_text(text, m) != left_to_right(text, m);
        ++answers[size_t(answer)];
        ++prompts;
      }
    }
    if (ops == "+-*") {
      EXPECT_GT(precedence_matters, prompts / 4);
    }
    for (int64_t a = 0; a < m; ++a) EXPECT_GT(answers[size_t(a)], 0) << "answer " << a;
  }
}

TEST(TokenTasks, BadParametersNameThem) {
  const auto msg = [](const std::string& name, const RawParams& raw) {
    return error_of([&] { make_task(name, raw); });
  };
  EXPECT_THAT(msg("parity_check", {{"min_length", "10"}, {"max_length", "5"}}),
              HasSubstr("max_length: must be >= min_length = 10, got 5"));
  EXPECT_THAT(msg("parity_check", {{"min_length", "0"}}), HasSubstr("min_length"));
  EXPECT_THAT(msg("mod_arithmetic", {{"max_length", "0"}}), HasSubstr("max_length"));
  EXPECT_THAT(msg("mod_arithmetic", {{"modulus", "1"}}), HasSubstr("modulus"));
  EXPECT_THAT(msg("mod_arithmetic", {{"operators", "/"}}), HasSubstr("operators"));
  EXPECT_THAT(msg("parity_check", {{"n", "3"}}), HasSubstr("unknown parameter 'n'"));
  const auto task = token_task("parity_check");
  EXPECT_THAT(error_of([&] { task->sample(kKey, 0, 1, 0); }), HasSubstr("length"));
  // A mixture of vector tasks cannot take a token task as a component.
  EXPECT_THAT(msg("mixture", {{"component2", "parity_check"}}), HasSubstr("token prompts"));
}

// ------------------------------------------------------------------------------------------------
// Scaled accuracy, through evaluate().

// Scores the target (shifted by `shift` among the answers) highest at every scored position; or,
// with shift < 0, always answers 0.
class Oracle final : public Predictor {
 public:
  Oracle(int64_t vocab, int64_t answers, int shift)
      : vocab_(vocab), answers_(answers), shift_(shift) {}
  std::string label() const override { return fmt::format("oracle{}", shift_); }
  std::string name() const override { return "oracle"; }
  const char* kind() const override { return "baseline"; }
  const ParamSet& params() const override { return params_; }
  std::vector<float> predict(const PromptBatch& batch) const override {
    const TokenPrompts& pb = batch.as<TokenPrompts>("test predictor");
    std::vector<float> out(size_t(pb.batch * pb.seq_len * vocab_), 0.f);
    for (int64_t i = 0; i < pb.batch * pb.seq_len; ++i) {
      const int32_t t = pb.targets[size_t(i)];
      const int64_t pick = shift_ < 0 ? 0 : t < 0 ? 0 : (t + shift_) % answers_;
      out[size_t(i * vocab_ + pick)] = 1.f;
    }
    return out;
  }

 private:
  int64_t vocab_, answers_;
  int shift_;
  ParamSet params_;
};

TEST(TokenEval, ScaledAccuracyByLength) {
  for (const char* name : {"parity_check", "mod_arithmetic"}) {
    SCOPED_TRACE(name);
    const auto task = token_task(name);
    const TokenTask& tt = *as_token_task(*task);
    const Oracle right(tt.vocab(), tt.answers(), 0), wrong(tt.vocab(), tt.answers(), 1),
        constant(tt.vocab(), tt.answers(), -1);
    EvalOptions opt;
    opt.prompts = 400;
    opt.batch_size = 64;
    opt.bootstrap = 50;
    opt.lengths = {3, 10, 41};
    opt.progress = false;
    const EvalResult r = evaluate("len", *task, {&right, &wrong, &constant}, kKey, opt);
    EXPECT_EQ(r.lengths, opt.lengths);
    EXPECT_EQ(r.answers, tt.answers());
    EXPECT_EQ(r.metric, Metric::ScaledAccuracy);
    ASSERT_EQ(r.curves.size(), 3u);
    const double chance = 1.0 / double(tt.answers());
    for (size_t j = 0; j < 3; ++j) {
      EXPECT_EQ(r.curves[0].stats.mean[j], 1.0);
      EXPECT_DOUBLE_EQ(r.curves[1].stats.mean[j], -chance / (1.0 - chance));
      // Always answering 0 is right for the 1/|Y| of prompts whose answer is 0: about 0.
      EXPECT_NEAR(r.curves[2].stats.mean[j], 0.0, 0.2);
      EXPECT_LE(r.curves[2].stats.lo[j], r.curves[2].stats.mean[j]);
      EXPECT_GE(r.curves[2].stats.hi[j], r.curves[2].stats.mean[j]);
    }
    const std::string table = summary_table(r);
    EXPECT_THAT(table, HasSubstr("by sequence length"));
    EXPECT_THAT(table, HasSubstr("L=41"));
    EXPECT_THAT(table, HasSubstr("scaled_accuracy"));
  }
  const auto task = token_task("parity_check");
  const Oracle right(4, 2, 0);
  EvalOptions opt;
  opt.progress = false;
  EXPECT_THAT(error_of([&] { evaluate("x", *task, {&right}, kKey, opt); }), HasSubstr("lengths"));
  const auto vector_task = make_task("linear_regression", {});
  opt.lengths = {3};
  EXPECT_THAT(error_of([&] { evaluate("x", *vector_task, {&right}, kKey, opt); }),
              HasSubstr("lengths are for token tasks"));
}

// ------------------------------------------------------------------------------------------------
// The transformer on token prompts.

std::unique_ptr<Model> tiny_token_model(const TokenTask& tt, int64_t longest,
                                        const std::string& pos = "learned") {
  const ModelIO io{0, 1, longest, tt.vocab(), tt.seq_len(longest)};
  auto model = make_model("transformer",
                          {{"n_layer", "2"}, {"n_embd", "16"}, {"n_head", "2"}, {"pos", pos}}, io);
  model->init(3);
  return model;
}

std::vector<float> logits(Model& model, const PromptBatch& pb) {
  Arena arena;
  Graph g(arena, false);
  const Var y = model.forward(g, pb);
  std::vector<float> out(size_t(y.value().numel()));
  g.read(y.value(), out.data());
  return out;
}

// With learned and with rotary positions (rope has no table: positions enter every block).
TEST(TokenTransformer, LogitsAreCausalAndIgnorePadding) {
  const auto task = token_task("mod_arithmetic", {{"min_length", "3"}, {"max_length", "15"}});
  const TokenTask& tt = *as_token_task(*task);
  for (const std::string pos : {"learned", "rope"}) {
    SCOPED_TRACE(pos);
    auto model = tiny_token_model(tt, 15, pos);
    EXPECT_EQ(model->parameters().find("pos") != nullptr, pos == "learned");
    EXPECT_NE(model->parameters().find("embed.w"), nullptr);
    EXPECT_EQ(model->parameters().find("read_in.w"), nullptr);
    const int64_t V = tt.vocab();

    TokenPrompts pb = test::take<TokenPrompts>(task->sample(kKey, 0, 3, 9));
    const std::vector<float> a = logits(*model, PromptBatch(pb));
    ASSERT_EQ(a.size(), size_t(3 * pb.seq_len * V));
    // Changing token 5 of prompt 1 leaves positions 0..4 alone, and changes position 5.
    pb.tokens[size_t(pb.seq_len + 5)] = (pb.tokens[size_t(pb.seq_len + 5)] + 1) % tt.pad();
    const std::vector<float> b = logits(*model, PromptBatch(pb));
    const auto at = [&](const std::vector<float>& v, int64_t row, int64_t t) {
      return std::vector<float>(v.begin() + (row * pb.seq_len + t) * V,
                                v.begin() + (row * pb.seq_len + t + 1) * V);
    };
    for (int64_t t = 0; t < 5; ++t) EXPECT_EQ(at(a, 1, t), at(b, 1, t)) << t;
    EXPECT_NE(at(a, 1, 5), at(b, 1, 5));
    for (int64_t t = 0; t < pb.seq_len; ++t) EXPECT_EQ(at(a, 0, t), at(b, 0, t));

    // A padded mixed batch gives each prompt's answer the logits of the unpadded prompt.
    const TokenPrompts mixed = test::take<TokenPrompts>(tt.sample_mixed(kKey, 0, 6));
    const std::vector<float> m = logits(*model, PromptBatch(mixed));
    for (int64_t r = 0; r < 6; ++r) {
      const int64_t answer = answer_position(mixed, r);
      const int64_t L = answer - 1;  // odd lengths: seq_len = L + 2
      const TokenPrompts one = test::take<TokenPrompts>(task->sample(kKey, r, 1, L));
      const std::vector<float> u = logits(*model, PromptBatch(one));
      for (int64_t v = 0; v < V; ++v)
        EXPECT_NEAR(m[size_t((r * mixed.seq_len + answer) * V + v)], u[size_t(answer * V + v)],
                    1e-5);
    }
  }
}

TEST(TokenTransformer, RefusesWrongPrompts) {
  const auto task = token_task("parity_check");
  auto model = tiny_token_model(*as_token_task(*task), 10);
  EXPECT_THAT(error_of([&] { logits(*model, task->sample(kKey, 0, 1, 11)); }),
              HasSubstr("built for at most 11"));
  const PromptBatch vec = make_task("linear_regression", {{"d", "3"}})->sample(kKey, 0, 1, 4);
  EXPECT_THAT(error_of([&] { logits(*model, vec); }), HasSubstr("built for token prompts"));
  EXPECT_THAT(error_of([] {
                make_model("transformer", {}, ModelIO{0, 1, 5, 4, 0});
              }),
              HasSubstr("max_tokens"));
}

// ------------------------------------------------------------------------------------------------
// Configs.

ResolvedRun parse(const std::string& yaml) {
  return resolve_run(YAML::Load(yaml), "test", "test.yaml");
}

TEST(TokenConfig, EvaluationLengths) {
  const ResolvedRun cfg = parse(
      "task: {name: parity_check, max_length: 12}\n"
      "eval: {prompts: 8, lengths: [4, 8], sets: {a: {}, b: {lengths: {start: 40, end: 100, "
      "step: 25}}}}\n"
      "model: {name: transformer, n_layer: 1, n_embd: 8, n_head: 2}\n"
      "train: {steps: 2}\n");
  ASSERT_EQ(cfg.evals.size(), 2u);
  EXPECT_EQ(cfg.evals[0].lengths, (std::vector<int64_t>{4, 8}));
  EXPECT_EQ(cfg.evals[1].lengths, (std::vector<int64_t>{40, 65, 90, 100}));
  const ModelIO io = cfg.model->io;
  EXPECT_EQ(io.max_examples, 100);
  EXPECT_EQ(io.vocab, 4);
  EXPECT_EQ(io.max_tokens, 101);
  // The resolved config (what results.h5 stores and `icl eval` reloads) keeps the lengths.
  YAML::Node resolved = YAML::Load(cfg.yaml());
  resolved.remove("benchmark");  // as `icl eval` does
  const ResolvedRun again = resolve_run(resolved, "test", "resolved");
  EXPECT_EQ(again.evals[1].lengths, cfg.evals[1].lengths);
  EXPECT_EQ(again.model->io.max_examples, 100);
  EXPECT_EQ(again.model->io.max_tokens, io.max_tokens);

  const std::string head = "task: {name: parity_check}\n";
  EXPECT_THAT(error_of([&] { parse(head + "eval: {prompts: 8}\n"); }),
              HasSubstr("eval.sets.standard.lengths: task parity_check has token prompts"));
  EXPECT_THAT(error_of([&] { parse(head + "eval: {lengths: [8, 4]}\n"); }),
              HasSubstr("eval.lengths: lengths must increase, got 4 after 8"));
  EXPECT_THAT(error_of([&] { parse(head + "eval: {lengths: [8, x]}\n"); }),
              HasSubstr("eval.lengths.1"));
  EXPECT_THAT(error_of([&] { parse(head + "eval: {lengths: {start: 5}}\n"); }),
              HasSubstr("eval.lengths.end: required"));
  EXPECT_THAT(error_of([&] { parse(head + "eval: {lengths: 5}\n"); }),
              HasSubstr("expected a list of lengths"));
  EXPECT_THAT(error_of([&] {
                parse("task: {name: linear_regression}\neval: {sets: {a: {lengths: [3]}}}\n");
              }),
              HasSubstr("eval.sets.a.lengths: only for token tasks"));
}

// ------------------------------------------------------------------------------------------------
// Training: through run_benchmark (determinism, resume) and the icl binary (results file).

struct TempDir {
  fs::path p;
  explicit TempDir(const std::string& name)
      : p(fs::temp_directory_path() / fmt::format("icl_tokens_{}_{}", name, ::getpid())) {
    fs::remove_all(p);
    fs::create_directories(p);
  }
  ~TempDir() { fs::remove_all(p); }
  std::string operator/(const std::string& f) const { return (p / f).string(); }
};

const char* kTinyParity =
    "description: tiny token-prompt run for the tests\n"
    "seed: 5\n"
    "task: {name: parity_check, min_length: 2, max_length: 6}\n"
    "eval:\n"
    "  prompts: 16\n"
    "  bootstrap: 20\n"
    "  batch_size: 16\n"
    "  sets:\n"
    "    short: {lengths: [2, 4, 6]}\n"
    "    long: {lengths: {start: 6, end: 12, step: 3}}\n"
    "model: {name: transformer, n_layer: 1, n_head: 2, n_embd: 8}\n"
    "train: {steps: 8, batch_size: 8, lr: 1.0e-2, schedule: cosine, warmup: 2, eval_every: 4,\n"
    "        eval_prompts: 8, checkpoint_every: 3}\n";

BenchmarkResult run_tiny(const TempDir& d, const std::string& out, const std::string& resume = "",
                         int64_t until = 0) {
  const std::string path = d / "tiny.yaml";
  std::ofstream(path) << kTinyParity;
  const ResolvedRun cfg = load_run(path);
  AtomicH5Output file(out);
  RunOptions ro;
  ro.progress = false;
  ro.resume = resume;
  ro.until = until;
  ro.device = "cpu";
  return run_benchmark(cfg, file, ro);
}

std::vector<double> losses(const std::string& path) {
  const h5::Handle f = h5::open_file(path);
  return h5::read<double>(f.id(), "train/loss");
}

std::vector<float> checkpoint(const std::string& path, const std::string& group) {
  const h5::Handle f = h5::open_file(path);
  std::vector<float> all;
  for (const char* n : {"embed.w", "pos", "blocks.0.attn.w_qkv", "read_out.w"}) {
    const auto v = h5::read<float>(f.id(), "checkpoint/" + group + "/" + n);
    all.insert(all.end(), v.begin(), v.end());
  }
  return all;
}

TEST(TokenTraining, BitIdenticalRerunsAndResume) {
  TempDir d("resume");
  const BenchmarkResult whole = run_tiny(d, d / "whole.h5");
  run_tiny(d, d / "again.h5");
  EXPECT_EQ(losses(d / "whole.h5").size(), 8u);
  EXPECT_EQ(losses(d / "whole.h5"), losses(d / "again.h5"));
  for (double l : losses(d / "whole.h5")) EXPECT_TRUE(std::isfinite(l) && l > 0);

  const BenchmarkResult half = run_tiny(d, d / "half.h5", "", 4);
  EXPECT_TRUE(half.evals.empty());
  const BenchmarkResult resumed = run_tiny(d, d / "resumed.h5", d / "half.h5");
  EXPECT_EQ(losses(d / "whole.h5"), losses(d / "resumed.h5"));
  for (const char* g : {"params", "adam_m", "adam_v"})
    EXPECT_EQ(checkpoint(d / "whole.h5", g), checkpoint(d / "resumed.h5", g)) << g;
  ASSERT_EQ(whole.evals.size(), 2u);
  ASSERT_EQ(resumed.evals.size(), 2u);
  for (size_t e = 0; e < 2; ++e)
    EXPECT_EQ(whole.evals[e].curves[0].stats.mean, resumed.evals[e].curves[0].stats.mean);
  EXPECT_EQ(whole.evals[1].lengths, (std::vector<int64_t>{6, 9, 12}));
}

struct CliRun {
  int code;
  std::string out;
};

CliRun icl(const std::string& args, const std::string& dir) {
  const std::string log = dir + "/out.txt";
  const int status =
      std::system((std::string(ICL_BINARY) + " " + args + " > " + log + " 2>&1").c_str());
  std::ifstream in(log);
  std::stringstream ss;
  ss << in.rdbuf();
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, ss.str()};
}

TEST(TokenCli, RunWritesCurvesOverTheSequenceLength) {
  TempDir d("cli");
  std::ofstream(d / "tiny.yaml") << kTinyParity;
  const CliRun r =
      icl(fmt::format("run {} -o {} --no-figures", d / "tiny.yaml", d / "run.h5"), d.p.string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("scaled_accuracy (|Y| = 2) by sequence length"));
  EXPECT_THAT(r.out, HasSubstr("L=12"));
  {
    const h5::Handle f = h5::open_file(d / "run.h5");
    EXPECT_EQ(h5::read<double>(f.id(), "train/loss").size(), 8u);
    const h5::Handle g = h5::open_group(f.id(), "eval/long");
    EXPECT_EQ(h5::read<int64_t>(g.id(), "length"), (std::vector<int64_t>{6, 9, 12}));
    EXPECT_FALSE(h5::exists(g.id(), "n_examples"));
    EXPECT_EQ(h5::read_attr_string(g.id(), "metric"), "scaled_accuracy");
    EXPECT_EQ(h5::read_attr_int(g.id(), "answers"), 2);
    EXPECT_EQ(h5::read_attr_int(g.id(), "max_length"), 6);
    EXPECT_EQ(h5::read<double>(g.id(), "transformer/mean").size(), 3u);
    EXPECT_EQ(h5::read<int64_t>(f.id(), "eval/short/length"), (std::vector<int64_t>{2, 4, 6}));
  }
  // The trained model evaluated again from its checkpoint, at the run's lengths.
  const CliRun e =
      icl(fmt::format("eval --checkpoint {} --out {}", d / "run.h5", d / "eval.h5"), d.p.string());
  ASSERT_EQ(e.code, 0) << e.out;
  const h5::Handle f = h5::open_file(d / "eval.h5");
  EXPECT_EQ(h5::read<int64_t>(f.id(), "eval/eval/length"), (std::vector<int64_t>{2, 4, 6}));
  // icl generate exports the prompts evaluation draws at that length.
  const CliRun gen =
      icl(fmt::format("generate parity_check -n 4 -k 5 --stream long -o {}", d / "gen.h5"),
          d.p.string());
  ASSERT_EQ(gen.code, 0) << gen.out;
  {
    const h5::Handle gf = h5::open_file(d / "gen.h5");
    std::vector<int64_t> dims;
    const auto tokens = h5::read<int32_t>(gf.id(), "tokens", &dims);
    EXPECT_EQ(dims, (std::vector<int64_t>{4, 6}));
    const TokenPrompts pb = test::take<TokenPrompts>(
        make_task("parity_check", {})->sample(eval_stream(0, "long").sub("length5"), 0, 4, 5));
    EXPECT_EQ(tokens, pb.tokens);
    EXPECT_EQ(h5::read<int32_t>(gf.id(), "targets"), pb.targets);
    EXPECT_EQ(h5::read<uint8_t>(gf.id(), "loss_mask"), pb.loss_mask);
  }
  // The CPU-only token path refuses an explicit GPU in one line (here: no CUDA build or GPU, or
  // the trainer's own refusal).
  const CliRun g =
      icl(fmt::format("run {} -o {} --no-figures --device cuda", d / "tiny.yaml", d / "gpu.h5"),
          d.p.string());
  EXPECT_EQ(g.code, 1);
  EXPECT_THAT(g.out, HasSubstr("icl: error: device cuda"));
  EXPECT_EQ(std::count(g.out.begin(), g.out.end(), '\n'), 1) << g.out;
}

}  // namespace
}  // namespace icl

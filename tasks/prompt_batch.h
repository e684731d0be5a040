#pragma once
// PromptBatch: what a task hands to models and baselines (docs/DESIGN.md, "PromptBatch"). It is
// one of three kinds of prompts, each its own type, so that code written for one kind takes that
// type and cannot be handed another:
//
// VectorPrompts keep the examples as xs [B, K, dx] and ys [B, K, dy]. The prediction for example k
// (0-based) may use examples 0..k-1 and the query point of k. Usually the query is x_k itself and
// the target y_k; distribution shifts that separate in-context points from query points
// (orthogonal, overlapping, random-quadrant queries) fill xq/yq [B, K, dx|dy], and then example k
// is scored on (xq_k, yq_k) while the context stays (xs, ys)_0..k-1. A vector batch may carry
// loss_mask [B, K]: training scores only the marked examples (train/batch_loss.h); evaluation
// curves still cover every k. Empty: every example is scored.
//
// TokenPrompts (tasks/token_task.h) hold tokens/targets/loss_mask [B, T], row-major, T = seq_len:
// the model reads tokens[b, 0..t] and is scored at the positions t with loss_mask[b, t] = 1 on
// targets[b, t] (a token id); targets elsewhere are −1. A batch of prompts of different lengths is
// padded on the right (padding is never scored, and a causal model's earlier positions do not see
// it). n_examples is then the prompts' length (the curve's x-axis), not a count of examples. The
// loss is cross-entropy.
//
// HistoryPrompts (bandit trajectories, tasks/bandit_imitation.h) have one token per example: the
// model reads x_k [B, K, dx] at token k and is scored there; x_k carries what came before, so
// there is no separate y to read. The labels are dy classes: ys [B, K, dy] one-hot and targets
// [B, K] the class ids; the model's outputs are logits and the loss is cross-entropy.
//
// What every kind shares (PromptCommon): the batch size B, the length K and each prompt's ground
// truth. The loss follows from the kind: vector prompts choose squared error or the logistic loss,
// token and history prompts are always scored by cross-entropy. PromptBatch holds exactly one kind;
// as<VectorPrompts>(who) is the one place a consumer states the kind it needs, and a mismatch is a
// one-line error naming who.
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace icl {

// Order matches PromptBatch's variant.
enum class PromptKind { Vector, Token, History };
enum class LossKind { SquaredError, Logistic, CrossEntropy };

const char* to_string(PromptKind k);
const char* to_string(LossKind l);

struct PromptCommon {
  int64_t batch = 0;
  int64_t n_examples = 0;  // K; for token prompts the prompts' length

  // Ground truth of each prompt's function (e.g. the weight vector w), [B, truth_dim].
  int64_t truth_dim = 0;
  std::vector<float> truth;

  friend bool operator==(const PromptCommon&, const PromptCommon&) = default;
};

struct VectorPrompts : PromptCommon {
  static constexpr PromptKind kKind = PromptKind::Vector;
  LossKind loss = LossKind::SquaredError;  // or Logistic (±1 labels); not CrossEntropy
  int64_t dx = 0, dy = 0;
  std::vector<float> xs, ys;  // [B, K, dx], [B, K, dy]
  std::vector<float> xq, yq;  // empty, or [B, K, dx], [B, K, dy]: query points differ from xs
  // Covariance of the inputs when the task knows it, [dx, dx] shared by the batch (used by the
  // optimal preconditioned-GD predictor); empty when unknown.
  std::vector<double> x_cov;
  std::vector<uint8_t> loss_mask;  // empty, or [B, K]

  bool has_queries() const { return !xq.empty(); }
  const float* x(int64_t b, int64_t k) const { return xs.data() + (b * n_examples + k) * dx; }
  const float* y(int64_t b, int64_t k) const { return ys.data() + (b * n_examples + k) * dy; }
  const float* query_x(int64_t b, int64_t k) const {
    return (has_queries() ? xq.data() : xs.data()) + (b * n_examples + k) * dx;
  }
  const float* query_y(int64_t b, int64_t k) const {
    return (has_queries() ? yq.data() : ys.data()) + (b * n_examples + k) * dy;
  }
  // Zeroed xs, ys (and xq, yq when `queries`) for b prompts of k examples.
  void allocate(int64_t b, int64_t k, int64_t dx_, int64_t dy_, bool queries);

  friend bool operator==(const VectorPrompts&, const VectorPrompts&) = default;
};

struct TokenPrompts : PromptCommon {
  static constexpr PromptKind kKind = PromptKind::Token;
  int64_t seq_len = 0;             // T
  std::vector<int32_t> tokens;     // [B, T]
  std::vector<int32_t> targets;    // [B, T], −1 where not scored
  std::vector<uint8_t> loss_mask;  // [B, T]
  // b prompts of `length`, T = t positions: tokens `fill`, targets −1 and loss_mask 0.
  void allocate(int64_t b, int64_t length, int64_t t, int32_t fill);

  friend bool operator==(const TokenPrompts&, const TokenPrompts&) = default;
};

struct HistoryPrompts : PromptCommon {
  static constexpr PromptKind kKind = PromptKind::History;
  int64_t dx = 0, dy = 0;        // dy: the number of classes
  std::vector<float> xs, ys;     // [B, K, dx], one-hot [B, K, dy]
  std::vector<int32_t> targets;  // [B, K] class ids
  // Zeroed xs, ys and targets for b prompts of k steps with dy classes.
  void allocate(int64_t b, int64_t k, int64_t dx_, int64_t dy_);

  friend bool operator==(const HistoryPrompts&, const HistoryPrompts&) = default;
};

class PromptBatch {
 public:
  PromptBatch() = default;  // no prompts (an empty vector batch)
  // Explicit: models and losses keep pointers into the batch until the step's backward, so a
  // batch made on the fly for a call must be visible as the temporary it is.
  explicit PromptBatch(VectorPrompts p) : v_(std::move(p)) {}
  explicit PromptBatch(TokenPrompts p) : v_(std::move(p)) {}
  explicit PromptBatch(HistoryPrompts p) : v_(std::move(p)) {}

  PromptKind kind() const { return PromptKind(v_.index()); }
  const PromptCommon& common() const {
    return std::visit([](const auto& p) -> const PromptCommon& { return p; }, v_);
  }
  int64_t batch() const { return common().batch; }
  int64_t n_examples() const { return common().n_examples; }
  LossKind loss() const {
    const VectorPrompts* v = get<VectorPrompts>();
    return v ? v->loss : LossKind::CrossEntropy;
  }

  // The prompts as kind P, or nullptr.
  template <class P>
  const P* get() const {
    return std::get_if<P>(&v_);
  }
  template <class P>
  P* get() {
    return std::get_if<P>(&v_);
  }
  // The prompts as kind P; otherwise icl::Error "<who>: needs vector prompts, given token prompts".
  template <class P>
  const P& as(std::string_view who) const {
    if (const P* p = get<P>()) return *p;
    wrong_kind(who, P::kKind);
  }
  template <class P>
  P& as(std::string_view who) {
    if (P* p = get<P>()) return *p;
    wrong_kind(who, P::kKind);
  }

  // Same kind and every field equal, bit for bit (NaN never equals itself).
  friend bool operator==(const PromptBatch&, const PromptBatch&) = default;

  template <class F>
  decltype(auto) visit(F&& f) const {
    return std::visit(std::forward<F>(f), v_);
  }
  template <class F>
  decltype(auto) visit(F&& f) {
    return std::visit(std::forward<F>(f), v_);
  }

 private:
  [[noreturn]] void wrong_kind(std::string_view who, PromptKind wanted) const;
  std::variant<VectorPrompts, TokenPrompts, HistoryPrompts> v_;
};

// The example widths of vector and history prompts (what a model reads in and out); {0, 0} for
// token prompts.
struct ExampleDims {
  int64_t dx = 0, dy = 0;
};
ExampleDims example_dims(const PromptBatch& pb);

// Prompts [begin, begin + count) of `pb` as a batch of their own (gradient accumulation's
// micro-batches): every per-prompt array sliced, what the batch shares (x_cov) kept.
PromptBatch slice_prompts(const PromptBatch& pb, int64_t begin, int64_t count);
// Appends the prompts of `more` to `into` (the same kind and sizes): a batch sampled in parts.
void append_prompts(PromptBatch& into, const PromptBatch& more);

}  // namespace icl

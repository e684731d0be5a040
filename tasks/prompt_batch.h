#pragma once
// PromptBatch: what a task hands to models and baselines (docs/DESIGN.md, "PromptBatch").
//
// Vector prompts keep the examples as xs [B, K, dx] and ys [B, K, dy]. The prediction for example k
// (0-based) may use examples 0..k-1 and the query point of k. Usually the query is x_k itself and
// the target y_k; distribution shifts that separate in-context points from query points
// (orthogonal, overlapping, random-quadrant queries) fill xq/yq [B, K, dx|dy], and then example k
// is scored on (xq_k, yq_k) while the context stays (xs, ys)_0..k-1. A vector batch may carry
// loss_mask [B, K]: training scores only the marked examples (train/batch_loss.h); evaluation
// curves still cover every k. Empty: every example is scored.
//
// Token prompts (tasks/token_task.h) use tokens/targets/loss_mask [B, T], row-major, T = seq_len:
// the model reads tokens[b, 0..t] and is scored at the positions t with loss_mask[b, t] = 1 on
// targets[b, t] (a token id); targets elsewhere are −1. A batch of prompts of different lengths is
// padded on the right (padding is never scored, and a causal model's earlier positions do not see
// it). n_examples is then the prompts' length (the curve's x-axis), not a count of examples.
//
// History prompts (history = true; bandit trajectories, tasks/bandit_imitation.h) are vector
// prompts with one token per example: the model reads x_k at token k and is scored there, ys are
// not read (x_k carries what came before). With LossKind::CrossEntropy, dy is the number of
// classes, ys [B, K, dy] one-hot and targets [B, K] the class ids (seq_len = K); the model's
// outputs are logits.
#include <cstdint>
#include <string>
#include <vector>

namespace icl {

enum class Encoding { Vector, Token };
enum class LossKind { SquaredError, Logistic, CrossEntropy };

const char* to_string(Encoding e);
const char* to_string(LossKind l);

struct PromptBatch {
  Encoding encoding = Encoding::Vector;
  LossKind loss = LossKind::SquaredError;
  int64_t batch = 0;
  int64_t n_examples = 0;  // K
  int64_t dx = 0, dy = 0;
  bool history = false;  // one token per example (above); false: x, y interleaved

  std::vector<float> xs, ys;  // [B, K, dx], [B, K, dy]
  std::vector<float> xq, yq;  // empty, or [B, K, dx], [B, K, dy]: query points differ from xs

  // Ground truth of each prompt's function (e.g. the weight vector w), [B, truth_dim].
  int64_t truth_dim = 0;
  std::vector<float> truth;

  // Covariance of the inputs when the task knows it, [dx, dx] shared by the batch (used by the
  // optimal preconditioned-GD predictor); empty when unknown.
  std::vector<double> x_cov;

  // Token prompts: [B, T]; history prompts with class labels: targets [B, K]; vector prompts:
  // loss_mask empty or [B, K].
  int64_t seq_len = 0;
  std::vector<int32_t> tokens, targets;
  std::vector<uint8_t> loss_mask;

  bool has_queries() const { return !xq.empty(); }
  const float* x(int64_t b, int64_t k) const { return xs.data() + (b * n_examples + k) * dx; }
  const float* y(int64_t b, int64_t k) const { return ys.data() + (b * n_examples + k) * dy; }
  const float* query_x(int64_t b, int64_t k) const {
    return (has_queries() ? xq.data() : xs.data()) + (b * n_examples + k) * dx;
  }
  const float* query_y(int64_t b, int64_t k) const {
    return (has_queries() ? yq.data() : ys.data()) + (b * n_examples + k) * dy;
  }

  void allocate_vector(int64_t b, int64_t k, int64_t dx_, int64_t dy_, bool queries);
  // Token encoding, cross-entropy loss, [b, t] of tokens `fill`, targets −1 and loss_mask 0.
  void allocate_tokens(int64_t b, int64_t length, int64_t t, int32_t fill);
};

}  // namespace icl

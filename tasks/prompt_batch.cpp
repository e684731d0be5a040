#include "tasks/prompt_batch.h"

namespace icl {

const char* to_string(Encoding e) { return e == Encoding::Vector ? "vector" : "token"; }

const char* to_string(LossKind l) {
  switch (l) {
    case LossKind::SquaredError:
      return "squared_error";
    case LossKind::Logistic:
      return "logistic";
    case LossKind::CrossEntropy:
      return "cross_entropy";
  }
  return "?";
}

void PromptBatch::allocate_vector(int64_t b, int64_t k, int64_t dx_, int64_t dy_, bool queries) {
  encoding = Encoding::Vector;
  batch = b;
  n_examples = k;
  dx = dx_;
  dy = dy_;
  xs.assign(size_t(b * k * dx), 0.f);
  ys.assign(size_t(b * k * dy), 0.f);
  xq.assign(queries ? size_t(b * k * dx) : 0, 0.f);
  yq.assign(queries ? size_t(b * k * dy) : 0, 0.f);
}

void PromptBatch::allocate_tokens(int64_t b, int64_t length, int64_t t, int32_t fill) {
  encoding = Encoding::Token;
  loss = LossKind::CrossEntropy;
  batch = b;
  n_examples = length;
  seq_len = t;
  tokens.assign(size_t(b * t), fill);
  targets.assign(size_t(b * t), -1);
  loss_mask.assign(size_t(b * t), 0);
}

}  // namespace icl

#include "train/batch_loss.h"

#include "core/error.h"
#include "kernels/loss.h"

namespace icl {

namespace {
int64_t scored_rows(const PromptBatch& pb) {
  return pb.batch * (pb.encoding == Encoding::Token ? pb.seq_len : pb.n_examples);
}
}  // namespace

bool expand_loss_mask(const PromptBatch& pb, std::vector<float>& mask) {
  if (pb.loss_mask.empty()) return false;
  const bool tokens = pb.encoding == Encoding::Token;
  const int64_t rows = scored_rows(pb);
  const int64_t per_row = tokens || pb.loss == LossKind::CrossEntropy ? 1 : pb.dy;
  if (int64_t(pb.loss_mask.size()) != rows)
    fail("prompt batch: loss_mask has {} entries, expected {} ({} prompts x {} {})",
         pb.loss_mask.size(), rows, pb.batch, rows / pb.batch, tokens ? "tokens" : "examples");
  mask.resize(size_t(rows * per_row));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < per_row; ++j)
      mask[size_t(r * per_row + j)] = pb.loss_mask[size_t(r)] ? 1.f : 0.f;
  return true;
}

Var batch_loss(Graph& g, Var pred, const PromptBatch& pb, std::vector<float>& mask) {
  const bool tokens = pb.encoding == Encoding::Token;
  const int64_t rows = scored_rows(pb);
  Tensor m;
  if (expand_loss_mask(pb, mask))
    m = Tensor{mask.data(), {int64_t(mask.size())}, DType::F32, Device::CPU};
  if (tokens || pb.loss == LossKind::CrossEntropy) {
    const Tensor targets{const_cast<int32_t*>(pb.targets.data()), {rows}, DType::I32, Device::CPU};
    return ops::cross_entropy(g, pred, targets, m);
  }
  const Tensor target{const_cast<float*>(pb.ys.data()), {rows * pb.dy}, DType::F32, Device::CPU};
  return pb.loss == LossKind::Logistic ? ops::logistic_loss(g, pred, target, m)
                                       : ops::mse_loss(g, pred, target, m);
}

}  // namespace icl

#include "train/batch_loss.h"

#include "core/error.h"
#include "kernels/loss.h"

namespace icl {

namespace {

// The scored units' loss_mask and shape: one row per token (token prompts) or per example (vector
// prompts; per_row = dy outputs each). History prompts have no mask: every step is scored.
struct MaskRows {
  const std::vector<uint8_t>* mask = nullptr;
  int64_t rows = 0, per_row = 1;
  const char* unit = "";
};

MaskRows mask_rows(const PromptBatch& pb) {
  if (const auto* t = pb.get<TokenPrompts>())
    return {&t->loss_mask, t->batch * t->seq_len, 1, "tokens"};
  if (const auto* v = pb.get<VectorPrompts>())
    return {&v->loss_mask, v->batch * v->n_examples, v->dy, "examples"};
  return {};
}

}  // namespace

bool expand_loss_mask(const PromptBatch& pb, std::vector<float>& mask) {
  const MaskRows m = mask_rows(pb);
  if (!m.mask || m.mask->empty()) return false;
  if (int64_t(m.mask->size()) != m.rows)
    fail("prompt batch: loss_mask has {} entries, expected {} ({} prompts x {} {})", m.mask->size(),
         m.rows, pb.batch(), m.rows / pb.batch(), m.unit);
  mask.resize(size_t(m.rows * m.per_row));
  for (int64_t r = 0; r < m.rows; ++r)
    for (int64_t j = 0; j < m.per_row; ++j)
      mask[size_t(r * m.per_row + j)] = (*m.mask)[size_t(r)] ? 1.f : 0.f;
  return true;
}

Var batch_loss(Graph& g, Var pred, const PromptBatch& pb, std::vector<float>& mask) {
  Tensor m;
  if (expand_loss_mask(pb, mask))
    m = Tensor{mask.data(), {int64_t(mask.size())}, DType::F32, Device::CPU};
  // Class targets: one per token, or one per step of a history.
  const auto cross_entropy = [&](const std::vector<int32_t>& targets, int64_t rows) {
    const Tensor t{const_cast<int32_t*>(targets.data()), {rows}, DType::I32, Device::CPU};
    return ops::cross_entropy(g, pred, t, m);
  };
  if (const auto* t = pb.get<TokenPrompts>())
    return cross_entropy(t->targets, t->batch * t->seq_len);
  if (const auto* h = pb.get<HistoryPrompts>())
    return cross_entropy(h->targets, h->batch * h->n_examples);
  const VectorPrompts& v = pb.as<VectorPrompts>("training loss");
  const int64_t n = v.batch * v.n_examples * v.dy;
  const Tensor target{const_cast<float*>(v.ys.data()), {n}, DType::F32, Device::CPU};
  switch (v.loss) {
    case LossKind::SquaredError:
      return ops::mse_loss(g, pred, target, m);
    case LossKind::Logistic:
      return ops::logistic_loss(g, pred, target, m);
    case LossKind::CrossEntropy:
      break;
  }
  fail(
      "training loss: vector prompts are scored by squared error or the logistic loss; class "
      "labels need history or token prompts");
}

}  // namespace icl

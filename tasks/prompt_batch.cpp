#include "tasks/prompt_batch.h"

#include <type_traits>

#include "core/error.h"

namespace icl {

const char* to_string(PromptKind k) {
  switch (k) {
    case PromptKind::Vector:
      return "vector";
    case PromptKind::Token:
      return "token";
    case PromptKind::History:
      return "history";
  }
  return "?";
}

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

void VectorPrompts::allocate(int64_t b, int64_t k, int64_t dx_, int64_t dy_, bool queries) {
  batch = b;
  n_examples = k;
  dx = dx_;
  dy = dy_;
  xs.assign(size_t(b * k * dx), 0.f);
  ys.assign(size_t(b * k * dy), 0.f);
  xq.assign(queries ? size_t(b * k * dx) : 0, 0.f);
  yq.assign(queries ? size_t(b * k * dy) : 0, 0.f);
}

void TokenPrompts::allocate(int64_t b, int64_t length, int64_t t, int32_t fill) {
  batch = b;
  n_examples = length;
  seq_len = t;
  tokens.assign(size_t(b * t), fill);
  targets.assign(size_t(b * t), -1);
  loss_mask.assign(size_t(b * t), 0);
}

void HistoryPrompts::allocate(int64_t b, int64_t k, int64_t dx_, int64_t dy_) {
  batch = b;
  n_examples = k;
  dx = dx_;
  dy = dy_;
  xs.assign(size_t(b * k * dx), 0.f);
  ys.assign(size_t(b * k * dy), 0.f);
  targets.assign(size_t(b * k), 0);
}

void PromptBatch::wrong_kind(std::string_view who, PromptKind wanted) const {
  fail("{}: needs {} prompts, given {} prompts", who, to_string(wanted), to_string(kind()));
}

ExampleDims example_dims(const PromptBatch& pb) {
  if (const auto* v = pb.get<VectorPrompts>()) return {v->dx, v->dy};
  if (const auto* h = pb.get<HistoryPrompts>()) return {h->dx, h->dy};
  return {};
}

namespace {
// Rows [begin, begin + count) of a [B, ...] array of `batch` rows (empty stays empty).
template <class T>
std::vector<T> rows(const std::vector<T>& v, int64_t batch, int64_t begin, int64_t count) {
  if (v.empty()) return {};
  const size_t per = v.size() / size_t(batch);
  return std::vector<T>(v.begin() + ptrdiff_t(size_t(begin) * per),
                        v.begin() + ptrdiff_t(size_t(begin + count) * per));
}
}  // namespace

PromptBatch slice_prompts(const PromptBatch& pb, int64_t begin, int64_t count) {
  const int64_t b = pb.batch();
  if (begin < 0 || count < 1 || begin + count > b)
    fail("slice_prompts: prompts [{}, {}) of a batch of {}", begin, begin + count, b);
  return pb.visit([&](const auto& p) {
    auto out = p;
    out.batch = count;
    out.truth = rows(p.truth, b, begin, count);
    using P = std::remove_cvref_t<decltype(p)>;
    if constexpr (std::is_same_v<P, VectorPrompts>) {
      out.xs = rows(p.xs, b, begin, count);
      out.ys = rows(p.ys, b, begin, count);
      out.xq = rows(p.xq, b, begin, count);
      out.yq = rows(p.yq, b, begin, count);
      out.loss_mask = rows(p.loss_mask, b, begin, count);
    } else if constexpr (std::is_same_v<P, TokenPrompts>) {
      out.tokens = rows(p.tokens, b, begin, count);
      out.targets = rows(p.targets, b, begin, count);
      out.loss_mask = rows(p.loss_mask, b, begin, count);
    } else {
      out.xs = rows(p.xs, b, begin, count);
      out.ys = rows(p.ys, b, begin, count);
      out.targets = rows(p.targets, b, begin, count);
    }
    return PromptBatch(std::move(out));
  });
}

void append_prompts(PromptBatch& into, const PromptBatch& more) {
  if (into.kind() != more.kind())
    fail("append_prompts: {} prompts after {} prompts", to_string(more.kind()),
         to_string(into.kind()));
  into.visit([&](auto& p) {
    using P = std::remove_cvref_t<decltype(p)>;
    const P& m = *more.get<P>();
    const auto cat = [](auto& a, const auto& b) { a.insert(a.end(), b.begin(), b.end()); };
    if (m.n_examples != p.n_examples || m.truth_dim != p.truth_dim)
      fail("append_prompts: prompts of {} examples after {}", m.n_examples, p.n_examples);
    if constexpr (std::is_same_v<P, TokenPrompts>) {
      if (m.seq_len != p.seq_len) fail("append_prompts: {} tokens after {}", m.seq_len, p.seq_len);
      cat(p.tokens, m.tokens);
      cat(p.targets, m.targets);
      cat(p.loss_mask, m.loss_mask);
    } else {
      if (m.dx != p.dx || m.dy != p.dy)
        fail("append_prompts: examples of width {}/{} after {}/{}", m.dx, m.dy, p.dx, p.dy);
      cat(p.xs, m.xs);
      cat(p.ys, m.ys);
      if constexpr (std::is_same_v<P, VectorPrompts>) {
        cat(p.xq, m.xq);
        cat(p.yq, m.yq);
        cat(p.loss_mask, m.loss_mask);
      } else {
        cat(p.targets, m.targets);
      }
    }
    cat(p.truth, m.truth);
    p.batch += m.batch;
  });
}

}  // namespace icl

#include "tasks/token_task.h"

#include "core/error.h"
#include "core/parallel.h"

namespace icl {

// Lengths beyond this would need more positions than any model here is built for; the bound keeps
// a typo (a length of 10^9) from becoming an out-of-memory error.
constexpr int64_t kMaxLength = 1 << 20;

TokenTask::TokenTask(std::string name, ParamSet p, int64_t vocab, int64_t answers)
    : Task(std::move(name), std::move(p)),
      vocab_(vocab),
      answers_(answers),
      min_length_(params().i("min_length")),
      max_length_(params().i("max_length")) {
  ICL_ASSERT(vocab_ >= 3 && answers_ >= 2 && answers_ <= vocab_ - 2);
  if (max_length_ < min_length_)
    fail("{}.max_length: must be >= min_length = {}, got {}", this->name(), min_length_,
         max_length_);
}

void TokenTask::check_examples(int64_t length) const {
  if (length < 1 || length > kMaxLength)
    fail("{}: prompt length must be in [1, {}], got {}", name(), kMaxLength, length);
}

PromptBatch TokenTask::sample(const RngKey& key, int64_t first, int64_t batch,
                              int64_t length) const {
  check_examples(length);
  TokenPrompts pb;
  const int64_t T = seq_len(length);
  pb.allocate(batch, length, T, pad());
  parallel_for(batch, [&](int64_t b) {
    Rng rng(key, uint64_t(first + b));
    const size_t o = size_t(b * T);
    write_prompt(rng, length, pb.tokens.data() + o, pb.targets.data() + o, pb.loss_mask.data() + o);
  });
  return PromptBatch(std::move(pb));
}

PromptBatch TokenTask::sample_mixed(const RngKey& key, int64_t first, int64_t batch) const {
  TokenPrompts pb;
  const int64_t T = seq_len(max_length_);
  pb.allocate(batch, max_length_, T, pad());
  const RngKey lengths = key.sub("length");
  const uint64_t span = uint64_t(max_length_ - min_length_ + 1);
  parallel_for(batch, [&](int64_t b) {
    const int64_t length = min_length_ + int64_t(Rng(lengths, uint64_t(first + b)).below(span));
    Rng rng(key, uint64_t(first + b));
    const size_t o = size_t(b * T);
    write_prompt(rng, length, pb.tokens.data() + o, pb.targets.data() + o, pb.loss_mask.data() + o);
  });
  return PromptBatch(std::move(pb));
}

ParamSpecs token_length_params(int64_t min_default, int64_t max_default) {
  return {
      ParamSpec::integer("min_length", min_default,
                         "shortest training prompt (lengths are drawn uniformly per prompt)", 1,
                         double(kMaxLength)),
      ParamSpec::integer("max_length", max_default,
                         "longest training prompt (>= min_length; evaluation lengths are separate)",
                         1, double(kMaxLength)),
  };
}

const TokenTask* as_token_task(const Task& task) { return dynamic_cast<const TokenTask*>(&task); }

}  // namespace icl

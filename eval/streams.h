#pragma once
// The named random streams of a run: every evaluation set, the bandit environments. `icl generate
// --stream SET` draws from the same stream as `icl run` evaluates SET on.
#include <string>

#include "core/rng.h"

namespace icl {

// Prompt stream of evaluation set `set` under `seed`.
inline RngKey eval_stream(uint64_t seed, const std::string& set) {
  return {seed, stream_id("eval/" + set)};
}
// The prompts `icl generate --stream SET` writes and `icl run` evaluates set SET on: a token task
// draws each length from its own sub-stream (eval/evaluate.h), a vector task every K from one.
inline RngKey generate_stream(uint64_t seed, const std::string& set, bool tokens, int64_t length) {
  const RngKey key = eval_stream(seed, set);
  return tokens ? key.sub("length" + std::to_string(length)) : key;
}
// Environments, reward noise and policy randomness of a bandit benchmark under `seed`.
inline RngKey bandit_stream(uint64_t seed) { return {seed, stream_id("bandit")}; }
// Training prompts under `seed`: prompt i of step s is prompt s·B + i.
inline RngKey train_stream(uint64_t seed) { return {seed, stream_id("train")}; }

}  // namespace icl

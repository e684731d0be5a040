#pragma once
// Runs a benchmark config: every evaluation set on its own prompt stream, every baseline on the
// same prompts, one results.h5.
#include <string>
#include <vector>

#include "eval/evaluate.h"
#include "io/atomic_output.h"
#include "io/config.h"

namespace icl {

// Prompt stream of evaluation set `set` under `seed`; `icl generate --stream` uses the same one.
RngKey eval_stream(uint64_t seed, const std::string& set);

// The config with every default filled in, as YAML text (stored in results.h5).
std::string resolved_config_yaml(const BenchmarkConfig& cfg);

struct BenchmarkResult {
  std::vector<EvalResult> evals;
  double seconds = 0.0;
};

// Evaluates and writes the results into `out`, then commits it (open the output before calling, so
// that a bad path fails before any work).
BenchmarkResult run_benchmark(const BenchmarkConfig& cfg, AtomicH5Output& out,
                              bool progress = true);

}  // namespace icl

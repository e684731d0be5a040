// Learning test (label `slow`): token prompts train a model end to end. A small transformer (3
// blocks, width 32) trained on parity_check strings of lengths 2–6 (mixed in every batch) answers
// parity in distribution: scaled accuracy >= 0.9 at every length 2..6 on fresh prompts. Parity is
// the hard case for a transformer (Grazzi et al. 2025 report 0.022 beyond the training lengths),
// so only in-distribution accuracy is asked for; the long lengths are printed for the record.
//
// Measured (lowest in-range accuracy, at length 6), by build level (README, "Reproducibility"):
//   x86-64-v2 1.000, x86-64-v3 1.000, x86-64-v4 and native AVX-512 (Zen 4) 1.000.
// The earlier 2 blocks × 1000 steps sat at the threshold: 0.758 (v2), 0.871 at length 5 (v3, as
// on the AVX2 machine where it failed), 0.973 (AVX-512). This recipe also reaches 1.000 at every
// length under seeds 1, 2, 4 and 5 on v2, where 2 blocks × 2000 steps fell to 0.59 under seed 2.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "eval/streams.h"
#include "run/run_benchmark.h"

namespace icl {
namespace {

TEST(SlowLearning, TransformerLearnsShortParity) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / fmt::format("icl_slow_parity_{}", ::getpid());
  fs::create_directories(dir);
  std::ofstream(dir / "parity.yaml") << "description: parity learning test\n"
                                        "seed: 0\n"
                                        "task: {name: parity_check, min_length: 2, max_length: 6}\n"
                                        "eval:\n"
                                        "  prompts: 512\n"
                                        "  bootstrap: 200\n"
                                        "  sets:\n"
                                        "    in_range: {lengths: [2, 3, 4, 5, 6]}\n"
                                        "    long: {lengths: [8, 12, 16]}\n"
                                        "model: {name: transformer, n_layer: 3, n_head: 4, "
                                        "n_embd: 32}\n"
                                        "train: {steps: 2000, batch_size: 64, lr: 3.0e-3, "
                                        "schedule: cosine, warmup: 100, min_lr_ratio: 0.05, "
                                        "eval_every: 2000, checkpoint_every: 2000}\n";
  const ResolvedRun cfg = load_run((dir / "parity.yaml").string());
  const auto t0 = std::chrono::steady_clock::now();
  AtomicH5Output file((dir / "parity.h5").string());
  RunOptions ro;
  ro.progress = false;
  ro.device = "cpu";
  const BenchmarkResult res = run_benchmark(cfg, file, ro);
  const double minutes =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / 60;
  fs::remove_all(dir);

  ASSERT_EQ(res.evals.size(), 2u);
  for (const EvalResult& e : res.evals) {
    std::string line;
    for (size_t j = 0; j < e.lengths.size(); ++j)
      line += fmt::format(" L={}: {:.3f}", e.lengths[j], e.curves.at(0).stats.mean[j]);
    fmt::print("parity_check {} scaled accuracy:{} ({:.1f} min)\n", e.name, line, minutes);
  }
  const EvalResult& in_range = res.evals[0];
  ASSERT_EQ(in_range.name, "in_range");
  for (size_t j = 0; j < in_range.lengths.size(); ++j)
    EXPECT_GE(in_range.curves.at(0).stats.mean[j], 0.9) << "length " << in_range.lengths[j];
}

}  // namespace
}  // namespace icl

// Times iclbench's least-squares all-prefix curve on prompts read from an `icl generate` file, and
// writes the predictions so bench/compare_least_squares.py can check them against numpy's.
//   bench_ls_curve PROMPTS.h5 PREDICTIONS.h5 [repeats]
// Prints "median_ms <x>".
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "baselines/baseline.h"
#include "io/atomic_output.h"
#include "io/h5.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: bench_ls_curve PROMPTS.h5 PREDICTIONS.h5 [repeats]\n");
    return 2;
  }
  try {
    const int repeats = argc > 3 ? std::max(1, std::atoi(argv[3])) : 5;
    const icl::h5::Handle f = icl::h5::open_file(argv[1]);
    std::vector<int64_t> dx, dy;
    icl::VectorPrompts v;
    v.xs = icl::h5::read<float>(f.id(), "xs", &dx);
    v.ys = icl::h5::read<float>(f.id(), "ys", &dy);
    v.batch = dx[0];
    v.n_examples = dx[1];
    v.dx = dx[2];
    v.dy = dy[2];
    const icl::PromptBatch pb(std::move(v));
    const auto ls = icl::make_baseline("least_squares", {});
    std::vector<float> pred;
    std::vector<double> ms;
    for (int r = 0; r < repeats; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      pred = ls->predict(pb);
      ms.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    icl::AtomicH5Output out(argv[2]);
    icl::h5::write(out.root(), "pred", pred.data(), {pb.batch(), pb.n_examples()});
    out.commit();
    std::printf("median_ms %.4f\n", ms[ms.size() / 2]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_ls_curve: %s\n", e.what());
    return 1;
  }
  return 0;
}

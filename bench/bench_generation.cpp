// Prompt-generation throughput of every registered task (or the ones named), at each task's
// default parameters: B prompts per call, K examples each, median of `repeats` calls after one
// warm-up. bench/compare_generation.py runs it next to numpy generators.
//   bench_generation [--prompts B] [--repeats R] [TASK[:K] ...]
// Prints one line per task: "<task> K=<K> B=<B> threads=<T> median_ms=<t> prompts_per_s=<r>
// cpu_ms=<t> cpu_prompts_per_s=<r>" (median wall-clock and median CPU time of a call, the CPU time
// summed over threads), T being the OpenMP threads sample() may use (set OMP_NUM_THREADS=1 for
// single-thread figures; bench/compare_generation.py reports both). K defaults to the family's
// published prompt length where it has one (Boolean 40, Fourier 43, the rest Garg's 41), lowered
// until the task accepts it.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/error.h"
#include "tasks/task.h"

namespace {

int64_t default_k(const icl::TaskInfo& info, const icl::Task& task) {
  int64_t k = 41;
  if (task.metric() == icl::Metric::Accuracy) k = 40;
  if (info.name.find("fourier") != std::string::npos) k = 43;
  for (; k > 1; --k) {
    try {
      task.check_examples(k);
      return k;
    } catch (const icl::Error&) {
    }
  }
  return 1;
}

float first_value(const icl::PromptBatch& pb) {
  if (const auto* t = pb.get<icl::TokenPrompts>())
    return t->tokens.empty() ? 0.f : float(t->tokens[0]);
  if (const auto* v = pb.get<icl::VectorPrompts>()) return v->ys.empty() ? 0.f : v->ys[0];
  const auto& h = pb.as<icl::HistoryPrompts>("bench_generation");
  return h.ys.empty() ? 0.f : h.ys[0];
}

// CPU time of the process (all threads), in ms: on a machine shared with other work it leaves out
// the time the core was given to someone else.
double cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) * 1e3 + double(t.tv_nsec) * 1e-6;
}

int threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

}  // namespace

int main(int argc, char** argv) {
  int64_t B = 1280;
  int repeats = 5;
  std::vector<std::pair<std::string, int64_t>> wanted;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--prompts") && i + 1 < argc) {
      B = std::max<int64_t>(1, std::atoll(argv[++i]));
    } else if (!std::strcmp(argv[i], "--repeats") && i + 1 < argc) {
      repeats = std::max(1, std::atoi(argv[++i]));
    } else if (argv[i][0] == '-') {
      std::fprintf(stderr, "usage: bench_generation [--prompts B] [--repeats R] [TASK[:K] ...]\n");
      return 2;
    } else {
      const std::string a = argv[i];
      const auto colon = a.find(':');
      wanted.emplace_back(a.substr(0, colon),
                          colon == std::string::npos ? 0 : std::atoll(a.c_str() + colon + 1));
    }
  }
  try {
    if (wanted.empty())
      for (const auto& info : icl::task_registry()) wanted.emplace_back(info.name, 0);
    for (const auto& [name, k_arg] : wanted) {
      const icl::TaskInfo& info = icl::find_task(name);
      const auto task = icl::make_task(name, {});
      const int64_t K = k_arg > 0 ? k_arg : default_k(info, *task);
      const icl::RngKey key{0, icl::stream_id("bench/generation")};
      // Warm-up (fixed draws, pages); the sink keeps the compiler from dropping unused prompts.
      volatile float sink = first_value(task->sample(key, 0, B, K));
      std::vector<double> ms, cpu;
      for (int r = 0; r < repeats; ++r) {
        const double c0 = cpu_ms();
        const auto t0 = std::chrono::steady_clock::now();
        const icl::PromptBatch pb = task->sample(key, int64_t(r + 1) * B, B, K);
        ms.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                .count());
        cpu.push_back(cpu_ms() - c0);
        sink = sink + first_value(pb);
      }
      std::sort(ms.begin(), ms.end());
      std::sort(cpu.begin(), cpu.end());
      const double med = ms[ms.size() / 2], med_cpu = cpu[cpu.size() / 2];
      std::printf(
          "%s K=%lld B=%lld threads=%d median_ms=%.4f prompts_per_s=%.1f cpu_ms=%.4f "
          "cpu_prompts_per_s=%.1f\n",
          name.c_str(), static_cast<long long>(K), static_cast<long long>(B), threads(), med,
          double(B) / med * 1e3, med_cpu, double(B) / med_cpu * 1e3);
      std::fflush(stdout);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_generation: %s\n", e.what());
    return 1;
  }
  return 0;
}

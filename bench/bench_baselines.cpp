// Google Benchmark: (a) the least-squares all-prefix curve for 1280 prompts, d = 20, K = 40 (the
// baseline of Garg et al. Fig. 2), and the other baselines at the same size; (b) prompt generation.
#include <benchmark/benchmark.h>

#include "baselines/baseline.h"
#include "tasks/task.h"

namespace {

icl::PromptBatch garg_prompts(int64_t prompts) {
  const auto task = icl::make_task("linear_regression", {{"d", "20"}});
  return task->sample({0, icl::stream_id("bench")}, 0, prompts, 40);
}

void BM_BaselineCurve(benchmark::State& state, const std::string& name,
                      std::map<std::string, std::string> params) {
  const icl::PromptBatch pb = garg_prompts(1280);
  const auto b = icl::make_baseline(name, params);
  for (auto _ : state) benchmark::DoNotOptimize(b->predict(pb));
  state.SetItemsProcessed(state.iterations() * pb.batch());
  state.SetLabel("1280 prompts, d=20, K=40; items = prompts");
}
BENCHMARK_CAPTURE(BM_BaselineCurve, least_squares, std::string("least_squares"), {})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_BaselineCurve, ridge, std::string("ridge"), {})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_BaselineCurve, averaging, std::string("averaging"), {})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_BaselineCurve, knn3, std::string("knn"), {})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_BaselineCurve, gradient_descent, std::string("gradient_descent"), {})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_BaselineCurve, optimal_one_step_gd, std::string("optimal_one_step_gd"), {})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_BaselineCurve, lasso_0_01, std::string("lasso"), {{"alpha", "0.01"}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_Generate(benchmark::State& state, const std::string& task_name,
                 std::map<std::string, std::string> params) {
  const auto task = icl::make_task(task_name, params);
  const int64_t prompts = state.range(0);
  for (auto _ : state)
    benchmark::DoNotOptimize(task->sample({0, icl::stream_id("bench")}, 0, prompts, 40));
  state.SetItemsProcessed(state.iterations() * prompts);
  state.SetLabel("d=20, K=40; items = prompts");
}
BENCHMARK_CAPTURE(BM_Generate, linear_regression, std::string("linear_regression"), {})
    ->Arg(64)
    ->Arg(1280)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Generate, skewed, std::string("linear_regression"), {{"x_cov", "skewed"}})
    ->Arg(1280)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Generate, orthogonal_queries, std::string("linear_regression"),
                  {{"query", "orthogonal"}, {"d", "40"}})
    ->Arg(1280)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();

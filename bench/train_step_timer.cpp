// Times full training steps of a model through Trainer::step, the code path `icl run` trains
// with: prompts sampled from the task, forward, mse loss, backward, gradient clipping at 1.0,
// AdamW. The benchmark is configs/quickstart.yaml with the model shape, d, K and batch overridden
// and the curriculum fixed at (d, K), so every step has the same shape (2K tokens). The model is
// the transformer, or with mixer=NAME the recurrent stack with that mixer (bench/mixer_steps.py
// sweeps the mixers over the sequence length this way, on the CPU or the GPU).
//
//   bench_train_step [n_layer=3] [n_head=2] [n_embd=64] [d=5] [K=15] [B=64] [steps=20] [warmup=3]
//                    [device=cpu|cuda] [precision=tf32|fp32] [mixer=NAME]
//
// Prints "threads N", "parameters P", "device D", then "median_ms X" (per step, over the timed
// steps). On the GPU a step is the captured graph's replay plus sampling the next prompts, which
// overlaps it, as in `icl run`.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/device.h"
#include "core/error.h"
#include "models/model.h"
#include "run/resolved_run.h"
#include "run/training.h"
#include "train/trainer.h"

int main(int argc, char** argv) {
  std::map<std::string, int64_t> a{{"n_layer", 3}, {"n_head", 2}, {"n_embd", 64}, {"d", 5},
                                   {"K", 15},      {"B", 64},     {"steps", 20},  {"warmup", 3}};
  std::string device = "cpu", precision = "tf32", mixer;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string arg = argv[i];
      if (arg == "--help" || arg == "-h") {
        std::printf(
            "usage: bench_train_step [n_layer=3] [n_head=2] [n_embd=64] [d=5] [K=15] [B=64] "
            "[steps=20] [warmup=3] [device=cpu|cuda] [precision=tf32|fp32] [mixer=NAME]\n");
        return 0;
      }
      const auto eq = arg.find('=');
      const std::string k = arg.substr(0, eq);
      if (eq != std::string::npos && (k == "device" || k == "precision" || k == "mixer")) {
        (k == "device" ? device : k == "precision" ? precision : mixer) = arg.substr(eq + 1);
        continue;
      }
      if (eq == std::string::npos || a.count(k) == 0)
        icl::fail(
            "argument '{}': expected one of n_layer=, n_head=, n_embd=, d=, K=, B=, steps=, "
            "warmup=, device=, precision=, mixer=",
            arg);
      char* end = nullptr;
      const long long v = std::strtoll(arg.c_str() + eq + 1, &end, 10);
      if (*end != '\0' || end == arg.c_str() + eq + 1 || v < (k == "warmup" ? 0 : 1))
        icl::fail("argument '{}': expected a positive integer", arg);
      a[k] = v;
    }
    const int64_t d = a["d"], K = a["K"];
    std::vector<std::string> overrides = {
        fmt::format("model.n_layer={}", a["n_layer"]),
        fmt::format("model.n_head={}", a["n_head"]),
        fmt::format("model.n_embd={}", a["n_embd"]),
        fmt::format("task.d={}", d),
        fmt::format("eval.examples={}", K),
        fmt::format("train.batch_size={}", a["B"]),
        fmt::format("train.curriculum.dims={{start: {0}, end: {0}}}", d),
        fmt::format("train.curriculum.points={{start: {0}, end: {0}}}", K),
        fmt::format("train.steps={}", a["steps"] + a["warmup"]),
        "train.grad_clip=1.0",
        fmt::format("train.precision={}", precision)};
    if (!mixer.empty()) {
      overrides.push_back("model.name=recurrent");
      overrides.push_back("model.mixer=" + mixer);
    }
    const icl::ResolvedRun cfg = icl::load_run("quickstart", overrides);
    const auto gpu = icl::open_device(device, precision == "tf32");
    auto model = cfg.build_model();
    model->init(cfg.seed);
    if (gpu) model->parameters().to_device(*gpu);
    icl::CurriculumPrompts prompts(*cfg.task, cfg.train, icl::training_stream(cfg));
    icl::Trainer trainer(cfg.train, *model, prompts, icl::train_eval(cfg, *model));
    std::vector<double> ms;
    const int64_t total = a["warmup"] + a["steps"];
    for (int64_t s = 0; s < total; ++s) {
      const auto t0 = std::chrono::steady_clock::now();
      trainer.step(s);
      const double dt =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      if (s >= a["warmup"]) ms.push_back(dt);
    }
    std::sort(ms.begin(), ms.end());
    std::printf("threads %d\nparameters %lld\ndevice %s\nmedian_ms %.4f\n", omp_get_max_threads(),
                static_cast<long long>(model->parameters().count()),
                gpu ? gpu->name().c_str() : "cpu", ms[ms.size() / 2]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_train_step: %s\n", e.what());
    return 1;
  }
  return 0;
}

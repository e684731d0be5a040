// What the op harness (tests/op_harness.h) cannot express about the mixers on the GPU: a whole
// recurrent model per mixer against the CPU. The CUDA twins of the ops the mixers are built from
// (gating, smooth_activations, per_head, long_conv, mlstm, lstm, gru) are cases of the harness in
// tests/test_op_mixer_gates.cpp, test_op_long_conv.cpp, test_op_mlstm.cpp and
// test_op_rnn_cells.cpp.
#ifdef ICL_WITH_CUDA

#include <map>
#include <string>

#include "core/device.h"
#include "models/model.h"
#include "models/model_predictor.h"
#include "tasks/task.h"
#include "tests/cuda_harness.h"
#include "tests/mixer_cases.h"

namespace icl {
namespace {

using test::expect_close;

// --- whole models --------------------------------------------------------------------------------

// Every mixer with CUDA kernels for all its ops: a 2-layer recurrent model's predictions on the
// GPU against the CPU, same initial parameters, on the same linear-regression prompts (22 tokens:
// not a multiple of the chunk). Training on the GPU is checked end to end by gpu_check.sh's runs.
TEST(CudaMixerOps, RecurrentModelsMatchCpu) {
  ICL_REQUIRE_GPU();
  auto gpu = open_device("cuda", false);
  const auto task = make_task("linear_regression", {{"d", "3"}});
  const PromptBatch pb = task->sample({5, 1}, 0, 3, 11);
  for (const auto& mixer : test::kMixerCases) {
    std::map<std::string, std::string> p = {
        {"n_layer", "2"}, {"n_embd", "16"}, {"n_head", "2"}, {"chunk", "8"}};
    std::string tag;
    for (const auto& [k, v] : mixer) p[k] = v, tag += k + "=" + v + " ";
    auto on_cpu = make_model("recurrent", p, ModelIO{3, 1, 11});
    auto on_gpu = make_model("recurrent", p, ModelIO{3, 1, 11});
    on_cpu->init(3);
    on_gpu->init(3);
    on_gpu->parameters().to_device(*gpu);
    const auto a = ModelPredictor(*on_cpu, "m").predict(pb);
    const auto b = ModelPredictor(*on_gpu, "m").predict(pb);
    expect_close(b, a, 1e-4, tag + "predictions");
  }
}

}  // namespace
}  // namespace icl

#endif  // ICL_WITH_CUDA

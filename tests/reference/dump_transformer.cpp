// Dumps one training step of the transformer for the PyTorch oracle (torch_transformer.py):
//
//   dump_transformer OUT.h5 [key=value ...]
//
// Keys d, K, B, max_examples (default K), seed and perturb are ours; every other key is a
// transformer parameter (n_layer, n_head, n_embd, mlp_ratio, pos, norm, placement, mix_alpha,
// ln_scaling, attention), validated by the model registry. The model is built for max_examples
// examples of linear regression in dimension d (so the positional table has 2·max_examples rows)
// and run on prompts of K examples, initialised with init(seed); with perturb = σ > 0, N(0, σ²)
// noise is then added to every parameter (so zero biases and unit gains are not special cases of
// the check). One batch of B prompts is sampled, and forward, mse_loss and backward run exactly as
// in Trainer::step.
//
// OUT.h5:
//   /config        attrs: every resolved model parameter (as text), d, K, B, max_examples, seed,
//                  perturb
//   /xs [B,K,d]  /ys [B,K,1]  /pred [B,K,1]  /loss [1]
//   /params/<name>, /grads/<name>   every parameter, shaped as the Parameter
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "io/atomic_output.h"
#include "io/h5.h"
#include "kernels/loss.h"
#include "models/model.h"
#include "tasks/task.h"
#include "tests/reference/dump_common.h"

using icl::oracle::dims_of;
using icl::oracle::to_int;
using icl::oracle::to_real;

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    std::fprintf(
        stderr,
        "usage: dump_transformer OUT.h5 [d=5] [K=7] [B=4] [max_examples=K] [seed=0] [perturb=0] "
        "[model_param=value ...]\n");
    return argc < 2 ? 2 : 0;
  }
  try {
    int64_t d = 5, K = 7, B = 4, seed = 0, max_examples = 0;
    double perturb = 0.0;
    std::map<std::string, std::string> model_raw;
    for (int i = 2; i < argc; ++i) {
      const std::string a = argv[i];
      const auto eq = a.find('=');
      if (eq == std::string::npos || eq == 0) icl::fail("argument '{}': expected key=value", a);
      const std::string k = a.substr(0, eq), v = a.substr(eq + 1);
      if (k == "d")
        d = to_int(k, v, 1);
      else if (k == "K")
        K = to_int(k, v, 1);
      else if (k == "B")
        B = to_int(k, v, 1);
      else if (k == "max_examples")
        max_examples = to_int(k, v, 1);
      else if (k == "seed")
        seed = to_int(k, v, 0);
      else if (k == "perturb")
        perturb = to_real(k, v);
      else
        model_raw[k] = v;
    }

    if (max_examples == 0) max_examples = K;
    if (max_examples < K) icl::fail("max_examples: must be >= K = {}, got {}", K, max_examples);
    const auto task = icl::make_task("linear_regression", {{"d", std::to_string(d)}});
    const icl::PromptBatch prompts =
        task->sample(icl::RngKey{uint64_t(seed), icl::stream_id("torch_oracle")}, 0, B, K);
    const icl::VectorPrompts& pb = prompts.as<icl::VectorPrompts>("dump_transformer");
    auto model =
        icl::make_model("transformer", model_raw, icl::ModelIO{pb.dx, pb.dy, max_examples});
    model->init(uint64_t(seed));
    icl::oracle::perturb(*model, uint64_t(seed), perturb);

    icl::Arena arena;
    icl::Graph g(arena, true);
    const icl::Var pred = model->forward(g, prompts);
    const icl::Tensor target{
        const_cast<float*>(pb.ys.data()), {B * K * pb.dy}, icl::DType::F32, icl::Device::CPU};
    const icl::Var loss = icl::ops::mse_loss(g, pred, target, {});
    model->parameters().zero_grad();
    g.backward(loss);

    icl::AtomicH5Output out(argv[1]);
    const hid_t root = out.root();
    {
      const icl::h5::Handle cfg = icl::h5::create_group(root, "config");
      for (const auto& [name, value] : model->params().values())
        icl::h5::attr(cfg.id(), name, icl::to_string(value));
      icl::h5::attr(cfg.id(), "d", d);
      icl::h5::attr(cfg.id(), "K", K);
      icl::h5::attr(cfg.id(), "B", B);
      icl::h5::attr(cfg.id(), "max_examples", max_examples);
      icl::h5::attr(cfg.id(), "seed", seed);
      icl::h5::attr(cfg.id(), "perturb", perturb);
    }
    icl::h5::write(root, "xs", pb.xs.data(), {B, K, pb.dx});
    icl::h5::write(root, "ys", pb.ys.data(), {B, K, pb.dy});
    icl::h5::write(root, "pred", pred.f(), dims_of(pred.shape()));
    icl::h5::write(root, "loss", loss.f(), {1});
    icl::oracle::write_params_and_grads(root, *model);
    out.commit();
    std::printf("%s: %zu parameters, loss %.6g\n", argv[1], model->parameters().all().size(),
                double(loss.f()[0]));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dump_transformer: %s\n", e.what());
    return 1;
  }
  return 0;
}

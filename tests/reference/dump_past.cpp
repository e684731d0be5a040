// Dumps one training step of the past model (models/past.cpp) for the PyTorch oracle
// (torch_past.py):
//
//   dump_past OUT.h5 [n=3] [B=4] [seed=0] [perturb=0] [model_param=value ...]
//
// B maze prompts on n×n grids are sampled from the maze task with objective mlm_u (max_n = n + 1,
// so the vocabulary has cells no prompt uses), the model is built for them, initialised with
// init(seed) and, with perturb = σ > 0, every parameter gets N(0, σ²) noise (so zero biases and
// unit gains are not special cases). Forward, the training loss and backward run as in the
// trainer's step.
//
// OUT.h5:
//   /config        attrs: every resolved model parameter (as text), n, B, seed, perturb, vocab,
//                  and hidden (the hidden token ids, as text "a,b")
//   /tokens [B,T] (int32)  /loss_mask [B,T] (float)  /targets [B,T] (int32)
//   /logits [B,T,V]  /loss [1]
//   /params/<name>, /grads/<name>   every parameter, shaped as the Parameter
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"
#include "core/rng.h"
#include "io/atomic_output.h"
#include "io/h5.h"
#include "models/model.h"
#include "tasks/task.h"
#include "tasks/token_task.h"
#include "tests/reference/dump_common.h"
#include "train/batch_loss.h"

using icl::oracle::dims_of;
using icl::oracle::to_int;
using icl::oracle::to_real;

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    std::fprintf(stderr,
                 "usage: dump_past OUT.h5 [n=3] [B=4] [seed=0] [perturb=0] "
                 "[model_param=value ...]\n");
    return argc < 2 ? 2 : 0;
  }
  try {
    int64_t n = 3, B = 4, seed = 0;
    double perturb = 0.0;
    std::map<std::string, std::string> model_raw;
    for (int i = 2; i < argc; ++i) {
      const std::string a = argv[i];
      const auto eq = a.find('=');
      if (eq == std::string::npos || eq == 0) icl::fail("argument '{}': expected key=value", a);
      const std::string k = a.substr(0, eq), v = a.substr(eq + 1);
      if (k == "n")
        n = to_int(k, v, 2);
      else if (k == "B")
        B = to_int(k, v, 1);
      else if (k == "seed")
        seed = to_int(k, v, 0);
      else if (k == "perturb")
        perturb = to_real(k, v);
      else
        model_raw[k] = v;
    }
    const auto task = icl::make_task("maze", {{"min_length", std::to_string(n)},
                                              {"max_length", std::to_string(n)},
                                              {"max_n", std::to_string(n + 1)},
                                              {"objective", "mlm_u"}});
    const icl::TokenTask& tt = *icl::as_token_task(*task);
    const icl::PromptBatch prompts =
        task->sample(icl::RngKey{uint64_t(seed), icl::stream_id("torch_oracle")}, 0, B, n);
    const icl::TokenPrompts& pb = prompts.as<icl::TokenPrompts>("dump_past");
    const icl::ModelIO io{0, 1, n, tt.vocab(), tt.seq_len(n), tt.hidden_tokens()};
    auto model = icl::make_model("past", model_raw, io);
    model->init(uint64_t(seed));
    icl::oracle::perturb(*model, uint64_t(seed), perturb);

    icl::Arena arena;
    icl::Graph g(arena, true);
    const icl::Var logits = model->forward(g, prompts);
    std::vector<float> mask;
    const icl::Var loss = icl::batch_loss(g, logits, prompts, mask);
    model->parameters().zero_grad();
    g.backward(loss);

    const int64_t T = pb.seq_len;
    std::vector<float> loss_mask(pb.loss_mask.begin(), pb.loss_mask.end());
    icl::AtomicH5Output out(argv[1]);
    const hid_t root = out.root();
    {
      const icl::h5::Handle cfg = icl::h5::create_group(root, "config");
      for (const auto& [name, value] : model->params().values())
        icl::h5::attr(cfg.id(), name, icl::to_string(value));
      icl::h5::attr(cfg.id(), "n", n);
      icl::h5::attr(cfg.id(), "B", B);
      icl::h5::attr(cfg.id(), "seed", seed);
      icl::h5::attr(cfg.id(), "perturb", perturb);
      icl::h5::attr(cfg.id(), "vocab", tt.vocab());
      icl::h5::attr(cfg.id(), "hidden", fmt::format("{}", fmt::join(tt.hidden_tokens(), ",")));
    }
    icl::h5::write(root, "tokens", pb.tokens.data(), {B, T});
    icl::h5::write(root, "targets", pb.targets.data(), {B, T});
    icl::h5::write(root, "loss_mask", loss_mask.data(), {B, T});
    icl::h5::write(root, "logits", logits.f(), dims_of(logits.shape()));
    icl::h5::write(root, "loss", loss.f(), {1});
    icl::oracle::write_params_and_grads(root, *model);
    out.commit();
    std::printf("%s: %zu parameters, loss %.6g\n", argv[1], model->parameters().all().size(),
                double(loss.f()[0]));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dump_past: %s\n", e.what());
    return 1;
  }
  return 0;
}

#pragma once
// The tiny training configuration and file helpers shared by the CPU and GPU training tests.
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "eval/streams.h"
#include "io/h5.h"
#include "run/run_benchmark.h"

namespace icl::test {

namespace fs = std::filesystem;

inline const std::vector<std::string> kTiny = {"task.d=3",
                                               "eval.prompts=32",
                                               "eval.examples=6",
                                               "eval.bootstrap=20",
                                               "model.n_layer=2",
                                               "model.n_embd=8",
                                               "model.n_head=2",
                                               "train.steps=12",
                                               "train.batch_size=4",
                                               "train.eval_every=5",
                                               "train.eval_prompts=8",
                                               "train.checkpoint_every=4",
                                               "train.warmup=2",
                                               "train.curriculum.dims.start=2",
                                               "train.curriculum.dims.end=3",
                                               "train.curriculum.dims.every=5",
                                               "train.curriculum.points.start=4",
                                               "train.curriculum.points.end=6",
                                               "train.curriculum.points.every=5"};

struct Dir {
  fs::path p;
  explicit Dir(const std::string& name)
      : p(fs::temp_directory_path() / fmt::format("icl_train_{}_{}", name, ::getpid())) {
    fs::remove_all(p);
    fs::create_directories(p);
  }
  ~Dir() { fs::remove_all(p); }
  std::string operator/(const std::string& f) const { return (p / f).string(); }
};

inline BenchmarkResult run(const std::vector<std::string>& extra, const std::string& out,
                           const std::string& resume = "", int64_t until = 0,
                           const std::string& device = "cpu") {
  std::vector<std::string> o = kTiny;
  o.insert(o.end(), extra.begin(), extra.end());
  const ResolvedRun cfg = load_run("quickstart", o);
  AtomicH5Output file(out);
  RunOptions ro;
  ro.progress = false;
  ro.resume = resume;
  ro.until = until;
  ro.device = device;
  return run_benchmark(cfg, file, ro);
}

inline std::vector<double> losses(const std::string& path) {
  const h5::Handle f = h5::open_file(path);
  return h5::read<double>(f.id(), "train/loss");
}

inline std::vector<float> params(const std::string& path, const std::string& group) {
  const h5::Handle f = h5::open_file(path);
  const h5::Handle g = h5::open_group(f.id(), "checkpoint/" + group);
  std::vector<float> all;
  for (const char* n : {"read_in.w", "blocks.1.attn.w_qkv", "blocks.0.mlp.w_out", "read_out.w"}) {
    const auto v = h5::read<float>(g.id(), n);
    all.insert(all.end(), v.begin(), v.end());
  }
  return all;
}

}  // namespace icl::test

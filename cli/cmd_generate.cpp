#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "core/error.h"
#include "eval/generate.h"
#include "eval/results.h"
#include "io/atomic_output.h"
#include "run/resolved_run.h"
#include "tasks/task.h"

namespace icl::cli {

namespace {
// What the task writes beside its prompts (Task::exports: the maze task's raw mazes).
void write_exports(hid_t root, const TaskExports& ex) {
  for (const auto& a : ex.arrays) {
    const size_t slash = a.path.rfind('/');
    h5::Handle group;
    hid_t at = root;
    if (slash != std::string::npos) {
      const std::string g = a.path.substr(0, slash);
      group = h5::exists(root, g) ? h5::open_group(root, g) : h5::create_group(root, g);
      at = group.id();
    }
    const std::string name = a.path.substr(slash == std::string::npos ? 0 : slash + 1);
    if (!a.u8.empty() || a.i32.empty())
      h5::write(at, name, a.u8.data(), a.dims);
    else
      h5::write(at, name, a.i32.data(), a.dims);
  }
  for (const auto& [where, value] : ex.group_attrs) {
    const size_t at = where.find('@');
    const h5::Handle g = h5::open_group(root, where.substr(0, at));
    h5::attr(g.id(), where.substr(at + 1), value);
  }
}
}  // namespace

int cmd_generate(const Args& args) {
  po::options_description opts("options");
  std::string task_name, out, stream;
  std::vector<std::string> sets;
  int64_t prompts = 0, examples = 0;
  std::string seed_text;
  opts.add_options()("task", po::value(&task_name)->required(), "task name (see icl list)")(
      "set", po::value(&sets)->composing(), "task parameter: --set d=10 (repeatable)")(
      "prompts,n", po::value(&prompts)->required(), "number of prompts")(
      "examples,k", po::value(&examples)->default_value(40), "examples per prompt (K)")(
      "seed", po::value(&seed_text)->default_value("0"), "seed (0 .. 1e18, as icl run's)")(
      "stream", po::value(&stream)->default_value("standard"),
      "evaluation set whose prompt stream to draw from (the prompts icl run evaluates on)")(
      "out,o", po::value(&out)->required(), "output HDF5 file");
  po::positional_options_description pos;
  pos.add("task", 1);
  add_threads_option(opts);
  po::variables_map vm;
  if (!parse("generate", "<task> [--set key=value]... --prompts N [--examples K] --out FILE.h5",
             "Samples prompts and writes them for use from other frameworks: /xs [N,K,dx], /ys "
             "[N,K,dy], /truth [N,t] (each prompt's function, e.g. w), /xq and /yq when queries "
             "differ from the context points, /x_cov when the task knows the input covariance, "
             "/loss_mask [N,K] when some examples are not trained on. Token tasks: prompts of "
             "length K as /tokens, /targets and /loss_mask [N,T]. A task may add arrays of its "
             "own beside them (docs/TASKS.md lists each task's).",
             opts, pos, args, vm))
    return 0;
  apply_threads(vm);
  // The range icl run's seed has (run/resolved_run.cpp); Boost alone would wrap "-1" to 2^64 - 1.
  uint64_t seed = 0;
  {
    const char* end = seed_text.data() + seed_text.size();
    const auto [ptr, ec] = std::from_chars(seed_text.data(), end, seed);
    if (ec != std::errc() || ptr != end || seed > uint64_t(1e18))
      fail("--seed: must be an integer from 0 to 1e18, got '{}'", seed_text);
  }
  if (out.empty()) fail("--out: must name a file, got ''");
  if (prompts < 1) fail("--prompts: must be >= 1, got {}", prompts);
  if (examples < 1) fail("--examples: must be >= 1, got {}", examples);
  const RawParams raw = parse_assignments(sets);
  const auto task = resolve_task(task_name, raw, task_name);
  AtomicH5Output file(out);
  const PromptBatch batch =
      generate_prompts(*task, seed, stream, 0, prompts, examples, "--stream",
                       fmt::format("--prompts {} x --examples {}", prompts, examples));
  RunInfo info;
  info.seed = seed;
  info.config = fmt::format("generate: {{task: {}, prompts: {}, examples: {}, stream: {}}}",
                            task_name, prompts, examples, stream);
  write_run_attrs(file.root(), info);
  const hid_t root = file.root();
  h5::attr(root, "task", task_name);
  h5::attr(root, "stream", stream);
  h5::attr(root, "loss", std::string(to_string(batch.loss())));
  h5::attr(root, "metric", std::string(to_string(task->metric())));
  h5::attr(root, "normalisation", task->normalisation());
  {
    const h5::Handle g = h5::create_group(root, "task_params");
    write_params(g.id(), task->params());
  }
  const int64_t N = batch.batch(), K = batch.n_examples();
  if (const auto* t = batch.get<TokenPrompts>()) {
    h5::write(root, "tokens", t->tokens.data(), {N, t->seq_len});
    h5::write(root, "targets", t->targets.data(), {N, t->seq_len});
    h5::write(root, "loss_mask", t->loss_mask.data(), {N, t->seq_len});
    write_exports(root, task->exports(batch));
    file.commit();
    fmt::print("wrote {} prompts of {} (length {}, {} tokens each) to {}\n", N, task_name, K,
               t->seq_len, out);
    return 0;
  }
  const PromptCommon& c = batch.common();
  if (const auto* h = batch.get<HistoryPrompts>()) {
    // The class ids are the one-hot ys' positions, so ys carries the targets.
    h5::write(root, "xs", h->xs.data(), {N, K, h->dx});
    h5::write(root, "ys", h->ys.data(), {N, K, h->dy});
  } else {
    const VectorPrompts& pb = batch.as<VectorPrompts>("generate");
    h5::write(root, "xs", pb.xs.data(), {N, K, pb.dx});
    h5::write(root, "ys", pb.ys.data(), {N, K, pb.dy});
    if (pb.has_queries()) {
      h5::write(root, "xq", pb.xq.data(), {N, K, pb.dx});
      h5::write(root, "yq", pb.yq.data(), {N, K, pb.dy});
    }
  }
  if (c.truth_dim) h5::write(root, "truth", c.truth.data(), {N, c.truth_dim});
  if (const auto* pb = batch.get<VectorPrompts>()) {
    if (!pb->x_cov.empty()) h5::write(root, "x_cov", pb->x_cov.data(), {pb->dx, pb->dx});
    if (!pb->loss_mask.empty()) h5::write(root, "loss_mask", pb->loss_mask.data(), {N, K});
  }
  file.commit();
  fmt::print("wrote {} prompts of {} ({} examples each) to {}\n", N, task_name, K, out);
  return 0;
}

}  // namespace icl::cli

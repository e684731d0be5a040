// Task mixtures (issue 5 item 6; Panwar et al. 2024 train on mixtures of function classes,
// docs/TASKS.md §4.3): each prompt's function class is drawn from a weighted set of registered
// tasks.
//
//   mixture  component1..4 name registered tasks ("none" leaves a slot empty), weight1..4 their
//            relative weights (> 0 for a used slot); `d` is passed to every component that has a
//            `d` parameter, the components' other parameters keep their defaults.
//
// Prompt i draws its class from its own stream, Rng(key, i), and then is exactly prompt i of that
// component's stream key.sub("mixture").sub("component<slot>"): the same whatever the batch size,
// and a component's prompts can be reproduced by sampling the component alone. Every component
// must produce the same dx, dy, loss and metric (a model reads one prompt format); otherwise
// construction fails naming the components.
//
// truth is [component slot (1-based), the component's truth padded with zeros]. The metric's
// normalisation is the weighted mean of the components' (each is its zero predictor's error, so
// the mixture's is too). Choosing a component's name needs the tasks registered before this one,
// so register_mixture runs last in tasks/registry.cpp.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "core/parallel.h"
#include "tasks/param_limits.h"
#include "tasks/task.h"

namespace icl {
namespace {

constexpr int kSlots = 4;

struct Component {
  int slot = 0;  // 1-based, names the sub-stream and the parameters
  std::string name;
  double weight = 0;
  std::unique_ptr<Task> task;
  RngKey key(const RngKey& k) const {
    return k.sub("mixture").sub(fmt::format("component{}", slot));
  }
};

class Mixture final : public Task {
 public:
  Mixture(const std::string& name, const ParamSet& p) : Task(name, p) {
    for (int s = 1; s <= kSlots; ++s) {
      const std::string cname = p.s(fmt::format("component{}", s));
      const double w = p.r(fmt::format("weight{}", s));
      if (cname == "none") continue;
      if (!(w > 0.0) || !std::isfinite(w))
        fail("{}.weight{}: must be > 0 for the used slot component{} = {}, got {}", name, s, s,
             cname, w);
      if (cname == name) fail("{}.component{}: a mixture cannot contain itself", name, s);
      // The component with its defaults and the mixture's d: built from resolved values, as the
      // run layer builds tasks, with the component's own checks across its parameters.
      const TaskInfo& info = find_task(cname);
      ParamSet cp = resolve_params(info.params, {}, fmt::format("{}.component{}", name, s));
      if (cp.has("d")) cp.set("d", p.i("d"));
      Component c;
      c.slot = s;
      c.name = cname;
      c.weight = w;
      c.task = info.make(cname, cp);
      components_.push_back(std::move(c));
    }
    if (components_.empty())
      fail("{}: component1..{}: at least one must name a task", name, kSlots);
    double total = 0;
    for (const auto& c : components_) total += c.weight;
    double acc = 0;
    for (const auto& c : components_) {
      acc += c.weight / total;
      cumulative_.push_back(acc);
      normalisation_ += c.weight / total * c.task->normalisation();
    }
    cumulative_.back() = 1.0;
    check_formats();
  }

  Metric metric() const override { return components_.front().task->metric(); }
  double normalisation() const override { return normalisation_; }

  void check_examples(int64_t k) const override {
    Task::check_examples(k);
    for (const auto& c : components_) c.task->check_examples(k);
  }

  PromptBatch sample(const RngKey& key, int64_t first, int64_t batch, int64_t K) const override {
    check_examples(K);
    std::vector<PromptBatch> parts(static_cast<size_t>(batch));
    std::vector<int> which(static_cast<size_t>(batch));
    parallel_for(batch, [&](int64_t b) {
      Rng rng(key, uint64_t(first + b));
      const double u = rng.uniform();
      const size_t c =
          size_t(std::upper_bound(cumulative_.begin(), cumulative_.end(), u) - cumulative_.begin());
      const Component& comp = components_[std::min(c, components_.size() - 1)];
      which[size_t(b)] = comp.slot;
      parts[size_t(b)] = comp.task->sample(comp.key(key), first + b, 1, K);
    });
    return assemble(parts, which, K);
  }

 private:
  // Format of each component's prompts, from one sampled prompt; tasks that refuse K = 1 are
  // checked on the first real batch instead (assemble).
  void check_formats() const {
    const Component* ref = nullptr;
    VectorPrompts ref_pb;
    for (const auto& c : components_) {
      PromptBatch pb;
      try {
        pb = c.task->sample(RngKey{0, 0}, 0, 1, 1);
      } catch (const Error&) {
        continue;
      }
      const VectorPrompts* v = pb.get<VectorPrompts>();
      if (!v)
        fail("{}.component{}: {} has {} prompts; a mixture needs vector prompts", name(), c.slot,
             c.name, to_string(pb.kind()));
      if (!ref) {
        ref = &c;
        ref_pb = *v;
        continue;
      }
      check_same(*ref, ref_pb, c, *v);
    }
  }

  void check_same(const Component& a, const VectorPrompts& pa, const Component& b,
                  const VectorPrompts& pb) const {
    if (pa.dx != pb.dx || pa.dy != pb.dy || pa.loss != pb.loss ||
        a.task->metric() != b.task->metric())
      fail(
          "{}: components must share dx, dy, loss and metric: component{} {} has dx={} dy={} "
          "loss={} metric={}, component{} {} has dx={} dy={} loss={} metric={}",
          name(), a.slot, a.name, pa.dx, pa.dy, to_string(pa.loss), to_string(a.task->metric()),
          b.slot, b.name, pb.dx, pb.dy, to_string(pb.loss), to_string(b.task->metric()));
  }

  const Component& slot(int s) const {
    for (const auto& c : components_)
      if (c.slot == s) return c;
    ICL_ASSERT(false);
    return components_.front();
  }

  PromptBatch assemble(const std::vector<PromptBatch>& parts, const std::vector<int>& which,
                       int64_t K) const {
    const int64_t B = int64_t(parts.size());
    VectorPrompts out;
    if (B == 0) return PromptBatch(std::move(out));
    std::vector<const VectorPrompts*> ps(static_cast<size_t>(B));
    for (int64_t b = 0; b < B; ++b) {
      ps[size_t(b)] = parts[size_t(b)].get<VectorPrompts>();
      if (!ps[size_t(b)])
        fail("{}: component {} has {} prompts; a mixture needs vector prompts", name(),
             slot(which[size_t(b)]).name, to_string(parts[size_t(b)].kind()));
    }
    const VectorPrompts& p0 = *ps[0];
    bool queries = false;
    int64_t truth_dim = 1;
    for (int64_t b = 0; b < B; ++b) {
      const VectorPrompts& p = *ps[size_t(b)];
      if (p.dx != p0.dx || p.dy != p0.dy || p.loss != p0.loss)
        check_same(slot(which[0]), p0, slot(which[size_t(b)]), p);
      queries |= p.has_queries();
      truth_dim = std::max(truth_dim, 1 + p.truth_dim);
    }
    out.allocate(B, K, p0.dx, p0.dy, queries);
    out.loss = p0.loss;
    out.truth_dim = truth_dim;
    out.truth.assign(size_t(B * truth_dim), 0.f);
    const size_t nx = size_t(K * p0.dx), ny = size_t(K * p0.dy);
    bool same_cov = true;
    for (int64_t b = 0; b < B; ++b) {
      const VectorPrompts& p = *ps[size_t(b)];
      std::copy(p.xs.begin(), p.xs.end(), out.xs.begin() + ptrdiff_t(size_t(b) * nx));
      std::copy(p.ys.begin(), p.ys.end(), out.ys.begin() + ptrdiff_t(size_t(b) * ny));
      if (queries) {
        const auto& xq = p.has_queries() ? p.xq : p.xs;
        const auto& yq = p.has_queries() ? p.yq : p.ys;
        std::copy(xq.begin(), xq.end(), out.xq.begin() + ptrdiff_t(size_t(b) * nx));
        std::copy(yq.begin(), yq.end(), out.yq.begin() + ptrdiff_t(size_t(b) * ny));
      }
      float* t = out.truth.data() + b * truth_dim;
      t[0] = float(which[size_t(b)]);
      std::copy(p.truth.begin(), p.truth.end(), t + 1);
      same_cov &= p.x_cov == p0.x_cov;
    }
    // A component that scores only some examples (loss_mask) keeps that; the others score all.
    for (int64_t b = 0; b < B; ++b) {
      const VectorPrompts& p = *ps[size_t(b)];
      if (p.loss_mask.empty()) continue;
      if (out.loss_mask.empty()) out.loss_mask.assign(size_t(B * K), 1);
      std::copy(p.loss_mask.begin(), p.loss_mask.end(), out.loss_mask.begin() + b * K);
    }
    // The optimal-GD predictor needs one covariance for the batch: only when all classes share it.
    if (same_cov) out.x_cov = p0.x_cov;
    return PromptBatch(std::move(out));
  }

  std::vector<Component> components_;
  std::vector<double> cumulative_;
  double normalisation_ = 0;
};

}  // namespace

void register_mixture(std::vector<TaskInfo>& r) {
  std::vector<std::string> names = {"none"};
  for (const auto& t : r) names.push_back(t.name);
  const auto pick = [&](const char* want) {
    return std::find(names.begin(), names.end(), want) != names.end() ? std::string(want)
                                                                      : std::string("none");
  };
  ParamSpecs p;
  const std::string defaults[kSlots] = {pick("linear_regression"), pick("sparse_linear_regression"),
                                        "none", "none"};
  for (int s = 1; s <= kSlots; ++s) {
    p.push_back(ParamSpec::choice(fmt::format("component{}", s), defaults[s - 1], names,
                                  "task whose prompts form this part of the mixture"));
    p.push_back(ParamSpec::real(fmt::format("weight{}", s), s <= 2 ? 0.5 : 1.0,
                                "relative probability of this component (> 0 when used)", 0.0,
                                kMaxScale));
  }
  p.push_back(
      ParamSpec::integer("d", 20, "dimension, passed to every component with a `d`", 1, 4096));
  r.push_back({"mixture",
               "each prompt's function class drawn from weighted registered tasks (component1..4, "
               "weight1..4)",
               std::move(p), [](const std::string& n, const ParamSet& ps) -> std::unique_ptr<Task> {
                 return std::make_unique<Mixture>(n, ps);
               }});
}

}  // namespace icl

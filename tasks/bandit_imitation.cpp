#include "tasks/bandit_imitation.h"

#include <fmt/format.h>

#include "baselines/bandit_policy.h"
#include "core/error.h"
#include "core/parallel.h"
#include "tasks/param_limits.h"
#include "tasks/task.h"

namespace icl {

int64_t bandit_token_width(int64_t arms, int64_t dim, BanditEncoding encoding) {
  switch (encoding) {
    case BanditEncoding::Dpt:
      return arms + 3;
    case BanditEncoding::Raw:
      return arms * dim + arms + 1 + 2 * dim;
    case BanditEncoding::Projected:
      return arms * dim + arms + 1 + 2 * dim + 3 * arms;
  }
  return 0;
}

BanditEncoding bandit_encoding_of_width(int64_t arms, int64_t dim, int64_t width,
                                        const std::string& who) {
  for (const BanditEncoding e :
       {BanditEncoding::Raw, BanditEncoding::Projected, BanditEncoding::Dpt})
    if (bandit_token_width(arms, dim, e) == width) return e;
  fail("{}: tokens of width {} fit no encoding of {} arms in d = {}: raw {}, projected {}, dpt {}",
       who, width, arms, dim, bandit_token_width(arms, dim, BanditEncoding::Raw),
       bandit_token_width(arms, dim, BanditEncoding::Projected),
       bandit_token_width(arms, dim, BanditEncoding::Dpt));
}

void encode_bandit_step(float* token, const Eigen::MatrixXd& arms, int prev_arm, double prev_reward,
                        BanditEncoding encoding) {
  const int64_t A = arms.rows(), d = arms.cols();
  std::fill(token, token + bandit_token_width(A, d, encoding), 0.f);
  if (encoding == BanditEncoding::Dpt) {
    token[0] = 1.f;  // the state (a bandit's only one)
    if (prev_arm < 0) return;
    token[1 + prev_arm] = 1.f;
    token[1 + A] = 1.f;  // the next state
    token[2 + A] = float(prev_reward);
    return;
  }
  for (int64_t a = 0; a < A; ++a)
    for (int64_t j = 0; j < d; ++j) token[a * d + j] = float(arms(a, j));
  if (prev_arm < 0) return;
  float* past = token + A * d;
  past[prev_arm] = 1.f;
  past[A] = float(prev_reward);
  for (int64_t j = 0; j < d; ++j) {
    past[A + 1 + j] = float(arms(prev_arm, j));
    past[A + 1 + d + j] = float(prev_reward * arms(prev_arm, j));
  }
  if (encoding != BanditEncoding::Projected) return;
  float* per_arm = past + A + 1 + 2 * d;
  per_arm[prev_arm] = float(prev_reward);
  for (int64_t a = 0; a < A; ++a) {
    const double overlap = arms.row(a).dot(arms.row(prev_arm));
    per_arm[A + a] = float(overlap);
    per_arm[2 * A + a] = float(prev_reward * overlap);
  }
}

namespace {

class BanditImitation final : public Task {
 public:
  BanditImitation(const std::string& name, const ParamSet& p) : Task(name, p) {
    setup_.kind = p.s("setup");
    setup_.arms = p.i("arms");
    setup_.dim = p.i("dim");
    setup_.noise = p.r("noise_std");
    expert_ = p.s("expert");
    optimal_ = p.s("label") == "optimal";
    const std::string enc = p.s("encoding");
    encoding_ = enc == "projected" ? BanditEncoding::Projected
                : enc == "dpt"     ? BanditEncoding::Dpt
                                   : BanditEncoding::Raw;
    expert_noise_ = p.r("expert_noise");
    repeat_ = p.s("perturbation") == "repeat";
    const std::string lambda = fmt::format("{}", p.r("lambda"));
    const std::string noise = fmt::format("{}", setup_.noise);
    const auto spec = [](const std::string& n, const std::map<std::string, std::string>& raw) {
      return make_bandit_policy(n, raw, n, "task");
    };
    if (expert_ == "linucb" || expert_ == "mixture")
      experts_.push_back(
          spec("linucb", {{"lambda", lambda}, {"alpha", fmt::format("{}", p.r("alpha"))}}));
    if (expert_ == "thompson" || expert_ == "mixture")
      experts_.push_back(spec("thompson", {{"lambda", lambda}, {"noise_std", noise}}));
    if (expert_ == "thompson_arms")
      experts_.push_back(spec("thompson_arms", {{"noise_std", noise}}));
    if (expert_ == "random") experts_.push_back(spec("random", {}));
  }

  // Scaled accuracy of the most likely arm (eval/evaluate.cpp, class labels).
  Metric metric() const override { return Metric::ScaledAccuracy; }
  PromptKind prompt_kind() const override { return PromptKind::History; }

  PromptBatch sample(const RngKey& key, int64_t first, int64_t batch, int64_t K) const override {
    check_examples(K);
    const int64_t A = setup_.arms, d = setup_.dim, W = bandit_token_width(A, d, encoding_);
    HistoryPrompts pb;
    pb.allocate(batch, K, W, A);
    pb.truth_dim = d;
    pb.truth.assign(size_t(batch * d), 0.f);
    parallel_for(batch, [&](int64_t b) { play(key, first + b, pb, b); });
    return PromptBatch(std::move(pb));
  }

 private:
  // Environment i played by its expert for K steps into row b of pb.
  void play(const RngKey& key, int64_t i, HistoryPrompts& pb, int64_t b) const {
    const int64_t K = pb.n_examples, A = setup_.arms, d = setup_.dim;
    const BanditEnv env = make_bandit_env(setup_, key, i);
    RewardNoise noise(key, i);
    size_t which = 0;
    if (experts_.size() > 1) which = size_t(Rng(key.sub("expert"), uint64_t(i)).below(2));
    const BanditPolicySpec& spec = experts_[which];
    Rng rng(key.sub("policy/" + spec.label), uint64_t(i));
    const auto policy = spec.make();
    policy->reset(env.arms);
    for (int64_t j = 0; j < d; ++j) pb.truth[size_t(b * d + j)] = float(env.theta(j));
    // The perturbation has its own stream, so the clean expert's stream and labels are untouched.
    Rng perturb(key.sub("expert_noise"), uint64_t(i));
    const double eps = expert_noise_ > 0.0 ? perturb.uniform(0.0, expert_noise_) : 0.0;
    int prev = -1;
    double reward = 0.0;
    for (int64_t t = 0; t < K; ++t) {
      const size_t o = size_t(b * K + t);
      encode_bandit_step(pb.xs.data() + o * size_t(pb.dx), env.arms, prev, reward, encoding_);
      const int choice = policy->act(rng);
      const int label = optimal_ ? env.best : choice;
      int a = choice;
      if (eps > 0.0) {
        // Both draws every step: the stream's position depends on t alone.
        const bool off = perturb.bernoulli(eps);
        const int other = int(perturb.below(uint64_t(A)));
        if (off && repeat_ && prev >= 0) a = prev;
        if (off && !repeat_) a = other;
      }
      pb.targets[o] = label;
      pb.ys[o * size_t(A) + size_t(label)] = 1.f;
      reward = env.means(a) + env.noise * noise.next();
      policy->observe(a, reward);
      prev = a;
    }
  }

  BanditSetup setup_;
  std::string expert_;
  bool optimal_ = false;
  BanditEncoding encoding_ = BanditEncoding::Raw;
  double expert_noise_ = 0.0;
  bool repeat_ = false;
  std::vector<BanditPolicySpec> experts_;
};

}  // namespace

void register_bandit_imitation(std::vector<TaskInfo>& r) {
  r.push_back(
      {kBanditHistoryTask,
       "linear-bandit trajectories of an expert, one token per step; label: its action or the "
       "optimal arm",
       {
           ParamSpec::choice("setup", "lin", {"lin", "dpt"},
                             "how arms and θ are drawn (tasks/linear_bandit.h); dim and noise_std "
                             "as given (a bandit benchmark passes its own)"),
           ParamSpec::integer("arms", 10, "number of arms (classes)", 2, 1e4),
           ParamSpec::integer("dim", 5, "feature dimension d", 1, 1e3),
           ParamSpec::real("noise_std", 1.5, "reward noise σ", 0.0, kMaxScale),
           ParamSpec::choice("expert", "linucb",
                             {"linucb", "thompson", "mixture", "thompson_arms", "random"},
                             "algorithm that plays the trajectories (mixture: LinUCB or linear "
                             "Thompson sampling, one per environment)"),
           ParamSpec::choice("label", "expert", {"expert", "optimal"},
                             "target at each step: the expert's action (imitation, Lin et al.) "
                             "or the optimal arm (DPT)"),
           ParamSpec::choice("encoding", "raw", {"raw", "projected", "dpt"},
                             "token layout: raw (arms, previous arm and reward), projected (also "
                             "the previous step's products with every arm) or dpt (DPT's "
                             "[state, one-hot action, next state, reward], no arm features)"),
           ParamSpec::real("lambda", 1.0, "ridge λ of LinUCB and Thompson sampling", 1e-12,
                           kMaxScale),
           ParamSpec::real("alpha", 2.0, "LinUCB bonus α (Lin et al.: 2)", 0.0, kMaxScale),
           ParamSpec::real("expert_noise", 0.0,
                           "largest ε of the perturbed rollouts: each trajectory draws ε ~ U[0, "
                           "expert_noise] and makes a perturbed pull with probability ε at every "
                           "step; the label stays the clean expert's action",
                           0.0, 1.0),
           ParamSpec::choice("perturbation", "random", {"random", "repeat"},
                             "the perturbed pull (expert_noise > 0): a uniformly random arm, or "
                             "the previous step's arm again"),
       },
       [](const std::string& n, const ParamSet& p) -> std::unique_ptr<Task> {
         return std::make_unique<BanditImitation>(n, p);
       }});
}

}  // namespace icl

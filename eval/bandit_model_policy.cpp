#include "eval/bandit_model_policy.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "tasks/bandit_imitation.h"

namespace icl {

ModelPolicy::ModelPolicy(Model& model, std::string label, bool sample, const RngKey& key)
    : model_(model), label_(std::move(label)), sample_(sample), key_(key.sub("policy/" + label_)) {
  if (model.parameters().cuda())
    fail("policy {}: the model acts on the CPU only; move its parameters to the host", label_);
}

void ModelPolicy::reset(const std::vector<BanditEnv>& envs, int64_t first) {
  arms_.clear();
  rngs_.clear();
  history_.assign(envs.size(), {});
  steps_ = 0;
  for (size_t i = 0; i < envs.size(); ++i) {
    arms_.push_back(envs[i].arms);
    rngs_.emplace_back(key_, uint64_t(first + int64_t(i)));
  }
  if (envs.empty()) return;
  const int64_t A = arms_[0].rows(), d = arms_[0].cols();
  // The token width tells the encoding the model was trained on.
  encoding_ = bandit_encoding_of_width(A, d, model_.io().dx, "policy " + label_);
  width_ = model_.io().dx;
  if (A != model_.io().dy)
    fail("policy {}: the model chooses among {} actions; the environments have {} arms", label_,
         model_.io().dy, A);
  for (size_t i = 0; i < envs.size(); ++i) {
    history_[i].resize(size_t(width_));
    encode_bandit_step(history_[i].data(), arms_[i], -1, 0.0, encoding_);
  }
}

void ModelPolicy::act(int64_t t, std::vector<int>& arms) {
  ICL_ASSERT(t == steps_);
  const int64_t n = int64_t(arms_.size()), K = t + 1, A = model_.io().dy;
  HistoryPrompts hp;
  hp.allocate(n, K, width_, A);
  for (int64_t i = 0; i < n; ++i)
    std::copy(history_[size_t(i)].begin(), history_[size_t(i)].end(),
              hp.xs.begin() + i * K * width_);
  const PromptBatch pb(std::move(hp));
  std::vector<float> logits(size_t(n * K * A));
  arena_.reset();
  {
    Graph g(arena_, false);
    const Var y = model_.forward(g, pb);
    g.read(y.value(), logits.data());
  }
  arms.resize(size_t(n));
  for (int64_t i = 0; i < n; ++i) {
    const float* z = logits.data() + (i * K + t) * A;
    if (!sample_) {
      arms[size_t(i)] = int(std::max_element(z, z + A) - z);
      continue;
    }
    const float top = *std::max_element(z, z + A);
    std::vector<double> p(static_cast<size_t>(A));
    double sum = 0.0;
    for (int64_t a = 0; a < A; ++a) sum += p[size_t(a)] = std::exp(double(z[a] - top));
    double u = rngs_[size_t(i)].uniform() * sum;
    int pick = int(A) - 1;
    for (int64_t a = 0; a < A; ++a)
      if ((u -= p[size_t(a)]) < 0.0) {
        pick = int(a);
        break;
      }
    arms[size_t(i)] = pick;
  }
}

void ModelPolicy::observe(const std::vector<int>& arms, const std::vector<double>& rewards) {
  for (size_t i = 0; i < arms_.size(); ++i) {
    std::vector<float>& h = history_[i];
    h.resize(h.size() + size_t(width_));
    encode_bandit_step(h.data() + h.size() - size_t(width_), arms_[i], arms[i], rewards[i],
                       encoding_);
  }
  ++steps_;
}

}  // namespace icl

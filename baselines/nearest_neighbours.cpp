// k-nearest neighbours: the mean label of the k earlier inputs closest to the query (Euclidean;
// ties go to the earlier example), or of all of them while fewer than k exist (Garg et al. 2022).
#include <algorithm>
#include <numeric>

#include "baselines/baseline.h"

namespace icl {
namespace {

class NearestNeighbours final : public Baseline {
 public:
  NearestNeighbours(const ParamSet& p, const std::string& label)
      : Baseline("knn", p, label), k_(p.i("k")) {}

 private:
  void predict_prompt(const PromptView& p, float* out) const override {
    const int64_t K = p.pb.n_examples;
    MatD xs(p.pb.dx, K);
    for (int64_t i = 0; i < K; ++i) xs.col(i) = p.x(i);
    std::vector<std::pair<double, int64_t>> dist;
    for (int64_t k = 0; k < K; ++k) {
      if (k == 0) {
        out[k] = 0.f;
        continue;
      }
      const VecD q = p.query(k);
      dist.clear();
      for (int64_t i = 0; i < k; ++i) dist.emplace_back((xs.col(i) - q).squaredNorm(), i);
      const int64_t m = std::min(k_, k);
      std::partial_sort(dist.begin(), dist.begin() + m, dist.end());
      double sum = 0.0;
      for (int64_t i = 0; i < m; ++i) sum += p.y(dist[size_t(i)].second);
      out[k] = float(sum / double(m));
    }
  }
  int64_t k_;
};

}  // namespace

void register_nearest_neighbours(std::vector<BaselineInfo>& r) {
  r.push_back(baseline_info<NearestNeighbours>(
      "knn", "mean label of the k nearest earlier inputs (Garg et al. use k = 3)",
      {ParamSpec::integer("k", 3, "number of neighbours", 1, 1e9)}));
}

}  // namespace icl

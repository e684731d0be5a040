// The cross-machine contract (README, "Reproducibility"): prompts and baseline curves do not depend
// on the CPU or the instruction-set level of the build. They are compared with
// tests/golden/portable_outputs.txt, written by a build at another level:
//  - each registered task's prompts, bit for bit (a digest);
//  - each registered baseline's predictions on every task whose prompts it accepts, and each bandit
//    policy's regret curve, to 1e-5 of their scale: Eigen's double-precision kernels add in an
//    order set by the vector width, so values that are exactly 0 in theory come out as ±1e-16 at
//    one level and 0 at another, the bandits' arm means θ·a differ in the last bit, and the float
//    products of mlp_gd too (measured: at most 7e-6 of a value, 2e-6 of the scale, between
//    x86-64-v3 and AVX-512).
// After a deliberate change to a generator or a baseline, rewrite the file with
//   ICL_UPDATE_GOLDEN=1 build/tests/icl_tests --gtest_filter='PortableOutputs.*'
// and say why in the commit.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "baselines/bandit_policy.h"
#include "baselines/baseline.h"
#include "core/error.h"
#include "eval/bandit_rollout.h"
#include "tasks/task.h"

namespace icl {
namespace {

const std::string kGolden = std::string(ICL_SOURCE_DIR) + "/tests/golden/portable_outputs.txt";
const RngKey kKey{7, stream_id("portable-outputs")};
constexpr int64_t kB = 6, kK = 9;  // K = 9 suits every family's defaults (test_all_tasks.cpp)

// The bytes of each array in turn, each after its length (so that [1,2],[3] != [1],[2,3]), hashed
// with FNV-1a (stream_id, core/rng.h).
struct Digest {
  std::string bytes;
  template <class T>
  Digest& add(const std::vector<T>& v) {
    const uint64_t n = v.size();
    bytes.append(reinterpret_cast<const char*>(&n), sizeof n);
    bytes.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
    return *this;
  }
  std::string hex() const { return fmt::format("{:016x}", stream_id(bytes)); }
};

// Every buffer of every kind in one fixed order, a kind's missing buffers as empty ones (the
// golden digests were taken when one struct held them all).
std::string prompt_digest(const PromptBatch& pb) {
  const std::vector<float> nf;
  const std::vector<double> nd;
  const std::vector<int32_t> ni;
  const std::vector<uint8_t> nu;
  const auto* v = pb.get<VectorPrompts>();
  const auto* t = pb.get<TokenPrompts>();
  const auto* h = pb.get<HistoryPrompts>();
  Digest d;
  d.add(v ? v->xs : h ? h->xs : nf).add(v ? v->ys : h ? h->ys : nf);
  d.add(v ? v->xq : nf).add(v ? v->yq : nf).add(pb.common().truth).add(v ? v->x_cov : nd);
  d.add(t ? t->tokens : ni).add(t ? t->targets : h ? h->targets : ni);
  d.add(v ? v->loss_mask : t ? t->loss_mask : nu);
  return d.hex();
}

// A baseline's predictions on one task, summarised so that rounding can be told from a change:
// a weighted sum (weights 1 + (i mod 7)/7, so a moved value shows), the sum of squares and the sum
// of magnitudes (the scale the tolerance is taken of), plus the count of non-finite values.
struct Summary {
  int64_t nonfinite = 0;
  double weighted = 0, squares = 0, scale = 0;
};

template <class T>
Summary summarise(const std::vector<T>& v) {
  Summary s;
  for (size_t i = 0; i < v.size(); ++i) {
    if (!std::isfinite(v[i])) {
      ++s.nonfinite;
      continue;
    }
    const double x = v[i];
    s.weighted += (1.0 + double(i % 7) / 7.0) * x;
    s.squares += x * x;
    s.scale += std::abs(x);
  }
  return s;
}

std::string format(const Summary& s) {
  return fmt::format("{} {:.17g} {:.17g} {:.17g}", s.nonfinite, s.weighted, s.squares, s.scale);
}

Summary parse(const std::string& text) {
  Summary s;
  std::istringstream in(text);
  in >> s.nonfinite >> s.weighted >> s.squares >> s.scale;
  if (!in) ADD_FAILURE() << "bad summary in " << kGolden << ": " << text;
  return s;
}

// Rounding of the kind the file's comment describes, and nothing more.
bool agree(const Summary& a, const Summary& b) {
  constexpr double kRel = 1e-5, kAbs = 1e-12;
  const double scale = std::max(a.scale, b.scale);
  return a.nonfinite == b.nonfinite &&
         std::abs(a.weighted - b.weighted) <= kRel * 2 * scale + kAbs &&
         std::abs(a.scale - b.scale) <= kRel * scale + kAbs &&
         std::abs(a.squares - b.squares) <= kRel * std::max(a.squares, b.squares) + kAbs;
}

// "kind/name" -> what is compared: a digest (task/) or a summary (baseline/name/task, bandit/).
std::map<std::string, std::string> current_outputs() {
  std::map<std::string, std::string> out;
  std::vector<std::pair<std::string, PromptBatch>> prompts;
  for (const TaskInfo& t : task_registry()) {
    const auto task = make_task(t.name, {});
    prompts.emplace_back(t.name, task->sample(kKey, 3, kB, kK));
    out["task/" + t.name] = prompt_digest(prompts.back().second);
  }
  // Each baseline on every task whose prompts it accepts, so that new baselines and tasks are
  // covered without a table to keep up to date.
  for (const BaselineInfo& b : baseline_registry()) {
    if (!b.not_built.empty()) continue;  // not in this build (its golden lines are not checked)
    const auto baseline = make_baseline(b.name, {});
    int accepted = 0;
    for (const auto& [task, pb] : prompts) {
      std::vector<float> pred;
      try {
        pred = baseline->predict(pb);
      } catch (const Error&) {
        continue;
      }
      out["baseline/" + b.name + "/" + task] = format(summarise(pred));
      ++accepted;
    }
    EXPECT_GT(accepted, 0) << b.name << " accepts the prompts of no registered task";
  }
  const BanditSetup setup = make_bandit_setup({});
  RolloutOptions opt;
  opt.environments = 24;
  for (const BanditPolicyInfo& p : bandit_policy_registry()) {
    const RegretCurve c = rollout(setup, kKey, make_bandit_policy(p.name, {}), opt);
    std::vector<double> both = c.mean;
    both.insert(both.end(), c.sem.begin(), c.sem.end());
    out["bandit/" + p.name] = format(summarise(both));
  }
  return out;
}

std::map<std::string, std::string> read_golden() {
  std::map<std::string, std::string> g;
  std::ifstream in(kGolden);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t sp = line.find(' ');
    g[line.substr(0, sp)] = sp == std::string::npos ? "" : line.substr(sp + 1);
  }
  return g;
}

TEST(PortableOutputs, PromptsAndBaselineCurvesMatchTheGoldenFile) {
  const auto now = current_outputs();
  if (const char* u = std::getenv("ICL_UPDATE_GOLDEN"); u && std::strcmp(u, "1") == 0) {
    std::ofstream o(kGolden);
    o << "# Prompts (digests), baseline predictions on each task and bandit regret curves\n"
         "# (non-finite count, weighted sum, sum of squares, sum of magnitudes): see\n"
         "# tests/test_portable_outputs.cpp.\n";
    for (const auto& [k, v] : now) o << k << ' ' << v << '\n';
    ASSERT_TRUE(o.good()) << "cannot write " << kGolden;
    GTEST_SKIP() << "rewrote " << kGolden;
  }
  const auto golden = read_golden();
  ASSERT_FALSE(golden.empty()) << "cannot read " << kGolden;
  for (const auto& [k, v] : now) {
    const auto it = golden.find(k);
    if (it == golden.end()) {
      ADD_FAILURE() << k << " is not in " << kGolden << " (new? rewrite it, see the file's test)";
      continue;
    }
    if (k.rfind("task/", 0) != 0)
      EXPECT_TRUE(agree(parse(v), parse(it->second)))
          << k << " differs from " << kGolden << " beyond rounding: " << v << " vs " << it->second;
    else
      EXPECT_EQ(v, it->second) << k << " differs from " << kGolden;
  }
  for (const auto& entry : golden) {
    const std::string& k = entry.first;  // clang 14 cannot capture a structured binding
    const bool built = std::none_of(
        baseline_registry().begin(), baseline_registry().end(), [&](const BaselineInfo& b) {
          return !b.not_built.empty() && k.rfind("baseline/" + b.name + "/", 0) == 0;
        });
    if (built) {
      EXPECT_TRUE(now.count(k)) << k << " is in the golden file but no longer registered";
    }
  }
}

// The comparison tells a change from rounding: one flipped bit in one prompt changes the digest;
// a baseline prediction off by 1e-4 of the scale fails where last-bit noise passes.
TEST(PortableOutputs, ComparisonTellsAChangeFromRounding) {
  PromptBatch pb = make_task("linear_regression", {})->sample(kKey, 0, 2, 5);
  const std::string before = prompt_digest(pb);
  uint32_t bits;
  float& x = pb.get<VectorPrompts>()->xs[7];
  std::memcpy(&bits, &x, 4);
  bits ^= 1u;
  std::memcpy(&x, &bits, 4);
  EXPECT_NE(prompt_digest(pb), before);

  std::vector<float> pred(54);
  for (size_t i = 0; i < pred.size(); ++i) pred[i] = float(std::sin(double(i)));
  std::vector<float> noisy = pred, moved = pred, swapped = pred;
  for (float& v : noisy) v = std::nextafter(v, 2.f);
  moved[10] += 1e-4f * 34.f;  // the scale (sum of |sin i|) is about 34
  std::swap(swapped[3], swapped[4]);
  EXPECT_TRUE(agree(summarise(pred), summarise(noisy)));
  EXPECT_FALSE(agree(summarise(pred), summarise(moved)));
  EXPECT_FALSE(agree(summarise(pred), summarise(swapped)));
  EXPECT_TRUE(agree(parse(format(summarise(pred))), summarise(pred)));
}

}  // namespace
}  // namespace icl

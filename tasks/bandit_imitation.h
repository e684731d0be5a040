#pragma once
// Pretraining data for in-context decision making (docs/TASKS.md §7): trajectories of an expert in
// linear bandits (tasks/linear_bandit.h) as history prompts (tasks/prompt_batch.h), one token per
// step. Example t is the decision of step t: its label is the arm the expert pulled there
// (algorithm imitation, Lin et al. 2024) or the environment's optimal arm (DPT, Lee et al. 2023),
// scored by cross-entropy over the A arms.
//
// Token t carries only what was known before step t. Three layouts (`encoding`):
//
// dpt (Lee et al.'s DPT, jon--lee/decision-pretrained-transformer): width A + 3, the reference's
// transition tuple [state, one-hot action, next state, reward] of step t − 1. A bandit has one
// state, the constant 1 (the reference's BanditEnv.state), so token t ≥ 1 is [1, one-hot a_{t−1},
// 1, r_{t−1}], and token 0 is the query alone, [1, 0, …, 0] (the reference's query state with
// zeroed action and reward). No arm features: DPT's arms are fixed across environments, and the
// model learns them.
//
// raw (width A·d + A + 1 + 2d):
//   [0, A·d)                 the environment's arm features, arm after arm
//   [A·d, A·d + A)           one-hot of the arm pulled at step t − 1 (zeros at t = 0)
//   A·d + A                  the reward of step t − 1 (0 at t = 0)
//   then d entries           the features of that arm (zeros at t = 0)
//   then d entries           those features times the reward
// The arm features let one model serve environments whose arms differ (Lin et al.); the pulled
// arm's features and their product with the reward sum over the history to Σ a and the ridge
// target Σ r a, which causal attention can accumulate without first multiplying a one-hot by the
// features. The projected
// encoding appends 3A entries, products of the previous step with every arm j:
//   one-hot × reward, a_j·a_{t−1} and r_{t−1}·a_j·a_{t−1}
// whose sums over the history are per-arm statistics (reward sums, and a_j·Σ a and a_j·Σ r a: the
// ridge target seen along arm j), so a model reads per-arm evidence off an attention average
// without multiplying aggregated statistics by the arm features itself.
//
// Environment i of the stream `key` is make_bandit_env(setup, key, i) with reward noise
// RewardNoise(key, i), and the expert's randomness is stream key.sub("policy/<expert>") at index
// i: the labels are exactly the actions eval/bandit_rollout.h's rollout() records for the same key
// and a policy of that label. `expert: mixture` plays LinUCB or linear Thompson sampling, one of
// the two per environment (stream key.sub("expert") at index i).
//
// `expert_noise` > 0 (a variant, DART-style): the trajectories are played by a perturbed expert,
// which at every step makes a perturbed pull with probability ε, ε ~ U[0, expert_noise] per
// trajectory (stream key.sub("expert_noise") at index i), while the label stays the clean expert's
// action on the recorded history (its statistics include the perturbed pulls). The perturbed pull
// is a uniformly random arm (`perturbation: random`) or the previous step's arm again (`repeat`).
// Why: LinUCB repeats its previous arm at 85–97% of the steps after step 50 of its own
// trajectories, so imitation on them alone learns to copy the last action, and the model's own
// rollout then stays on whatever arm it pulled first. Sticky histories whose labels switch away
// from the repeated arm are the counter-examples. This is Lin et al.'s framework with an offline
// algorithm different from the expert (their error bound grows with the distribution ratio between
// the two); at ε = 0 both coincide.
#include <Eigen/Dense>

#include "tasks/linear_bandit.h"

namespace icl {

// The registry name of this task: a bandit benchmark's model trains on it unless its config names
// another task.
inline constexpr const char* kBanditHistoryTask = "bandit_imitation";

enum class BanditEncoding { Raw, Projected, Dpt };

// Width of a token for A arms in dimension d.
int64_t bandit_token_width(int64_t arms, int64_t dim, BanditEncoding encoding);
// The encoding whose tokens have this width (a trained model's input width tells it); icl::Error
// naming the widths allowed when none has.
BanditEncoding bandit_encoding_of_width(int64_t arms, int64_t dim, int64_t width,
                                        const std::string& who);

// Writes token t of an environment's history: prev_arm = −1 (and prev_reward ignored) for t = 0.
void encode_bandit_step(float* token, const Eigen::MatrixXd& arms, int prev_arm, double prev_reward,
                        BanditEncoding encoding);

}  // namespace icl

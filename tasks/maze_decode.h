#pragma once
// Path metrics of the maze task (Nolte et al. 2024, docs/TASKS.md §8): a predictor answers a maze
// only if it can produce the whole path on its own, so beside the teacher-forced per-token accuracy
// the evaluation decodes every path from the prompt cut after PATH (objective next_token: greedily;
// mlm_u: by iterative unmasking) and scores it as
//   exact  the path is a shortest one from origin to target (in a DFS maze, a tree, that is the
//          BFS path; with extra openings any of the shortest paths counts), ended by END;
//   valid  the path is a connected walk of legal moves from origin to target, ended by END;
//   token  the fraction of the BFS answer (path cells, then one END) matched slot by slot.
// Decoding goes through the Predictor call, so a trained model and the BFS reference (baseline
// maze_bfs) are decoded by the same code on the same prompts.
#include <cstdint>
#include <vector>

#include "tasks/maze_task.h"
#include "tasks/predictor.h"
#include "tasks/task.h"

namespace icl {

// Extends every prefix greedily: at each step the unfinished prefixes form one batch padded on the
// right with `pad` (a causal predictor never sees the padding), and each takes the largest score
// (the first, on ties) at its own last position, until it emits `stop` or has grown by `cap`
// tokens. `length` is the batch's n_examples (the prompts' length axis). Returns the generated
// tokens of each prefix, `stop` included when it came.
std::vector<std::vector<int32_t>> greedy_decode(const Predictor& p,
                                                const std::vector<std::vector<int32_t>>& prefixes,
                                                int32_t stop, int32_t pad, int64_t cap,
                                                int64_t length, int64_t batch_size = 256);

// Iterative unmasking (the MLM-U decoder): every prefix is followed by `slots` MASK tokens; each
// forward pass scores all of them at once (the predictor may look both ways), and in every prompt
// `per_step` still-masked slots take their best token (the first, on ties): those whose largest
// softmax probability is highest (the earlier slot on ties), or with `left_to_right` the first
// ones. Once a slot holds `stop`, the masked slots after it take `stop` undecoded (the answer has
// ended; a stop that is no token, e.g. −1, never ends it). A prompt is run until none of its slots
// is masked: at most ⌈slots / per_step⌉ passes. The prompts of a batch are padded on the right with
// `pad`. Returns the slots' tokens of each prefix.
std::vector<std::vector<int32_t>> unmask_decode(const Predictor& p,
                                                const std::vector<std::vector<int32_t>>& prefixes,
                                                int64_t slots, int32_t mask, int32_t stop,
                                                int32_t pad, int64_t per_step, bool left_to_right,
                                                int64_t length, int64_t batch_size = 256);

struct PathScore {
  bool exact = false, valid = false;
  double token = 0;  // per-token accuracy of the decoded answer
  // The origin and the first step are the BFS path's: the step that needs the whole plan (which
  // branch at the origin leads to the target), where next-token models fail most.
  bool first_move = false;
};

// Scores the tokens generated after PATH for maze m: the path is the cells before END. A path
// without END, or with anything but a cell of m's grid before it, is neither valid nor exact.
// token: generated[k] == answer[k] over the BFS path's cells and the END after them.
// first_move: generated[0..1] == answer[0..1] (an origin that is the target: its END).
PathScore score_maze_path(const Maze& m, const std::vector<int32_t>& generated,
                          const MazeTokens& t);

// Cuts every prompt of a maze batch (all of grid size n = pb.n_examples) after its PATH token,
// decodes the paths with p as the task's objective prescribes (next_token: greedily, at most n² + 1
// tokens, every cell once, then END; mlm_u: unmask_decode of the n² + 1 answer slots, in the
// task's unmask_order, ended by END) and scores them.
std::vector<PathScore> maze_path_scores(const Predictor& p, const TokenPrompts& pb,
                                        const Task& task);

}  // namespace icl

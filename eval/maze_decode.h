#pragma once
// Path metrics of the maze task (Nolte et al. 2024, TASKS.md §8): a predictor answers a maze only
// if it can produce the whole path on its own, so beside the teacher-forced per-token accuracy the
// evaluation decodes every path greedily from the prompt cut after PATH and scores it as
//   exact  the path is a shortest one from origin to target (in a DFS maze, a tree, that is the
//          BFS path; with extra openings any of the shortest paths counts), ended by END;
//   valid  the path is a connected walk of legal moves from origin to target, ended by END.
// Decoding goes through the Predictor call, so a trained model and the BFS reference (baseline
// maze_bfs) are decoded by the same code on the same prompts.
#include <cstdint>
#include <vector>

#include "eval/predictor.h"
#include "tasks/maze_task.h"
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

struct PathScore {
  bool exact = false, valid = false;
};

// Scores the tokens generated after PATH for maze m: the path is the cells before END. A path
// without END, or with anything but a cell of m's grid before it, is neither valid nor exact.
PathScore score_maze_path(const Maze& m, const std::vector<int32_t>& generated,
                          const MazeTokens& t);

// Cuts every prompt of a maze batch (all of length n = pb.n_examples) after its PATH token, decodes
// the paths with p (at most n² + 1 tokens: every cell once, then END) and scores them.
std::vector<PathScore> maze_path_scores(const Predictor& p, const PromptBatch& pb, int64_t max_n);

// max_n of the maze task, 0 for any other task (which has no path metrics).
int64_t maze_max_n(const Task& task);

// Names of the path metrics, in the order EvalResult stores them.
inline constexpr const char* kExactPath = "exact_path";
inline constexpr const char* kValidPath = "valid_path";

}  // namespace icl

#pragma once
// Token layout of the maze task (tasks/maze_task.cpp), for tests and decoders.
#include <cstdint>
#include <vector>

#include "core/rng.h"
#include "tasks/maze.h"
#include "tasks/task.h"

namespace icl {

struct MazeTokens {
  int32_t max_n;  // cell (r, c) of any grid is token r·max_n + c
  int32_t adj, sep, origin, target, path, end, mask;
  int32_t cell(int c, int n) const { return int32_t((c / n) * max_n + c % n); }
};

// What the model is trained to predict (task parameter `objective`).
enum class MazeObjective { NextToken, MlmU };

int64_t maze_vocab(int64_t max_n);  // cells, the seven markers, BOS and PAD
MazeTokens maze_tokens(int64_t max_n);
// Answer slots of an mlm_u prompt on an n×n grid: room for the longest path (n² cells) and END.
inline int64_t maze_answer_slots(int64_t n) { return n * n + 1; }
// BOS ADJ (a b SEP)×passages ORIGIN o TARGET t PATH; returns its length. With `shuffle`, the
// passages come in a uniformly random order and each pair in a random orientation (draws from
// rng), as maze-dataset's tokeniser writes them (LatticeMaze.as_adj_list with shuffle_d0 and
// shuffle_d1); without, each once as (a, b) with a < b in increasing order.
int64_t write_maze_prefix(const Maze& m, const MazeTokens& t, int32_t bos, bool shuffle, Rng& rng,
                          int32_t* tokens);
// The mlm_u answer of m: the BFS path's cells, then END in every remaining slot.
std::vector<int32_t> maze_answer(const Maze& m, const MazeTokens& t);
// Writes the prompt of maze m (BOS .. END) with its next-token targets and mask; returns its
// length. targets and mask must arrive as −1 and 0.
int64_t write_maze_tokens(const Maze& m, const MazeTokens& t, int32_t bos, bool shuffle, Rng& rng,
                          int32_t* tokens, int32_t* targets, uint8_t* mask);
// The mlm_u prompt of maze m: the prefix, then the maze_answer_slots(n) answer slots. Of the
// L + 1 slots holding the path's L cells and its END, a uniformly random number 1..L + 1 (a
// fraction ~ U(0, 1), at least one) show MASK and are scored against their answer token; the
// others show their answer token and are not scored. The slots after END show MASK and are not
// scored. Draws from rng after the maze. Returns its length; targets and mask must arrive as −1
// and 0.
int64_t write_maze_mlmu_tokens(const Maze& m, const MazeTokens& t, int32_t bos, bool shuffle,
                               Rng& rng, int32_t* tokens, int32_t* targets, uint8_t* mask);
// The maze an n×n prompt describes (passages, origin, target); icl::Error on malformed tokens.
Maze maze_from_tokens(const int32_t* tokens, int64_t T, int64_t max_n, int n);

// The objective of a maze task, how many answer slots the mlm_u decoder commits per forward pass
// (task parameter unmask_per_step) and which (unmask_order: true for left_to_right, the lowest
// masked slots; false for confidence, the most confident ones).
MazeObjective maze_objective(const Task& task);
int64_t maze_unmask_per_step(const Task& task);
bool maze_unmask_left_to_right(const Task& task);

}  // namespace icl

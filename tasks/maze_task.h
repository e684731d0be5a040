#pragma once
// Token layout of the maze task (tasks/maze_task.cpp), for tests and decoders.
#include <cstdint>

#include "tasks/maze.h"

namespace icl {

struct MazeTokens {
  int32_t max_n;  // cell (r, c) of any grid is token r·max_n + c
  int32_t adj, sep, origin, target, path, end;
  int32_t cell(int c, int n) const { return int32_t((c / n) * max_n + c % n); }
};

int64_t maze_vocab(int64_t max_n);  // cells, the six markers, BOS and PAD
MazeTokens maze_tokens(int64_t max_n);
// Writes the prompt of maze m (BOS .. END) with its next-token targets and mask; returns its
// length. targets and mask must arrive as −1 and 0.
int64_t write_maze_tokens(const Maze& m, const MazeTokens& t, int32_t bos, int32_t* tokens,
                          int32_t* targets, uint8_t* mask);
// The maze an n×n prompt describes (passages, origin, target); icl::Error on malformed tokens.
Maze maze_from_tokens(const int32_t* tokens, int64_t T, int64_t max_n, int n);

}  // namespace icl

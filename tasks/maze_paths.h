#pragma once
// Breadth-first search on mazes (docs/TASKS.md §8): the exact solver the models are scored against.
// A path is the list of cells from origin to target inclusive.
#include <vector>

#include "tasks/maze.h"

namespace icl {

// Distance in steps from `from` to every cell (−1 where unreachable).
std::vector<int> maze_distances(const Maze& m, int from);
// One shortest path from m.origin to m.target (ties broken by Maze::neighbours' order from the
// target side, so it is deterministic); empty if the target is unreachable.
std::vector<int> shortest_path(const Maze& m);
// Whether `path` is a connected walk of legal moves from origin to target (validity), and whether
// it is moreover shortest.
bool is_valid_path(const Maze& m, const std::vector<int>& path);
bool is_shortest_path(const Maze& m, const std::vector<int>& path);
// Number of distinct shortest paths (1 in a tree maze), saturating at `cap`.
long long count_shortest_paths(const Maze& m, long long cap = 1LL << 40);

}  // namespace icl

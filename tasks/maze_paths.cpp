#include "tasks/maze_paths.h"

#include <algorithm>

namespace icl {

std::vector<int> maze_distances(const Maze& m, int from) {
  std::vector<int> dist(size_t(m.cells()), -1), queue;
  queue.reserve(size_t(m.cells()));
  dist[size_t(from)] = 0;
  queue.push_back(from);
  for (size_t head = 0; head < queue.size(); ++head) {
    const int c = queue[head];
    int nb[4];
    const int k = m.neighbours(c, nb);
    for (int i = 0; i < k; ++i)
      if (dist[size_t(nb[i])] < 0) {
        dist[size_t(nb[i])] = dist[size_t(c)] + 1;
        queue.push_back(nb[i]);
      }
  }
  return dist;
}

std::vector<int> shortest_path(const Maze& m) {
  // Distances to the target; then walk from the origin, always to the first neighbour one step
  // closer.
  const std::vector<int> to_target = maze_distances(m, m.target);
  if (to_target[size_t(m.origin)] < 0) return {};
  std::vector<int> path{m.origin};
  int c = m.origin;
  while (c != m.target) {
    int nb[4];
    const int k = m.neighbours(c, nb);
    for (int i = 0; i < k; ++i)
      if (to_target[size_t(nb[i])] == to_target[size_t(c)] - 1) {
        c = nb[i];
        break;
      }
    path.push_back(c);
  }
  return path;
}

bool is_valid_path(const Maze& m, const std::vector<int>& path) {
  if (path.empty() || path.front() != m.origin || path.back() != m.target) return false;
  for (size_t i = 0; i + 1 < path.size(); ++i) {
    if (path[i] < 0 || path[i] >= m.cells() || path[i + 1] < 0 || path[i + 1] >= m.cells())
      return false;
    if (!m.connected(path[i], path[i + 1])) return false;
  }
  return true;
}

bool is_shortest_path(const Maze& m, const std::vector<int>& path) {
  return is_valid_path(m, path) &&
         int(path.size()) - 1 == maze_distances(m, m.origin)[size_t(m.target)];
}

long long count_shortest_paths(const Maze& m, long long cap) {
  // Paths counted in BFS order from the origin: ways(c) = Σ ways(p) over neighbours p one step
  // closer to the origin.
  const std::vector<int> d = maze_distances(m, m.origin);
  if (d[size_t(m.target)] < 0) return 0;
  std::vector<int> order(size_t(m.cells()));
  for (int c = 0; c < m.cells(); ++c) order[size_t(c)] = c;
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return d[size_t(a)] < d[size_t(b)]; });
  std::vector<long long> ways(size_t(m.cells()), 0);
  ways[size_t(m.origin)] = 1;
  for (const int c : order) {
    if (d[size_t(c)] <= 0) continue;
    int nb[4];
    const int k = m.neighbours(c, nb);
    for (int i = 0; i < k; ++i)
      if (d[size_t(nb[i])] == d[size_t(c)] - 1)
        ways[size_t(c)] = std::min(cap, ways[size_t(c)] + ways[size_t(nb[i])]);
  }
  return ways[size_t(m.target)];
}

}  // namespace icl

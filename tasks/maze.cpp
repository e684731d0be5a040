#include "tasks/maze.h"

#include "core/error.h"

namespace icl {

bool Maze::connected(int a, int b) const {
  if (a > b) std::swap(a, b);
  if (b == a + 1 && b % n != 0) return open[size_t(a)] & 1u;
  if (b == a + n) return open[size_t(a)] & 2u;
  return false;
}

int Maze::neighbours(int c, int out[4]) const {
  int k = 0;
  if (c >= n && (open[size_t(c - n)] & 2u)) out[k++] = c - n;
  if (c % n != 0 && (open[size_t(c - 1)] & 1u)) out[k++] = c - 1;
  if (c % n != n - 1 && (open[size_t(c)] & 1u)) out[k++] = c + 1;
  if (c + n < n * n && (open[size_t(c)] & 2u)) out[k++] = c + n;
  return k;
}

int Maze::passages() const {
  int s = 0;
  for (uint8_t v : open) s += (v & 1u) + ((v >> 1) & 1u);
  return s;
}

Maze generate_maze(int n, Rng& rng, double extra, bool allow_same) {
  if (n < 2) fail("maze.n: must be >= 2, got {}", n);
  if (!(extra >= 0.0 && extra <= 1.0)) fail("maze.extra: must be in [0, 1], got {}", extra);
  Maze m;
  m.n = n;
  const int N = n * n;
  m.open.assign(size_t(N), 0);
  // Iterative backtracker from a random start: walk to a random unvisited neighbour, back up when
  // there is none.
  thread_local std::vector<uint8_t> seen;
  thread_local std::vector<int> stack;
  seen.assign(size_t(N), 0);
  stack.clear();
  const int start = int(rng.below(uint64_t(N)));
  stack.push_back(start);
  seen[size_t(start)] = 1;
  while (!stack.empty()) {
    const int c = stack.back();
    int cand[4], k = 0;
    if (c >= n && !seen[size_t(c - n)]) cand[k++] = c - n;
    if (c % n != 0 && !seen[size_t(c - 1)]) cand[k++] = c - 1;
    if (c % n != n - 1 && !seen[size_t(c + 1)]) cand[k++] = c + 1;
    if (c + n < N && !seen[size_t(c + n)]) cand[k++] = c + n;
    if (k == 0) {
      stack.pop_back();
      continue;
    }
    const int next = cand[k == 1 ? 0 : rng.below(uint64_t(k))];
    const int lo = std::min(c, next);
    m.open[size_t(lo)] |= (std::max(c, next) == lo + 1) ? 1u : 2u;
    seen[size_t(next)] = 1;
    stack.push_back(next);
  }
  if (extra > 0.0)
    for (int c = 0; c < N; ++c) {
      if (c % n != n - 1 && rng.uniform() < extra) m.open[size_t(c)] |= 1u;
      if (c + n < N && rng.uniform() < extra) m.open[size_t(c)] |= 2u;
    }
  m.origin = int(rng.below(uint64_t(N)));
  if (allow_same) {
    m.target = int(rng.below(uint64_t(N)));
  } else {
    const int t = int(rng.below(uint64_t(N - 1)));
    m.target = t >= m.origin ? t + 1 : t;
  }
  return m;
}

}  // namespace icl

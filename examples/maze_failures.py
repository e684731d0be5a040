#!/usr/bin/python3
"""Which mazes a model fails: its per-prompt path scores split by the maze's structure.

Reads a results file with per-prompt scores (a run with ``eval.per_prompt: true``, or
``icl eval --checkpoint RUN.h5 --per-prompt``), draws the same prompts again with
``iclbench.sample`` (prompt i of the set's stream, with the raw mazes behind them) and prints the
first-move and exact-path accuracy of the model by

  * the origin's degree: 1 is a dead end, where the first move is forced; 2 or more is a choice,
    where the right branch is the one whose subtree holds the target;
  * the length of the BFS path: how far ahead that choice has to look.

    PYTHONPATH=build/python /usr/bin/python3 examples/maze_failures.py EVAL.h5 [--set NAME]
"""
import argparse
import sys

import numpy as np

import iclbench


def origin_degree(open_, cell):
    """Passages out of `cell` (r·n + c) of a maze given as its open bits [n, n] (bit 0: east, bit 1:
    south)."""
    n = open_.shape[0]
    r, c = divmod(int(cell), n)
    deg = int(open_[r, c] & 1) + int((open_[r, c] >> 1) & 1)
    deg += int(c > 0 and open_[r, c - 1] & 1) + int(r > 0 and (open_[r - 1, c] >> 1) & 1)
    return deg


def table(title, labels, groups, first, exact):
    """One row per {group: label}: its mazes, first-move and exact-path accuracy."""
    print(f"  {title:<20} {'mazes':>6} {'first move':>11} {'exact path':>11}")
    for k, label in labels.items():
        m = groups == k
        if m.any():
            print(f"  {label:<20} {int(m.sum()):>6} {first[m].mean():>11.3f} {exact[m].mean():>11.3f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", help="results file with per-prompt scores")
    ap.add_argument("--set", default=None, help="evaluation set (default: the file's first)")
    ap.add_argument("--predictor", default=None, help="predictor label (default: the model)")
    a = ap.parse_args()
    r = iclbench.load(a.results)
    set_name = a.set or next(iter(r.sets))
    if set_name not in r.sets:
        sys.exit(f"maze_failures: no set '{set_name}' in {a.results} (sets: {', '.join(r.sets)})")
    attrs = r.sets[set_name]
    if attrs.get("task") != "maze":
        sys.exit(f"maze_failures: set {set_name} is task {attrs.get('task')}, not maze")
    curves = [c for (s, _), c in r.curves.items() if s == set_name]
    curve = next((c for c in curves if (c.predictor == a.predictor if a.predictor
                                        else c.attrs.get("kind") == "model")), None)
    if curve is None:
        sys.exit(f"maze_failures: no predictor {a.predictor or '(model)'} in set {set_name}")
    if "first_move" not in curve.extra_per_prompt:
        sys.exit(f"maze_failures: {a.results} has no per-prompt scores (run with "
                 "eval.per_prompt: true, or icl eval --per-prompt)")
    declared = next(t for t in iclbench.tasks() if t["name"] == "maze")["params"]
    params = {p["name"]: attrs[p["name"]] for p in declared if p["name"] in attrs}
    seed = int(r.attrs["seed"])
    for j, n in enumerate(curve.x):
        first = curve.extra_per_prompt["first_move"][:, j]
        exact = curve.extra_per_prompt["exact_path"][:, j]
        prompts = iclbench.sample("maze", len(first), int(n), seed=seed, stream=set_name, **params)
        mazes = prompts.exports()[0]
        degree = np.array([origin_degree(o, c)
                           for o, c in zip(mazes["maze/open"], mazes["maze/origin"])])
        length = mazes["maze/path_length"]
        print(f"{curve.predictor} on {n}×{n} mazes ({len(first)} prompts of set {set_name}): "
              f"first move {first.mean():.3f}, exact path {exact.mean():.3f}")
        table("origin degree", {d: str(d) for d in sorted(set(degree.tolist()))}, degree, first,
              exact)
        bins = np.minimum(length // 4 * 4, 16)
        labels = {b: f"{b}-{b + 3} cells" if b < 16 else "16+ cells" for b in sorted(set(bins.tolist()))}
        table("BFS path length", labels, bins, first, exact)
        choice = degree >= 2
        if choice.any() and (~choice).any():
            print(f"first move at a forced start {first[~choice].mean():.3f}, at a choice "
                  f"{first[choice].mean():.3f}")


if __name__ == "__main__":
    main()

"""examples/train_tiny_transformer.py, shortened: a PyTorch client trains on PromptStream and plots
its curve against iclbench.baseline curves on the same prompts."""
import os
import subprocess
import sys

import pytest

pytest.importorskip("torch")
pytest.importorskip("matplotlib")

SOURCE = os.environ.get("ICL_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))


def test_example_trains_and_draws(tmp_path):
    script = os.path.join(SOURCE, "examples", "train_tiny_transformer.py")
    p = subprocess.run([sys.executable, script, "--steps", "60", "--test-prompts", "256",
                        "--workers", "2", "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    assert "step 60/60" in p.stdout and "least_squares" in p.stdout
    assert (tmp_path / "tiny_transformer.png").stat().st_size > 10000
    # The table's rows: the model learned something in 60 steps (error at k = K − 1 below the
    # error of predicting 0, which is 1 after normalising by d).
    row = next(line for line in p.stdout.splitlines() if line.startswith("transformer"))
    assert float(row.split()[-1]) < 1.0, row


def test_maze_failures_splits_per_prompt_scores(tmp_path):
    """examples/maze_failures.py on a tiny maze run with eval.per_prompt: the rows split every
    prompt once, by origin degree and by path length."""
    import iclbench
    out = str(tmp_path / "m.h5")
    iclbench.run("nolte2024/dfs_mazes_quick",
                 overrides={"train.steps": 2, "train.eval_every": 2, "eval.prompts": 48,
                            "eval.bootstrap": 20, "eval.per_prompt": True, "model.n_layer": 1,
                            "model.n_embd": 16},
                 out=out, verbose=False)
    script = os.path.join(SOURCE, "examples", "maze_failures.py")
    p = subprocess.run([sys.executable, script, out], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert "transformer on 5×5 mazes (48 prompts of set held_out)" in p.stdout
    rows = [line.split() for line in p.stdout.splitlines() if line.startswith("  ")]
    counts = [int(r[-3]) for r in rows if r[-3].isdigit()]
    assert sum(counts) == 2 * 48, p.stdout  # each table covers every prompt once
    # The BFS solver: every split exact.
    p = subprocess.run([sys.executable, script, out, "--predictor", "maze_bfs"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert all(r[-1] == "1.000" and r[-2] == "1.000" for r in
               (line.split() for line in p.stdout.splitlines() if line.startswith("  "))
               if r[-3].isdigit())
    # A file without per-prompt scores: one line saying how to get them.
    iclbench.run("nolte2024/dfs_mazes_quick",
                 overrides={"train.steps": 2, "train.eval_every": 2, "eval.prompts": 8,
                            "eval.bootstrap": 20, "model.n_layer": 1, "model.n_embd": 16},
                 out=str(tmp_path / "plain.h5"), verbose=False)
    p = subprocess.run([sys.executable, script, str(tmp_path / "plain.h5")], capture_output=True,
                       text=True, timeout=300)
    assert p.returncode != 0 and "eval.per_prompt: true" in p.stderr

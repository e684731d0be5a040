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

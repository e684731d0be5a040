"""A task written in Python: registered with one decorator, sampled, evaluated against the
baselines that fit it, trained on and written to results.h5 by iclbench.run and by icl run."""
import json
import sys
import textwrap

import numpy as np
import pytest

import iclbench

MODULE = textwrap.dedent('''
    import dataclasses
    from typing import Literal

    import numpy as np

    import iclbench


    @iclbench.task(name="py_scaled_linear")
    @dataclasses.dataclass
    class ScaledLinear:
        """y = scale * w.x with w ~ N(0, I_d): linear regression written in Python"""
        d: int = dataclasses.field(default=3, metadata={"min": 1, "help": "dimension"})
        scale: float = 2.0
        noise: Literal["none", "small"] = "none"

        def check_examples(self, examples):
            if examples > 64:
                raise ValueError("at most 64 examples")

        def sample(self, rng, prompts, examples):
            w = rng.normal((self.d,))
            xs = rng.normal((examples, self.d))
            ys = self.scale * np.einsum("bkd,bd->bk", xs, w)
            if self.noise == "small":
                ys += 0.01 * rng.normal((examples,))
            return xs, ys, w
''')


@pytest.fixture(scope="module")
def tasks_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("pytasks")
    (d / "mytasks.py").write_text(MODULE)
    sys.path.insert(0, str(d))
    import mytasks  # noqa: F401  (registers the task)
    yield d
    sys.path.remove(str(d))


def test_registered_and_listed(tasks_dir):
    names = {t["name"]: t for t in iclbench.tasks()}
    assert "py_scaled_linear" in names and "python:mytasks:ScaledLinear" in names
    params = {p["name"]: p for p in names["python:mytasks:ScaledLinear"]["params"]}
    assert params["d"]["type"] == "int" and params["d"]["min"] == 1
    assert params["noise"]["choices"] == ["none", "small"]
    assert "linear regression written in Python" in names["python:mytasks:ScaledLinear"]["summary"]


def test_sampled_per_prompt_like_a_built_in_task(tasks_dir):
    a = iclbench.sample("py_scaled_linear", 10, 7, seed=2, d=4)
    assert a.task == "python:mytasks:ScaledLinear" and a.xs.shape == (10, 7, 4)
    assert a.truth.shape == (10, 4) and a.ys.shape == (10, 7, 1)
    np.testing.assert_allclose(a.ys[..., 0], 2.0 * np.einsum("bkd,bd->bk", a.xs, a.truth),
                               rtol=1e-4, atol=1e-5)
    b = iclbench.sample("py_scaled_linear", 3, 7, seed=2, first=6, d=4)
    np.testing.assert_array_equal(b.xs, a.xs[6:9])
    # Its draws are the built-in task's: xs of linear_regression come from the same streams.
    with pytest.raises(ValueError, match="at most 64 examples"):
        iclbench.sample("py_scaled_linear", 2, 65)
    with pytest.raises(ValueError, match="noise"):
        iclbench.sample("py_scaled_linear", 2, 5, noise="large")
    with pytest.raises(ValueError, match="d"):
        iclbench.sample("py_scaled_linear", 2, 5, d=0)


def test_every_fitting_baseline_evaluates_it(tasks_dir):
    p = iclbench.sample("py_scaled_linear", 20, 8, d=3)
    for b in iclbench.baselines():
        if b["not_built"]:
            continue
        try:
            pred = iclbench.baseline(b["name"]).predict(p)
        except ValueError:
            continue  # a baseline for another kind of prompts or labels says so
        assert pred.shape[:2] == (20, 8), b["name"]
    ls = iclbench.baseline("least_squares").curve(p.xs, p.ys)
    np.testing.assert_allclose(ls[:, 3:], p.ys[:, 3:, 0], rtol=1e-3, atol=1e-3)


def test_bad_task_classes_are_one_line_errors(tasks_dir):
    import dataclasses

    class NotADataclass:
        def sample(self, rng, prompts, examples):
            return None

    with pytest.raises(ValueError, match="must be a dataclass"):
        iclbench.task(NotADataclass)

    @iclbench.task
    @dataclasses.dataclass
    class WrongShape:
        def sample(self, rng, prompts, examples):
            return rng.normal((examples,)), rng.normal((examples + 1,))

    with pytest.raises(ValueError, match=r"ys must have shape \[\d+, \d+, \.\.\.\] for \d+ prompts"):
        iclbench.sample(WrongShape.iclbench_name, 2, 5)

    @iclbench.task
    @dataclasses.dataclass
    class Raises:
        def sample(self, rng, prompts, examples):
            raise RuntimeError("broken generator")

    with pytest.raises(ValueError, match="sample raised RuntimeError: broken generator"):
        iclbench.sample(Raises.iclbench_name, 2, 5)


CONFIG = {"seed": 9, "eval": {"prompts": 48, "examples": 8, "bootstrap": 20},
          "baselines": ["least_squares", "averaging"]}


def test_end_to_end_into_results_h5_from_python_and_from_icl(tasks_dir, tmp_path, icl):
    # From Python, by its short name; a model trained on it too.
    cfg = dict(CONFIG, task={"name": "py_scaled_linear", "d": 3},
               model={"name": "transformer", "n_layer": 1, "n_head": 1, "n_embd": 16},
               train={"steps": 10, "batch_size": 8})
    res = iclbench.run(cfg, out=str(tmp_path / "py.h5"), verbose=False)
    assert res.sets["standard"]["task"] == "python:mytasks:ScaledLinear"
    assert len(res.train["loss"]) == 10
    ls = res.curve("least_squares").mean
    assert ls[0] > 1 and ls[-1] < 1e-4  # exact once K > d

    # From icl: the config names the module, the interpreter is embedded, the prompts the same.
    cli_cfg = dict(CONFIG, task={"name": "python", "module": "mytasks:ScaledLinear", "d": 3})
    (tasks_dir / "cli.yaml").write_text(json.dumps(cli_cfg))
    icl("run", "cli.yaml", "--out", tmp_path / "cli.h5", "--no-figures", cwd=tasks_dir)
    cli = iclbench.load(tmp_path / "cli.h5")
    assert cli.curve("least_squares").mean.tobytes() == ls.tobytes()
    assert cli.curve("averaging").mean.tobytes() == res.curve("averaging").mean.tobytes()
    assert "python:mytasks:ScaledLinear" in cli.config

    # A module icl cannot import: one line naming it.
    bad = dict(CONFIG, task={"name": "python", "module": "no_such_module:X"})
    (tasks_dir / "bad.yaml").write_text(json.dumps(bad))
    p = icl("run", "bad.yaml", "--out", tmp_path / "bad.h5", cwd=tasks_dir, check=False)
    assert p.returncode == 1 and "no_such_module" in p.stderr and len(p.stderr.splitlines()) == 1

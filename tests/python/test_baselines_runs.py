"""Baseline curves from Python against results files; iclbench.run and load; bad input; Ctrl-C."""
import os
import signal
import threading

import numpy as np
import pytest

import iclbench

CONFIG = {
    "benchmark": "py_baselines",
    "seed": 5,
    "task": {"name": "linear_regression", "d": 4},
    "eval": {"prompts": 96, "examples": 9, "bootstrap": 20, "batch_size": 40},
    "baselines": ["least_squares", "averaging", {"name": "knn", "k": 3},
                  {"name": "ridge", "lambda": 0.5}],
}


def test_curves_from_python_equal_the_results_file(tmp_path, icl):
    res = iclbench.run(CONFIG, out=str(tmp_path / "r.h5"), verbose=False)
    p = iclbench.sample("linear_regression", 96, 9, seed=5, stream="standard", d=4)
    assert set(res.sets) == {"standard"}
    for (name, params), label in [(("least_squares", {}), "least_squares"),
                                  (("averaging", {}), "averaging"),
                                  (("knn", {"k": 3}), "knn(k=3)"),
                                  (("ridge", {"lambda": 0.5}), "ridge(lambda=0.5)")]:
        b = iclbench.baseline(name, **params)
        assert b.label == label
        pred = b.curve(p.xs, p.ys)
        assert pred.shape == (96, 9)
        np.testing.assert_array_equal(b.predict(p)[..., 0], pred)
        err = ((pred.astype(np.float64) - p.ys[..., 0]) ** 2).mean(axis=0) / p.normalisation
        np.testing.assert_allclose(res.curve(label).mean, err, rtol=1e-5, atol=1e-7)
    # The same file from the CLI: the same curves, bit for bit.
    cfg = tmp_path / "py_baselines.yaml"
    import json
    cfg.write_text(json.dumps({k: v for k, v in CONFIG.items() if k != "benchmark"}))
    icl("run", cfg, "--out", tmp_path / "cli.h5", "--no-figures")
    cli = iclbench.load(tmp_path / "cli.h5")
    for key, c in res.curves.items():
        assert cli.curves[key].mean.tobytes() == c.mean.tobytes(), key


def test_curve_takes_torch_tensors_and_gives_one_back():
    torch = pytest.importorskip("torch")
    p = iclbench.sample("linear_regression", 16, 8, d=3)
    xs, ys = torch.from_numpy(p.xs.copy()), torch.from_numpy(p.ys[..., 0].copy())
    out = iclbench.baseline("least_squares").curve(xs, ys)
    assert isinstance(out, torch.Tensor) and out.shape == (16, 8)
    np.testing.assert_array_equal(out.numpy(), iclbench.baseline("least_squares").curve(p.xs, p.ys))
    # least squares is exact once it has d examples of a noiseless linear task
    assert torch.allclose(out[:, 4:], ys[:, 4:], atol=1e-3)


def test_load_reads_training_runs(tmp_path):
    res = iclbench.run("quickstart", overrides={"train.steps": 20, "eval.prompts": 32,
                                                 "eval.bootstrap": 20,
                                                 "train.layer_stats_every": 10},
                       out=str(tmp_path / "q.h5"), verbose=False)
    assert len(res.train["loss"]) == 20 and res.train["step"][-1] == 20
    # per-layer statistics at steps 1, 10 and 20, one column per block of the quickstart's three
    assert list(res.train["layer_step"]) == [1, 10, 20]
    assert res.train["layer_grad_norm"].shape == (3, 3) == res.train["layer_variance"].shape
    assert res.attrs["benchmark"] == "quickstart" and "model:" in res.config
    assert any(c.attrs.get("kind") == "model" for c in res.curves.values())
    assert all(c.per_prompt is None for c in res.curves.values())  # not asked for


def test_load_reads_per_prompt_scores(tmp_path):
    res = iclbench.run("nolte2024/dfs_mazes_quick",
                       overrides={"train.steps": 2, "train.eval_every": 2, "eval.prompts": 8,
                                  "eval.bootstrap": 20, "eval.per_prompt": True,
                                  "model.n_layer": 1, "model.n_embd": 16},
                       out=str(tmp_path / "m.h5"), verbose=False)
    bfs = res.curve("maze_bfs")
    assert bfs.per_prompt.shape == (8, 1) and (bfs.per_prompt == 1).all()
    assert set(bfs.extra_per_prompt) == {"exact_path", "valid_path", "token_path", "first_move"}
    model = next(c for c in res.curves.values() if c.attrs.get("kind") == "model")
    for m, (mean, _, _) in model.extra.items():
        assert np.allclose(model.extra_per_prompt[m].mean(axis=0), mean)
    try:
        import pandas  # noqa: F401
        df = res.to_pandas()
        assert set(df.columns) == {"set", "predictor", "x", "mean", "lo", "hi"}
    except ImportError:
        with pytest.raises(ImportError):
            res.to_pandas()


@pytest.mark.parametrize("call,cli", [
    (lambda: iclbench.sample("no_such_task", 2), ["generate", "no_such_task", "-n", "2", "-o", "x.h5"]),
    (lambda: iclbench.sample("linear_regression", 2, d=0),
     ["generate", "linear_regression", "--set", "d=0", "-n", "2", "-o", "x.h5"]),
    (lambda: iclbench.sample("linear_regression", 2, dd=3),
     ["generate", "linear_regression", "--set", "dd=3", "-n", "2", "-o", "x.h5"]),
    (lambda: iclbench.run("no_such_benchmark", out="x.h5"), ["run", "no_such_benchmark"]),
    (lambda: iclbench.run("quickstart", overrides={"train.steps": -1}, out="x.h5"),
     ["run", "quickstart", "--set", "train.steps=-1"]),
])
def test_bad_input_raises_value_error_with_the_cli_line(icl, tmp_path, call, cli):
    with pytest.raises(ValueError) as e:
        call()
    p = icl(*cli, cwd=tmp_path, check=False)
    assert p.returncode == 1
    # The same line; a list of known tasks may differ by the tasks this session wrote in Python.
    line = str(e.value).split(" (known tasks:")[0]
    assert p.stderr.startswith(f"icl: error: {line}") and p.stderr.count("\n") == 1, \
        (p.stderr, str(e.value))


def test_bad_input_to_baselines_and_streams():
    with pytest.raises(ValueError, match="unknown baseline 'nope'"):
        iclbench.baseline("nope")
    with pytest.raises(ValueError, match="lambda"):
        iclbench.baseline("ridge", **{"lambda": -1})
    b = iclbench.baseline("least_squares")
    with pytest.raises(ValueError, match="ys: must be"):
        b.curve(np.zeros((2, 3, 4)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="xs: must be"):
        b.curve(np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="must be an array of numbers"):
        b.curve("abc", np.zeros((2, 3)))
    with pytest.raises(ValueError, match="stream"):
        iclbench.sample("linear_regression", 2, stream="a/b")
    with pytest.raises(ValueError, match="prompts: must be >= 1"):
        iclbench.sample("linear_regression", 0)
    with pytest.raises(ValueError, match="layout"):
        from iclbench import torch as itorch
        itorch.PromptStream("linear_regression", 4, layout="x")


def test_ctrl_c_stops_a_run_with_its_checkpoint_and_python_goes_on(tmp_path):
    out = tmp_path / "long.h5"
    timer = threading.Timer(3.0, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        iclbench.run("quickstart", overrides={"train.steps": 200000}, out=str(out), verbose=False)
    timer.cancel()
    saved = iclbench.load(out)  # the checkpoint of the step it stopped at
    assert 0 < len(saved.train["loss"]) < 200000
    # The interpreter's own handler is back: SIGINT is a KeyboardInterrupt in Python code again.
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(1000):
            threading.Event().wait(0.01)


def test_ctrl_c_stops_a_long_baseline_call():
    p = iclbench.sample("linear_regression", 40000, 40, d=20)
    ls = iclbench.baseline("least_squares")
    timer = threading.Timer(0.1, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        ls.curve(p.xs, p.ys)
    timer.cancel()
    assert ls.curve(p.xs[:4], p.ys[:4]).shape == (4, 40)  # and the next call runs as usual


def test_replicas_are_refused_in_one_line(tmp_path):
    """iclbench.run returns one run's results; train.replicas writes a file per replica (icl run)."""
    with pytest.raises(ValueError, match=r"^train\.replicas: iclbench\.run trains one model and "
                                         r"returns its results; run the 3 replicas with icl run"):
        iclbench.run("quickstart", overrides={"train.replica_seeds": [1, 2, 3]},
                     out=str(tmp_path / "x.h5"), verbose=False)
    assert list(tmp_path.iterdir()) == []

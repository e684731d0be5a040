"""iclbench.sample: the bytes icl generate writes, for every registered task; views, not copies;
prompt i a pure function of (seed, stream, i)."""
import h5py
import numpy as np
import pytest

import iclbench

BUILT_IN = [t["name"] for t in iclbench.tasks() if not t["name"].startswith("python:")]


def generate(icl, tmp_path, task, k):
    out = tmp_path / f"{task}.h5"
    p = icl("generate", task, "--prompts", 5, "--examples", k, "--seed", 11, "--stream", "shift",
            "--out", out, check=False)
    return p, out


@pytest.mark.parametrize("task", BUILT_IN)
def test_sample_equals_icl_generate(icl, tmp_path, task):
    for k in (9, 4, 2, 16, 1):  # the first length the task accepts
        p, out = generate(icl, tmp_path, task, k)
        if p.returncode == 0:
            break
        # Where icl refuses K, sample refuses it with the same line.
        with pytest.raises(ValueError) as e:
            iclbench.sample(task, 5, k, seed=11, stream="shift")
        assert str(e.value) in p.stderr, (str(e.value), p.stderr)
    assert p.returncode == 0, p.stderr
    s = iclbench.sample(task, 5, k, seed=11, stream="shift")
    arrays = s.arrays()
    exports, group_attrs = s.exports()
    with h5py.File(out, "r") as f:
        datasets = {}
        f.visititems(lambda name, obj: datasets.__setitem__(name, obj[()])
                     if isinstance(obj, h5py.Dataset) else None)
        assert set(datasets) == set(arrays) | set(exports), (sorted(datasets), sorted(arrays))
        for name, want in datasets.items():
            got = arrays.get(name, exports.get(name))
            assert got.dtype == want.dtype and got.shape == want.shape, name
            assert got.tobytes() == want.tobytes(), f"{task}: {name} differs"
        for where, value in group_attrs.items():
            group, attr = where.split("@")
            assert f[group].attrs[attr] == value
        assert f.attrs["task"] == task and f.attrs["loss"] == s.loss
        assert f.attrs["metric"] == s.metric and f.attrs["normalisation"] == s.normalisation
        for name, v in f["task_params"].attrs.items():
            want = s.params[name]
            v = v.decode() if isinstance(v, bytes) else v
            if isinstance(want, bool):
                assert bool(v) == want or str(v).lower() == str(want).lower(), name
            elif isinstance(want, (int, float)):
                assert float(v) == float(want), name
            else:
                assert v == want, name


def test_arrays_are_views_of_the_batch():
    s = iclbench.sample("linear_regression", 8, 10, d=4)
    assert not s.xs.flags.owndata and s.xs.base is not None
    assert s.xs.dtype == np.float32 and s.xs.shape == (8, 10, 4) and s.ys.shape == (8, 10, 1)
    xs = s.xs
    del s  # the view keeps the batch alive
    assert np.isfinite(xs).all() and xs.std() > 0.5


def test_prompt_i_depends_on_seed_stream_and_i_only():
    whole = iclbench.sample("linear_regression", 12, 6, seed=3, d=5)
    part = iclbench.sample("linear_regression", 4, 6, seed=3, first=5, d=5)
    np.testing.assert_array_equal(part.xs, whole.xs[5:9])
    np.testing.assert_array_equal(part.truth, whole.truth[5:9])
    other = iclbench.sample("linear_regression", 12, 6, seed=4, d=5)
    assert not np.array_equal(other.xs, whole.xs)
    other = iclbench.sample("linear_regression", 12, 6, seed=3, stream="x", d=5)
    assert not np.array_equal(other.xs, whole.xs)


def test_large_samples_are_made_in_chunks_with_the_same_bytes():
    # More prompts than one chunk (1024): the chunks join to the prompts of one call.
    big = iclbench.sample("linear_regression", 2500, 3, seed=1, d=2)
    tail = iclbench.sample("linear_regression", 10, 3, seed=1, first=2490, d=2)
    np.testing.assert_array_equal(big.xs[2490:], tail.xs)
    np.testing.assert_array_equal(big.ys[2490:], tail.ys)


def test_token_tasks_give_tokens_targets_mask_and_vocab():
    token = None
    for t in iclbench.tasks():
        try:
            s = iclbench.sample(t["name"], 3, 8)
        except ValueError:
            continue
        if s.kind != "token":
            continue
        assert s.vocab and s.tokens.shape == s.targets.shape == s.loss_mask.shape
        assert s.tokens.max() < s.vocab and s.xs is None
        scored = s.loss_mask.astype(bool)
        assert (s.targets[scored] >= 0).all() and (s.targets[~scored] == -1).all()
        token = t["name"]
    assert token, "no token task found"


def test_discovery_lists_what_icl_list_lists(icl):
    listed = icl("list").stdout
    built_in = [t for t in iclbench.tasks() if t["name"] in BUILT_IN]
    for group in (built_in, iclbench.baselines(), iclbench.models()):
        assert group
        for entry in group:
            assert f"  {entry['name']} " in listed or f"  {entry['name']}\n" in listed
            for p in entry["params"]:
                assert {"name", "type", "default", "help", "describe"} <= set(p)
    verbose = icl("list", "-v").stdout
    for p in iclbench.tasks()[0]["params"]:
        assert p["describe"] in verbose
    names = [b["name"] for b in iclbench.benchmarks()]
    assert "quickstart" in names

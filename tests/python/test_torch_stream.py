"""iclbench.torch.PromptStream: deterministic per index, split across DataLoader workers without
repeats."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import iclbench  # noqa: E402
import iclbench.torch as itorch  # noqa: E402


def batches(stream, workers):
    loader = torch.utils.data.DataLoader(stream, batch_size=None, num_workers=workers)
    return [tuple(t.numpy() for t in b) for b in loader]


def test_workers_see_disjoint_reproducible_prompts():
    stream = itorch.PromptStream("linear_regression", 4, seed=1, examples=5, batches=6, d=3)
    one = batches(stream, 0)
    two = batches(stream, 2)
    assert len(one) == len(two) == 6
    key = lambda b: b[0].tobytes()  # noqa: E731
    assert sorted(map(key, one)) == sorted(map(key, two))  # the same batches, none twice
    assert len(set(map(key, two))) == 6
    assert [key(b) for b in batches(stream, 2)] == [key(b) for b in two]  # reproducible
    for i, b in enumerate(one):  # batch i is prompts i·B .. i·B + B − 1 of the stream
        s = iclbench.sample("linear_regression", 4, 5, seed=1, stream="train", first=4 * i, d=3)
        np.testing.assert_array_equal(b[0], s.xs)
        np.testing.assert_array_equal(b[1], s.ys[..., 0])


def test_interleaved_layout_is_gargs():
    stream = itorch.PromptStream("linear_regression", 2, examples=3, layout="interleaved",
                                 batches=1, d=4)
    zs, ys = next(iter(stream))
    xs, _ = itorch.PromptStream("linear_regression", 2, examples=3, batches=1, d=4).batch(0)
    assert zs.shape == (2, 6, 4)
    assert torch.equal(zs[:, 0::2], xs) and torch.equal(zs[:, 1::2, 0], ys)
    assert (zs[:, 1::2, 1:] == 0).all()


def test_token_tasks_yield_tokens_targets_and_mask():
    name = next(t["name"] for t in iclbench.tasks()
                if not t["name"].startswith("python:") and _kind(t["name"]) == "token")
    tokens, targets, mask = next(iter(itorch.PromptStream(name, 3, examples=8, batches=1)))
    assert tokens.dtype == torch.long and tokens.shape == targets.shape == mask.shape


def _kind(name):
    try:
        return iclbench.sample(name, 1, 8).kind
    except ValueError:
        return None

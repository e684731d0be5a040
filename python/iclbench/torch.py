"""PyTorch data from iclbench: :class:`PromptStream`."""
from __future__ import annotations

import numpy as np
import torch as _torch

from . import sample, set_threads


def interleave(xs: _torch.Tensor, ys: _torch.Tensor) -> _torch.Tensor:
    """Garg et al.'s layout (dtsip/in-context-learning, ``_combine``): [B, 2K, dx] with x_k at
    token 2k and (y_k, 0, …, 0) at token 2k + 1."""
    b, k, dx = xs.shape
    ys_wide = _torch.zeros(b, k, dx, dtype=xs.dtype)
    ys_wide[:, :, 0] = ys.reshape(b, k, -1)[:, :, 0]
    return _torch.stack((xs, ys_wide), dim=2).reshape(b, 2 * k, dx)


class PromptStream(_torch.utils.data.IterableDataset):
    """Batches of prompts of a task as torch tensors, drawn from iclbench's generators.

    Batch i holds prompts i·B .. i·B + B − 1 of the stream (seed, stream): it is the same whatever
    the number of DataLoader workers (worker w of W yields batches w, w + W, …, so no batch is
    repeated or skipped) and is ``iclbench.sample(task, B, examples, seed, stream, first=i·B)``.
    Yields (xs, ys) with xs [B, K, dx], ys [B, K] (``layout="separate"``), or Garg's interleaved
    [B, 2K, dx] with ys (``layout="interleaved"``); token tasks yield (tokens, targets, loss_mask).
    ``batches``: how many (None: endless). Use it with ``DataLoader(stream, batch_size=None)``."""

    def __init__(self, task: str, batch_size: int, seed: int = 0, examples: int = 40,
                 stream: str = "train", layout: str = "separate", batches: int | None = None,
                 start: int = 0, **params):
        if layout not in ("separate", "interleaved"):
            raise ValueError(f"layout: must be separate or interleaved, got '{layout}'")
        if batch_size < 1:
            raise ValueError(f"batch_size: must be >= 1, got {batch_size}")
        if batches is not None and batches < 0:
            raise ValueError(f"batches: must be >= 0 or None, got {batches}")
        self.task, self.batch_size, self.seed, self.examples = task, batch_size, seed, examples
        self.stream, self.layout, self.batches, self.start, self.params = (stream, layout, batches,
                                                                           start, params)
        sample(task, 1, examples, seed, stream, **params)  # bad names and parameters fail here

    def batch(self, i: int):
        """Batch i, as iteration yields it."""
        p = sample(self.task, self.batch_size, self.examples, self.seed, self.stream,
                   first=i * self.batch_size, **self.params)
        if p.kind == "token":
            return (_torch.from_numpy(p.tokens).long(), _torch.from_numpy(p.targets).long(),
                    _torch.from_numpy(p.loss_mask).bool())
        xs = _torch.from_numpy(p.xs)
        ys = _torch.from_numpy(p.ys)
        ys = ys[..., 0] if ys.shape[-1] == 1 else ys
        if self.layout == "interleaved":
            return interleave(xs, ys), ys
        return xs, ys

    def __iter__(self):
        info = _torch.utils.data.get_worker_info()
        worker, workers = (0, 1) if info is None else (info.id, info.num_workers)
        if info is not None:
            # A worker is a process of its own, one of several: one thread each. (It also keeps a
            # forked child off the parent's OpenMP thread pool, which libgomp does not carry
            # across fork.)
            set_threads(1)
        i = self.start + worker
        while self.batches is None or i < self.start + self.batches:
            yield self.batch(i)
            i += workers

#!/usr/bin/env python3
"""A PyTorch client of iclbench: Garg et al.'s tiny transformer trained on iclbench prompts.

The model is written here in PyTorch, as a researcher would (GPT-2 blocks: pre-LayerNorm, GELU
MLP, learned positions; x and y interleaved as in dtsip/in-context-learning's ``_combine``, the
prediction for y_k read at the token of x_k). iclbench supplies what the model trains and is tested
on: ``PromptStream`` for the training batches, ``sample`` for the test prompts, and the
``baseline`` curves (least squares, averaging, 3-NN) on the same test prompts. The figure is the
error against the number of in-context examples, normalised by d, as Garg et al.'s Fig. 2.

    PYTHONPATH=build/python /usr/bin/python3 examples/train_tiny_transformer.py --out results/example

Sizes and recipe are the quickstart's (configs/quickstart.yaml): Garg's tiny model (3 layers, 2
heads, width 64) on d = 5, here K = 11 (2d + 1), batch 64, Adam at 1e-3 with warmup, cosine decay
and clipping; 2000 steps (about 3 minutes on a 2-core CPU).
"""
import argparse
import os
import time

import numpy as np
import torch
from torch import nn

import iclbench
from iclbench.torch import PromptStream, interleave


class TinyTransformer(nn.Module):
    def __init__(self, d, max_examples, width=64, layers=3, heads=2):
        super().__init__()
        self.read_in = nn.Linear(d, width)
        self.pos = nn.Parameter(torch.zeros(2 * max_examples, width))
        nn.init.normal_(self.pos, std=0.02)
        block = nn.TransformerEncoderLayer(width, heads, 4 * width, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(block, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)
        self.read_out = nn.Linear(width, 1)

    def forward(self, zs):  # zs [B, 2K, d] -> predictions of y_k at the x tokens, [B, K]
        t = zs.shape[1]
        mask = torch.triu(torch.full((t, t), float("-inf")), diagonal=1)
        h = self.blocks(self.read_in(zs) + self.pos[:t], mask=mask)
        return self.read_out(self.norm(h))[:, 0::2, 0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--d", type=int, default=5)
    ap.add_argument("--examples", type=int, default=11)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--test-prompts", type=int, default=1280)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")
    ap.add_argument("--out", default="results/example", help="directory for the figure")
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(max(1, os.cpu_count() or 1))

    stream = PromptStream("linear_regression", a.batch_size, seed=a.seed, examples=a.examples,
                          layout="interleaved", batches=a.steps, d=a.d)
    loader = torch.utils.data.DataLoader(stream, batch_size=None, num_workers=a.workers)
    model = TinyTransformer(a.d, a.examples)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    # The quickstart's recipe (configs/quickstart.yaml): linear warmup, cosine decay to 5%, clip 1.
    warmup = min(200, a.steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: (s + 1) / warmup if s < warmup else
                                              0.05 + 0.95 * 0.5 * (1 + np.cos(np.pi * (s - warmup) /
                                                                   max(1, a.steps - warmup))))
    start = time.time()
    for step, (zs, ys) in enumerate(loader, 1):
        loss = ((model(zs) - ys) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 50 == 0 or step == a.steps:
            print(f"step {step}/{a.steps}  loss {loss.item():.4f}  {time.time() - start:.1f} s",
                  flush=True)

    # Test prompts and baselines: the same prompts for every curve.
    test = iclbench.sample("linear_regression", a.test_prompts, a.examples, seed=a.seed, d=a.d)
    xs, ys = torch.from_numpy(test.xs), torch.from_numpy(test.ys[..., 0])
    with torch.no_grad():
        curves = {"transformer (PyTorch)": model(interleave(xs, ys))}
    for name, params in [("least_squares", {}), ("averaging", {}), ("knn", {"k": 3})]:
        b = iclbench.baseline(name, **params)
        curves[b.label] = b.curve(xs, ys)
    errors = {k: (((v - ys) ** 2).mean(0) / a.d).numpy() for k, v in curves.items()}

    print(f"\nsquared error / d on {a.test_prompts} test prompts (d = {a.d})")
    cols = [0, a.d // 2, a.d, a.examples - 1]
    print(f"{'predictor':<26}" + "".join(f"  k={k:<6}" for k in cols))
    for k, e in errors.items():
        print(f"{k:<26}" + "".join(f"  {e[c]:<8.4f}" for c in cols))

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    os.makedirs(a.out, exist_ok=True)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for k, e in errors.items():
        ax.plot(np.arange(a.examples), e, label=k, lw=2 if "transformer" in k else 1.2)
    ax.axvline(a.d, color="grey", ls=":", lw=0.8)
    ax.set(xlabel="in-context examples", ylabel="squared error / d", ylim=(0, 1.25),
           title=f"PyTorch model on iclbench prompts ({a.steps} steps)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = os.path.join(a.out, "tiny_transformer.png")
    fig.savefig(path, dpi=120)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

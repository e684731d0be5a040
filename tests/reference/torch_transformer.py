#!/usr/bin/python3
"""PyTorch oracle for iclbench's transformer: rebuilds the model from a dump_transformer file.

The model is written here from the architecture's description (GPT-2 with Garg et al.'s linear
read-in and read-out, docs/TASKS.md "Models named in the seed papers"), in plain
torch.nn.functional, not translated from the C++:

  tokens      x_1, (y_1, 0..0), x_2, (y_2, 0..0), ...          [B, 2K, d]
  read-in     h = tokens @ read_in.w + read_in.b                (weights stored [in, out])
  positions   h += pos[:2K]      (pos=learned: [2·max_examples, C], so K may be shorter; none: nothing)
  block l     (1-based ℓ = l + 1; every norm output in block ℓ × 1/√ℓ when ln_scaling)
     pre      x + f(N(x))
     post     N(x + f(x))
     peri     x + N_out(f(N_in(x)))
     mix      post in the first ⌊mix_alpha·L⌋ blocks, pre after them
     f = attn: causal multi-head softmax attention, qkv = x @ w_qkv + b_qkv split [q | k | v],
               head h = columns h·hd .. (h+1)·hd of each, scores q·k/√hd, out @ w_out + b_out
     f = mlp:  gelu_tanh(x @ w_in + b_in) @ w_out + b_out
  final norm  norm_f (not for post)
  read-out    pred = h[:, 0::2] @ read_out.w + read_out.b   (at the x tokens)
  loss        mean((pred − y)²)
  N           LayerNorm (biased variance) or RMSNorm x/√(mean(x²) + eps)·g, eps = 1e-5

Then every gradient comes from torch.autograd in float32, and each of pred, loss and the gradient of
every parameter is compared with iclbench's: max|ours − torch| / max|torch| must be <= --tol
(1e-4). One line per tensor, then "N passed, M failed"; the exit status is 0 only if all passed.

    /usr/bin/python3 tests/reference/torch_transformer.py DUMP.h5 [DUMP2.h5 ...] [--tol 1e-4]
"""
import argparse
import math
import sys

import h5py
import numpy as np
import torch
import torch.nn.functional as F

EPS = 1e-5


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


class Config:
    def __init__(self, attrs):
        a = {k: attrs[k] for k in attrs.keys()}
        self.n_layer = int(text(a["n_layer"]))
        self.n_head = int(text(a["n_head"]))
        self.n_embd = int(text(a["n_embd"]))
        self.mlp_ratio = int(text(a["mlp_ratio"]))
        self.pos = text(a["pos"])
        self.norm = text(a["norm"])
        self.placement = text(a["placement"])
        self.mix_alpha = float(text(a["mix_alpha"]))
        self.ln_scaling = text(a["ln_scaling"]) == "true"
        self.attention = text(a.get("attention", "softmax"))
        self.d, self.K, self.B = int(a["d"]), int(a["K"]), int(a["B"])
        self.max_examples = int(a["max_examples"]) if "max_examples" in a else self.K
        # Blocks 0 .. post_layers-1 are post-LN.
        if self.placement == "post":
            self.post_layers = self.n_layer
        elif self.placement == "mix":
            self.post_layers = int(math.floor(self.mix_alpha * self.n_layer))
        else:
            self.post_layers = 0

    def describe(self):
        return (f"L={self.n_layer} H={self.n_head} C={self.n_embd} {self.placement}/{self.norm}"
                f" pos={self.pos} ln_scaling={str(self.ln_scaling).lower()}"
                f" attention={self.attention} d={self.d} K={self.K} B={self.B}"
                f" max_examples={self.max_examples}")


def expected_names(cfg):
    """The parameter names the architecture has (iclbench's naming scheme)."""
    def norm(prefix):
        return [prefix + ".g"] + ([prefix + ".b"] if cfg.norm == "layernorm" else [])

    names = ["read_in.w", "read_in.b"]
    if cfg.pos == "learned":
        names.append("pos")
    for l in range(cfg.n_layer):
        b = f"blocks.{l}."
        names += norm(b + "norm1")
        names += [b + "attn.w_qkv", b + "attn.b_qkv", b + "attn.w_out", b + "attn.b_out"]
        if cfg.placement == "peri":
            names += norm(b + "norm1_out")
        names += norm(b + "norm2")
        names += [b + "mlp.w_in", b + "mlp.b_in", b + "mlp.w_out", b + "mlp.b_out"]
        if cfg.placement == "peri":
            names += norm(b + "norm2_out")
    if cfg.placement != "post":
        names += norm("norm_f")
    names += ["read_out.w", "read_out.b"]
    return names


def normalise(cfg, P, x, prefix, layer):
    g = P[prefix + ".g"]
    if cfg.norm == "layernorm":
        y = F.layer_norm(x, (x.shape[-1],), g, P[prefix + ".b"], EPS)
    else:
        y = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS) * g
    if cfg.ln_scaling and layer >= 1:
        y = y / math.sqrt(layer)
    return y


def attention(cfg, P, x, b):
    B, T, C = x.shape
    H = cfg.n_head
    hd = C // H
    qkv = x @ P[b + "attn.w_qkv"] + P[b + "attn.b_qkv"]
    q, k, v = qkv.split(C, dim=-1)
    q, k, v = (t.view(B, T, H, hd).transpose(1, 2) for t in (q, k, v))  # [B, H, T, hd]
    s = q @ k.transpose(-1, -2) / math.sqrt(hd)
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    if cfg.attention == "softmax":
        p = F.softmax(s.masked_fill(~causal, float("-inf")), dim=-1)
    else:  # ReLU attention: relu(scores) / (number of visible keys)
        counts = torch.arange(1, T + 1, dtype=x.dtype).view(T, 1)
        p = F.relu(s).masked_fill(~causal, 0.0) / counts
    a = (p @ v).transpose(1, 2).reshape(B, T, C)
    return a @ P[b + "attn.w_out"] + P[b + "attn.b_out"]


def mlp(P, x, b):
    u = F.gelu(x @ P[b + "mlp.w_in"] + P[b + "mlp.b_in"], approximate="tanh")
    return u @ P[b + "mlp.w_out"] + P[b + "mlp.b_out"]


def forward(cfg, P, xs, ys):
    B, K, d = xs.shape
    tokens = torch.zeros(B, 2 * K, d, dtype=xs.dtype)
    tokens[:, 0::2, :] = xs
    tokens[:, 1::2, : ys.shape[-1]] = ys
    h = tokens @ P["read_in.w"] + P["read_in.b"]
    if cfg.pos == "learned":
        h = h + P["pos"][: 2 * K]
    for l in range(cfg.n_layer):
        b, layer = f"blocks.{l}.", l + 1
        if l < cfg.post_layers:
            h = normalise(cfg, P, h + attention(cfg, P, h, b), b + "norm1", layer)
            h = normalise(cfg, P, h + mlp(P, h, b), b + "norm2", layer)
        elif cfg.placement == "peri":
            h = h + normalise(cfg, P, attention(cfg, P, normalise(cfg, P, h, b + "norm1", layer), b),
                              b + "norm1_out", layer)
            h = h + normalise(cfg, P, mlp(P, normalise(cfg, P, h, b + "norm2", layer), b),
                              b + "norm2_out", layer)
        else:
            h = h + attention(cfg, P, normalise(cfg, P, h, b + "norm1", layer), b)
            h = h + mlp(P, normalise(cfg, P, h, b + "norm2", layer), b)
    if cfg.placement != "post":
        h = normalise(cfg, P, h, "norm_f", 0)
    return h[:, 0::2, :] @ P["read_out.w"] + P["read_out.b"]


def rel_error(ours, ref):
    ours = np.asarray(ours, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if ours.shape != ref.shape:
        return math.inf
    diff = np.max(np.abs(ours - ref)) if ref.size else 0.0
    scale = np.max(np.abs(ref)) if ref.size else 0.0
    return diff / scale if scale > 0 else diff  # an all-zero reference: absolute error


def check_file(path, tol, dtype):
    """Compares one dump; returns (passed, failed, worst relative error)."""
    with h5py.File(path, "r") as f:
        cfg = Config(f["config"].attrs)
        xs = torch.from_numpy(f["xs"][()])
        ys = torch.from_numpy(f["ys"][()])
        ours_pred = f["pred"][()]
        ours_loss = f["loss"][()]
        params = {n: f["params"][n][()] for n in f["params"].keys()}
        grads = {n: f["grads"][n][()] for n in f["grads"].keys()}
    print(f"== {path}: {cfg.describe()}")

    passed = failed = 0
    worst = 0.0

    def report(name, err, extra=""):
        nonlocal passed, failed, worst
        ok = err <= tol
        worst = max(worst, err)
        passed += ok
        failed += not ok
        print(f"  {'PASS' if ok else 'FAIL'}  {name:<32} rel {err:.3e}{extra}")

    expected = set(expected_names(cfg))
    names_ok = set(params) == expected and set(grads) == expected
    if not names_ok:
        print(f"  FAIL  parameter names: missing {sorted(expected - set(params))},"
              f" unexpected {sorted(set(params) - expected)},"
              f" gradients without parameter {sorted(set(grads) ^ set(params))}")
        failed += 1
    else:
        print(f"  PASS  parameter names ({len(expected)} tensors)")
        passed += 1

    P = {n: torch.tensor(v, dtype=dtype, requires_grad=True) for n, v in params.items()}
    pred = forward(cfg, P, xs.to(dtype), ys.to(dtype))
    loss = (pred - ys.to(dtype)).pow(2).mean()
    loss.backward()

    report("pred", rel_error(ours_pred, pred.detach().numpy()), f"  {list(pred.shape)}")
    report("loss", rel_error(ours_loss, [loss.item()]), f"  ours {float(ours_loss[0]):.7g}"
           f" torch {loss.item():.7g}")
    for n in expected_names(cfg):
        if n not in P or n not in grads:
            continue
        ref = P[n].grad
        ref = np.zeros(P[n].shape) if ref is None else ref.numpy()
        report("grad " + n, rel_error(grads[n], ref), f"  {list(P[n].shape)}")
    print(f"  worst relative error {worst:.3e}")
    return passed, failed, worst


def main():
    ap = argparse.ArgumentParser(
        description="Compare iclbench's transformer (pred, loss, gradients) with a PyTorch rebuild.",
        epilog="Files come from dump_transformer (tests/reference/dump_transformer.cpp).")
    ap.add_argument("dumps", nargs="+", metavar="DUMP.h5", help="files written by dump_transformer")
    ap.add_argument("--tol", type=float, default=1e-4,
                    help="largest allowed max|ours - torch| / max|torch| per tensor (default 1e-4)")
    ap.add_argument("--double", action="store_true",
                    help="compute the reference in float64 instead of float32 (diagnosis)")
    args = ap.parse_args()
    torch.manual_seed(0)
    dtype = torch.float64 if args.double else torch.float32
    passed = failed = 0
    for path in args.dumps:
        p, f, _ = check_file(path, args.tol, dtype)
        passed += p
        failed += f
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""PyTorch oracle for iclbench's past model: rebuilds it from a dump_past file.

The model is written here from the description of Nolte et al. 2024's MLM-U encoder-decoder
(PAST, docs/TASKS.md §8) in plain torch, attention as a masked softmax over the visible keys, not
translated from the C++:

  visible     [B, T]: the token is not one of the hidden ids (the maze's MASK and PAD)
  encoder     h = embed.w[tokens]; blocks 0..L-1:
                 h = h + attn(LN1(h) @ w_qkv + b_qkv, keys where visible) @ w_out + b_out
                 h = h + gelu_tanh(LN2(h) @ w_in + b_in) @ w_out + b_out
              mem = LN_enc(h)
  decoder     y = query[0] at every position; blocks L..2L-1:
                 q = LN1(y) @ w_q + b_q,  [k | v] = mem @ w_kv + b_kv
                 y = y + attn(q, k, v, keys where visible) @ w_out + b_out;  MLP as above
  logits      LN_f(y) @ read_out.w + read_out.b
  attn        per head (columns h·hd .. (h+1)·hd), rotary positions on q and k (rotate-half pairs
              i, i + hd/2, θ_i = base^(−2i/hd)), softmax(q·k/√hd) over visible keys
  loss        mean cross-entropy over the positions loss_mask marks

Every gradient comes from torch.autograd in float32; logits, loss and the gradient of every
parameter are compared with iclbench's: max|ours − torch| / max|torch| must be <= --tol (1e-4).
A second check: the logits do not change when the hidden slots' tokens are replaced by any other
hidden id (the model cannot read what it hides). Exit status 0 only if everything passed.

    /usr/bin/python3 tests/reference/torch_past.py DUMP.h5 [DUMP2.h5 ...] [--tol 1e-4]
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


def rope(x, base):
    """x [B, H, T, hd] rotated by position t: pairs (i, i + hd/2)."""
    T, hd = x.shape[-2], x.shape[-1]
    half = hd // 2
    theta = base ** (-2.0 * torch.arange(half, dtype=torch.float64) / hd)
    ang = torch.arange(T, dtype=torch.float64)[:, None] * theta[None, :]
    c, s = torch.cos(ang).to(x.dtype), torch.sin(ang).to(x.dtype)
    a, b = x[..., :half], x[..., half:]
    return torch.cat([a * c - b * s, a * s + b * c], dim=-1)


def attention(q, k, v, H, visible, base):
    """q [B, T, C], k and v [B, T, C]; keys where visible [B, T]."""
    B, T, C = q.shape
    hd = C // H

    def heads(x):
        return x.view(B, T, H, hd).transpose(1, 2)
    q, k, v = rope(heads(q), base), rope(heads(k), base), heads(v)
    scores = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
    scores = scores.masked_fill(~visible.view(B, 1, 1, T), float("-inf"))
    y = torch.softmax(scores, dim=-1) @ v
    return y.transpose(1, 2).reshape(B, T, C)


def forward(P, tokens, hidden, L, H, base):
    C = P["embed.w"].shape[1]
    visible = torch.ones_like(tokens, dtype=torch.bool)
    for t in hidden:
        visible &= tokens != t

    def ln(x, name):
        return F.layer_norm(x, (C,), P[name + ".g"], P[name + ".b"], EPS)

    def mlp(x, b):
        u = F.gelu(x @ P[b + "mlp.w_in"] + P[b + "mlp.b_in"], approximate="tanh")
        return u @ P[b + "mlp.w_out"] + P[b + "mlp.b_out"]

    h = P["embed.w"][tokens]
    for l in range(L):
        b = f"blocks.{l}."
        q, k, v = (ln(h, b + "norm1") @ P[b + "attn.w_qkv"] + P[b + "attn.b_qkv"]).split(C, dim=-1)
        h = h + attention(q, k, v, H, visible, base) @ P[b + "attn.w_out"] + P[b + "attn.b_out"]
        h = h + mlp(ln(h, b + "norm2"), b)
    mem = ln(h, "norm_enc")
    y = P["query"][0].expand(tokens.shape[0], tokens.shape[1], C)
    for l in range(L, 2 * L):
        b = f"blocks.{l}."
        q = ln(y, b + "norm1") @ P[b + "attn.w_q"] + P[b + "attn.b_q"]
        k, v = (mem @ P[b + "attn.w_kv"] + P[b + "attn.b_kv"]).split(C, dim=-1)
        y = y + attention(q, k, v, H, visible, base) @ P[b + "attn.w_out"] + P[b + "attn.b_out"]
        y = y + mlp(ln(y, b + "norm2"), b)
    return ln(y, "norm_f") @ P["read_out.w"] + P["read_out.b"]


def expected_names(L):
    names = ["embed.w", "read_out.w", "read_out.b", "query", "norm_enc.g", "norm_enc.b",
             "norm_f.g", "norm_f.b"]
    for l in range(2 * L):
        b = f"blocks.{l}."
        attn = ["attn.w_qkv", "attn.b_qkv"] if l < L else ["attn.w_q", "attn.b_q", "attn.w_kv",
                                                             "attn.b_kv"]
        for n in ["norm1.g", "norm1.b", *attn, "attn.w_out", "attn.b_out", "norm2.g", "norm2.b",
                  "mlp.w_in", "mlp.b_in", "mlp.w_out", "mlp.b_out"]:
            names.append(b + n)
    return names


def rel_error(ours, ref):
    ours, ref = np.asarray(ours, np.float64), np.asarray(ref, np.float64)
    if ours.shape != ref.shape:
        return math.inf
    scale = max(np.abs(ref).max(), 1e-30)
    return float(np.abs(ours - ref).max() / scale)


def check_file(path, tol):
    with h5py.File(path, "r") as f:
        a = f["config"].attrs
        L, H = int(text(a["n_layer"])), int(text(a["n_head"]))
        base = float(text(a["rope_base"]))
        hidden = [int(x) for x in text(a["hidden"]).split(",")]
        tokens = torch.tensor(f["tokens"][()], dtype=torch.long)
        targets = torch.tensor(f["targets"][()], dtype=torch.long)
        mask = torch.tensor(f["loss_mask"][()], dtype=torch.float32)
        ours_logits, ours_loss = f["logits"][()], f["loss"][()]
        params = {n: f["params"][n][()] for n in f["params"]}
        grads = {n: f["grads"][n][()] for n in f["grads"]}
    print(f"== {path}: n_layer {L}, n_head {H}, tokens {list(tokens.shape)}, hidden {hidden}")
    passed = failed = 0

    def report(name, ok, detail):
        nonlocal passed, failed
        passed += ok
        failed += not ok
        print(f"  {'PASS' if ok else 'FAIL'}  {name:<34} {detail}")

    expected = set(expected_names(L))
    report("parameter names", set(params) == expected and set(grads) == expected,
           f"missing {sorted(expected - set(params))}, unexpected {sorted(set(params) - expected)}")
    P = {n: torch.tensor(v, requires_grad=True) for n, v in params.items()}
    logits = forward(P, tokens, hidden, L, H, base)
    per_token = F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                targets.clamp(min=0).reshape(-1), reduction="none")
    loss = (per_token * mask.reshape(-1)).sum() / mask.sum()
    loss.backward()
    e = rel_error(ours_logits, logits.detach().numpy())
    report("logits", e <= tol, f"rel {e:.3e}  {list(logits.shape)}")
    e = rel_error(ours_loss, [loss.item()])
    report("loss", e <= tol, f"rel {e:.3e}  ours {float(ours_loss[0]):.7g} torch {loss.item():.7g}")
    for n in expected_names(L):
        if n in P and n in grads:
            ref = P[n].grad
            ref = np.zeros(P[n].shape) if ref is None else ref.numpy()
            e = rel_error(grads[n], ref)
            report("grad " + n, e <= tol, f"rel {e:.3e}  {list(P[n].shape)}")
    # What a hidden slot holds is never read: swap the hidden ids among the hidden slots.
    swapped = tokens.clone()
    for i, t in enumerate(hidden):
        swapped[tokens == t] = hidden[(i + 1) % len(hidden)]
    with torch.no_grad():
        again = forward(P, swapped, hidden, L, H, base)
    e = rel_error(again.numpy(), logits.detach().numpy())
    report("hidden slots are not read", e <= tol and bool((swapped != tokens).any()),
           f"rel {e:.3e}, {int((swapped != tokens).sum())} slots changed")
    return passed, failed


def main():
    ap = argparse.ArgumentParser(
        description="Compare iclbench's past model (logits, loss, gradients) with a PyTorch "
                    "rebuild.", epilog="Files come from dump_past (tests/reference/dump_past.cpp).")
    ap.add_argument("dumps", nargs="+", metavar="DUMP.h5", help="files written by dump_past")
    ap.add_argument("--tol", type=float, default=1e-4,
                    help="largest allowed max|ours - torch| / max|torch| per tensor (default 1e-4)")
    args = ap.parse_args()
    passed = failed = 0
    for path in args.dumps:
        p, f = check_file(path, args.tol)
        passed += p
        failed += f
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

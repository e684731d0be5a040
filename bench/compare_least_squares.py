#!/usr/bin/python3
"""Side by side: the least-squares all-prefix curve (Garg et al. Fig. 2 baseline: 1280 prompts,
d = 20, K = 40) computed by iclbench and the way the reference Python code computes it (one
numpy.linalg.lstsq per prefix and prompt, minimum-norm, prediction 0 with no examples).

Both run on the same prompts, exported with `icl generate`; the predictions are checked to agree,
then the median times and their ratio are printed.

    /usr/bin/python3 bench/compare_least_squares.py [--build build] [--prompts 1280] [--repeats 5]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np


def numpy_curve(xs, ys):
    """Garg et al.'s LeastSquaresModel, in numpy: a fresh lstsq fit for every prefix."""
    n, k_total, _ = xs.shape
    pred = np.zeros((n, k_total))
    for b in range(n):
        for k in range(1, k_total):
            w, *_ = np.linalg.lstsq(xs[b, :k], ys[b, :k], rcond=None)
            pred[b, k] = xs[b, k] @ w
    return pred


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build", help="CMake build directory")
    ap.add_argument("--prompts", type=int, default=1280)
    ap.add_argument("--repeats", type=int, default=5, help="timed repeats (median reported)")
    args = ap.parse_args()
    icl = os.path.join(args.build, "icl")
    timer = os.path.join(args.build, "bench", "bench_ls_curve")
    for exe in (icl, timer):
        if not os.access(exe, os.X_OK):
            sys.exit(f"compare_least_squares.py: error: {exe} not built (cmake --build {args.build})")

    with tempfile.TemporaryDirectory() as tmp:
        prompts = os.path.join(tmp, "prompts.h5")
        preds = os.path.join(tmp, "pred.h5")
        subprocess.run([icl, "generate", "linear_regression", "--set", "d=20", "--prompts",
                        str(args.prompts), "--examples", "40", "--out", prompts],
                       check=True, stdout=subprocess.DEVNULL)
        out = subprocess.run([timer, prompts, preds, str(args.repeats)], check=True,
                             capture_output=True, text=True).stdout
        icl_ms = float(out.split()[1])
        with h5py.File(prompts, "r") as f:
            xs = f["xs"][()].astype(np.float64)
            ys = f["ys"][()][..., 0].astype(np.float64)
        with h5py.File(preds, "r") as f:
            icl_pred = f["pred"][()]

    np_times = []
    for _ in range(max(1, min(args.repeats, 3))):
        t0 = time.perf_counter()
        np_pred = numpy_curve(xs, ys)
        np_times.append((time.perf_counter() - t0) * 1e3)
    np_ms = float(np.median(np_times))

    # Agreement away from k = d, where the minimum-norm solution is ill-conditioned for both.
    k = np.arange(xs.shape[1])
    mask = np.abs(k - xs.shape[2]) > 2
    err = np.abs(icl_pred - np_pred)[:, mask].max() / max(1.0, np.abs(np_pred).max())
    print(f"least-squares curve, {xs.shape[0]} prompts, d={xs.shape[2]}, K={xs.shape[1]} "
          f"(threads: iclbench {os.environ.get('OMP_NUM_THREADS', 'all cores')}, numpy 1 loop)")
    print(f"  {'iclbench (incremental QR)':<34} {icl_ms:10.2f} ms")
    print(f"  {'numpy lstsq per prefix':<34} {np_ms:10.2f} ms")
    print(f"  ratio numpy / iclbench: {np_ms / icl_ms:.1f}x   "
          f"(max relative difference of predictions {err:.1e})")
    if err > 1e-3:
        sys.exit("compare_least_squares.py: error: predictions disagree")


if __name__ == "__main__":
    main()

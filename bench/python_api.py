#!/usr/bin/python3
"""Side by side: the Python package against the C++ it calls, and against numpy.

1. Sampling 1280 prompts x 40 examples of linear regression, d = 20 (Garg et al.'s evaluation
   size): iclbench.sample from Python, the same sampler timed inside C++ (bench_generation), and
   numpy drawing the same distribution the way the reference code does (torch.randn-like normal
   draws, ys = xs w).
2. The all-prefix least-squares curve on those prompts: iclbench.baseline("least_squares").curve
   from Python, the same baseline timed inside C++ (bench_ls_curve, as the CLI runs it), and
   numpy's lstsq per prefix (Garg et al.'s LeastSquaresModel).

Medians of --repeats calls after a warm-up, on whatever threads OMP_NUM_THREADS allows (the same
for every column). The goal (issue: Python package): Python <= 1.2x C++ in both.

    PYTHONPATH=build/python /usr/bin/python3 bench/python_api.py [--build build] [--repeats 7]
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_least_squares import numpy_curve  # noqa: E402  (Garg's lstsq per prefix)


def median_ms(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return float(np.median(times))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--prompts", type=int, default=1280)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--numpy-prompts", type=int, default=128,
                    help="prompts for numpy's lstsq curve (scaled up to --prompts: it is linear)")
    a = ap.parse_args()
    sys.path.insert(0, os.path.join(a.build, "python"))
    import iclbench

    B, K, d = a.prompts, 40, 20
    gen = subprocess.run([os.path.join(a.build, "bench", "bench_generation"), "--prompts", str(B),
                          "--repeats", str(a.repeats), f"linear_regression:{K}"],
                         check=True, capture_output=True, text=True).stdout
    cpp_sample = float(re.search(r"median_ms=([\d.]+)", gen).group(1))
    threads = int(re.search(r"threads=(\d+)", gen).group(1))
    py_sample = median_ms(lambda: iclbench.sample("linear_regression", B, K, d=d), a.repeats)
    rng = np.random.default_rng(0)

    def numpy_sample():
        xs = rng.standard_normal((B, K, d), dtype=np.float32)
        w = rng.standard_normal((B, d, 1), dtype=np.float32)
        return xs, xs @ w
    np_sample = median_ms(numpy_sample, a.repeats)

    p = iclbench.sample("linear_regression", B, K, d=d)
    ls = iclbench.baseline("least_squares")
    py_ls = median_ms(lambda: ls.curve(p.xs, p.ys), a.repeats)
    with tempfile.TemporaryDirectory() as tmp:
        prompts, preds = os.path.join(tmp, "p.h5"), os.path.join(tmp, "pred.h5")
        subprocess.run([os.path.join(a.build, "icl"), "generate", "linear_regression", "--set",
                        f"d={d}", "--prompts", str(B), "--examples", str(K), "--out", prompts],
                       check=True, stdout=subprocess.DEVNULL)
        out = subprocess.run([os.path.join(a.build, "bench", "bench_ls_curve"), prompts, preds,
                              str(a.repeats)], check=True, capture_output=True, text=True).stdout
        cpp_ls = float(out.split()[-1])
    n = min(a.numpy_prompts, B)
    t0 = time.perf_counter()
    ref = numpy_curve(p.xs[:n].astype(np.float64), p.ys[:n, :, 0].astype(np.float64))
    np_ls = (time.perf_counter() - t0) * 1e3 * B / n
    ours = ls.curve(p.xs, p.ys)[:n]
    agree = np.abs(ours[:, :d - 1] - ref[:, :d - 1]).max()

    print(f"iclbench Python package vs C++ and numpy ({os.cpu_count()} CPUs, {threads} OpenMP "
          f"threads; {B} prompts x {K} examples, d = {d}; medians of {a.repeats})")
    print(f"{'':34}{'Python':>10}{'C++':>10}{'numpy':>11}{'Py/C++':>9}{'numpy/Py':>10}")
    print(f"{'sample linear_regression (ms)':34}{py_sample:>10.2f}{cpp_sample:>10.2f}"
          f"{np_sample:>11.2f}{py_sample / cpp_sample:>9.2f}{np_sample / py_sample:>10.1f}")
    print(f"{'least-squares all-prefix curve (ms)':34}{py_ls:>10.2f}{cpp_ls:>10.2f}"
          f"{np_ls:>11.1f}{py_ls / cpp_ls:>9.2f}{np_ls / py_ls:>10.1f}")
    print(f"(numpy's lstsq curve timed on {n} prompts and scaled; it agrees with ours to "
          f"{agree:.1e} below k = d)")


if __name__ == "__main__":
    main()

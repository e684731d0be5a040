#!/usr/bin/python3
"""Training-step time of every sequence mixer against the sequence length, on the CPU or the GPU.

Each point is bench/bench_train_step (Trainer::step, the path `icl run` trains with) on
linear-regression prompts with K examples (T = 2K tokens), batch B, a model of n_layer blocks of
width n_embd: the transformer, and the recurrent stack with each mixer. The table gives the median
step in ms and each mixer's time relative to the transformer at the same T, the cost axis of the
transformer vs linear-RNN comparison (issue 6). A mixer or length that fails (e.g. a recurrent
state too large for the GPU kernels' shared memory) is reported with its one-line error.

    /usr/bin/python3 bench/mixer_steps.py [--build build] [--device cpu|cuda]
        [--tokens 64,256,1024,4096] [--mixers deltanet,gla,...] [--batch 8] [--steps 5]
"""
import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MIXERS = ["linear_attention", "retnet", "gla", "mamba", "deltanet", "mlstm", "hyena", "lstm",
          "gru"]


def step_ms(binary, args):
    r = subprocess.run([binary] + args, capture_output=True, text=True)
    if r.returncode != 0:
        return None, r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "failed"
    for line in r.stdout.splitlines():
        if line.startswith("median_ms"):
            return float(line.split()[1]), None
    return None, "no median_ms in the output"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--tokens", default="64,256,1024,4096", help="sequence lengths T = 2K")
    ap.add_argument("--mixers", default=",".join(MIXERS))
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--n-layer", type=int, default=2)
    ap.add_argument("--n-embd", type=int, default=128)
    ap.add_argument("--n-head", type=int, default=4)
    ap.add_argument("--steps", type=int, default=5)
    a = ap.parse_args()
    binary = os.path.join(a.build, "bench", "bench_train_step")
    if not os.access(binary, os.X_OK):
        print(f"mixer_steps: no {binary}; build the bench_train_step target")
        return 2
    lengths = [int(t) for t in a.tokens.split(",")]
    if any(t < 2 or t % 2 for t in lengths):
        print("mixer_steps: --tokens must be even lengths >= 2 (T = 2K)")
        return 2
    models = ["transformer"] + [m for m in a.mixers.split(",") if m]
    common = [f"n_layer={a.n_layer}", f"n_embd={a.n_embd}", f"n_head={a.n_head}", f"B={a.batch}",
              f"steps={a.steps}", "warmup=2", f"device={a.device}", "precision=fp32"]
    print(f"training step, ms (median of {a.steps}); device {a.device}, batch {a.batch}, "
          f"{a.n_layer} blocks of width {a.n_embd}, fp32")
    print(f"{'model':18s}" + "".join(f"{'T=' + str(t):>18s}" for t in lengths))
    base = {}
    errors = []
    for m in models:
        cells = []
        for t in lengths:
            args = common + [f"K={t // 2}"] + ([] if m == "transformer" else [f"mixer={m}"])
            ms, err = step_ms(binary, args)
            if ms is None:
                cells.append(f"{'error':>18s}")
                errors.append(f"{m} T={t}: {err}")
                continue
            if m == "transformer":
                base[t] = ms
                cells.append(f"{ms:18.2f}")
            else:
                ratio = f" ({ms / base[t]:.2f}x)" if t in base else ""
                cells.append(f"{ms:.2f}{ratio}".rjust(18))
        print(f"{m:18s}" + "".join(cells), flush=True)
    for e in errors:
        print("  " + e)
    return 0


if __name__ == "__main__":
    sys.exit(main())

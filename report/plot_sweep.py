#!/usr/bin/env python3
"""Draw a sweep's summary, the file `icl sweep collect` writes (sweep/collect.h).

    python3 report/plot_sweep.py SWEEP.h5 --out DIR

One panel per evaluation set (or the bandit's regret): the trained model's curve
for every setting of the sweep, the mean over seeds with its 95% interval as a
band, and each baseline once, dashed, from the first setting (baselines see the
same prompts in every setting unless the sweep changes the task). A sweep
without a model draws every predictor of every setting. Writes DIR/sweep.png and
DIR/sweep.pdf, each through a temporary name, so a failure leaves neither
half-written. Bad input gives one line on stderr ("plot_sweep: error: ..."),
exit status 2.
"""

import argparse
import os
import sys
import tempfile

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PROG = "plot_sweep.py"
DPI = 150
# Squared error on a linear axis from 0, as plot_curves.py draws it, cut above at YMAX_CAP times
# the largest model mean (least squares blows up near k = d with noise).
YMAX_CAP = 1.5


def die(message):
    print(f"{PROG}: error: {message}", file=sys.stderr)
    sys.exit(2)


def read(path):
    """{set: {"metric", "x_label", "lines": [(label, x, mean, lo, hi, dashed)]}}."""
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        die(f"cannot read {path}: {e}")
    with f:
        if "settings" not in f:
            die(f"{path} is not a sweep summary (no /settings; write one with icl sweep collect)")
        panels = {}
        settings = list(f["settings"].keys())
        with_model = any("model" in f["settings"][s][set_] for s in settings
                         for set_ in f["settings"][s] if isinstance(f["settings"][s][set_], h5py.Group))
        for i, name in enumerate(settings):
            g = f["settings"][name]
            for set_ in g:
                sg = g[set_]
                if not isinstance(sg, h5py.Group):
                    continue
                p = panels.setdefault(set_, {"metric": sg.attrs["metric"],
                                             "x_label": sg.attrs["x_label"], "lines": []})
                x = sg["x"][:]
                for pred in sg:
                    if not isinstance(sg[pred], h5py.Group):
                        continue
                    c = sg[pred]
                    curve = (x, c["mean"][:], c["lo"][:], c["hi"][:])
                    if pred == "model" or not with_model:
                        label = name if pred == "model" else f"{pred} ({name})"
                        p["lines"].append((label, *curve, False))
                    elif i == 0:
                        p["lines"].append((pred, *curve, True))
        return panels


def main():
    ap = argparse.ArgumentParser(prog=PROG)
    ap.add_argument("summary")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    panels = read(a.summary)
    if not panels:
        die(f"{a.summary} holds no curves")
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 3.8), squeeze=False)
    for ax, (set_, p) in zip(axes[0], panels.items()):
        for i, (label, x, mean, lo, hi, dashed) in enumerate(p["lines"]):
            color = f"C{i % 10}"
            ax.plot(x, mean, "--" if dashed else "-", color=color, label=label, lw=1.4)
            if (lo != hi).any():
                ax.fill_between(x, lo, hi, color=color, alpha=0.18, lw=0)
        if p["metric"] == "squared_error":
            top = max((float(m.max()) for _, _, m, _, _, d in p["lines"] if not d), default=1.0)
            ax.set_ylim(0, max(1.25, YMAX_CAP * top))
        elif "accuracy" in p["metric"]:
            ax.set_ylim(-0.02, 1.05)
        ax.set_title(set_, fontsize=10)
        ax.set_xlabel(p["x_label"])
        ax.set_ylabel(p["metric"])
        ax.legend(fontsize=6)
    fig.tight_layout()
    try:
        os.makedirs(a.out, exist_ok=True)
    except OSError as e:
        die(f"cannot write {a.out}: {e.strerror}")
    for ext in ("png", "pdf"):
        target = os.path.join(a.out, f"sweep.{ext}")
        fd, tmp = tempfile.mkstemp(dir=a.out, prefix=".sweep.", suffix=f".{ext}")
        os.close(fd)
        try:
            fig.savefig(tmp, dpi=DPI)
            os.replace(tmp, target)
        except OSError as e:
            os.unlink(tmp)
            die(f"cannot write {target}: {e.strerror}")
    print(f"figure: {os.path.join(a.out, 'sweep.png')}")


if __name__ == "__main__":
    main()

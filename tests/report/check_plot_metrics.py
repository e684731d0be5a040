#!/usr/bin/env python3
"""Checks report/plot_curves.py draws accuracy-type metrics as well as error-type ones.

    check_plot_metrics.py WORKDIR

Writes a results file with an accuracy evaluation (no chance attribute), an
accuracy evaluation with chance = 0.25, a normalised squared-error one and a
token-prompt one (scaled accuracy over a length axis),
inspects the axes plot_curves builds for each, then runs its command line and
checks the figures exist. Exit 0: pass, 1: a check failed (message on stderr),
77: numpy/h5py/matplotlib missing (the test is skipped).
"""

import os
import sys

try:
    import h5py
    import numpy as np
except ImportError as e:
    print(f"skip: {e}", file=sys.stderr)
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "report"))
try:
    import plot_curves  # noqa: E402
except ImportError as e:
    print(f"skip: {e}", file=sys.stderr)
    sys.exit(77)


def write_results(path):
    k = np.arange(1, 11, dtype=np.int64)
    with h5py.File(path, "w") as f:
        f.attrs["benchmark"] = "check"
        for name, metric, extra, curve in (
            ("acc", "accuracy", {}, 0.5 + 0.04 * k),
            ("acc_chance", "accuracy", {"chance": 0.25}, 0.3 + 0.05 * k),
            ("err", "squared_error", {"normalisation": 5.0}, 5.0 / k),
        ):
            g = f.create_group(f"eval/{name}")
            g.attrs["metric"] = metric
            for a, v in extra.items():
                g.attrs[a] = v
            g.create_dataset("n_examples", data=k)
            for pred, kind, shift in (("transformer", "model", 0.0), ("knn", "baseline", -0.05)):
                p = g.create_group(pred)
                p.attrs["kind"] = kind
                mean = np.clip(curve + shift, 0, None)
                p.create_dataset("mean", data=mean)
                p.create_dataset("lo", data=mean * 0.9)
                p.create_dataset("hi", data=mean * 1.1)
        g = f.create_group("eval/scaled")
        g.attrs["metric"] = "scaled_accuracy"
        g.attrs["chance"] = 0.0
        g.attrs["answers"] = 2
        g.attrs["max_length"] = 40
        length = np.arange(40, 257, 24, dtype=np.int64)
        g.create_dataset("length", data=length)
        p = g.create_group("transformer")
        p.attrs["kind"] = "model"
        mean = np.linspace(0.9, -0.2, len(length))
        for key, v in (("mean", mean), ("lo", mean - 0.05), ("hi", mean + 0.05)):
            p.create_dataset(key, data=v)
        # A task's own axis label and a further metric it declares, with its label: the figure
        # takes both from the file (no task is known to the script by name).
        g = f.create_group("eval/grids")
        g.attrs["metric"] = "accuracy"
        g.attrs["x_label"] = "grid size n"
        g.attrs["extra_metrics"] = "reached"
        n = np.arange(3, 8, dtype=np.int64)
        g.create_dataset("length", data=n)
        p = g.create_group("bfs")
        mean = np.linspace(1.0, 0.6, len(n))
        for key, v in (("mean", mean), ("lo", mean - 0.05), ("hi", mean + 0.05)):
            p.create_dataset(key, data=v)
        m = p.create_group("reached")
        m.attrs["metric"] = "reached"
        m.attrs["label"] = "target reached"
        for key, v in (("mean", mean / 2), ("lo", mean / 2), ("hi", mean / 2)):
            m.create_dataset(key, data=v)


def vlines(ax):
    """x positions of the vertical reference lines on the axes."""
    out = []
    for line in ax.get_lines():
        y = np.asarray(line.get_ydata(), dtype=float)
        x = np.asarray(line.get_xdata(), dtype=float)
        if len(x) == 2 and x[0] == x[1] and y[0] == 0 and y[1] == 1:  # axvline: axes coords
            out.append(float(x[0]))
    return out


def hlines(ax):
    """y levels of the horizontal reference lines on the axes."""
    out = []
    for line in ax.get_lines():
        y = np.asarray(line.get_ydata(), dtype=float)
        x = np.asarray(line.get_xdata(), dtype=float)
        if len(y) == 2 and y[0] == y[1] and x[0] == 0 and x[1] == 1:  # axhline: axes coords
            out.append(float(y[0]))
    return out


def check(cond, msg):
    if not cond:
        print(f"check_plot_metrics: {msg}", file=sys.stderr)
        sys.exit(1)


def main():
    work = sys.argv[1]
    os.makedirs(work, exist_ok=True)
    path = os.path.join(work, "R.h5")
    write_results(path)
    benchmark, evals, _, _ = plot_curves.load(path)
    colours = plot_curves.colour_map(evals)
    axes = {}
    for ev in evals:
        fig = plot_curves.plot_eval(benchmark, ev, colours)
        axes[ev[0]] = fig.axes[0]

    acc = axes["acc"]
    check(acc.get_ylabel() == "accuracy", f"accuracy y label is {acc.get_ylabel()!r}")
    check(acc.get_yscale() == "linear", f"accuracy y scale is {acc.get_yscale()}")
    check(tuple(acc.get_ylim()) == (0.0, 1.0), f"accuracy y range is {acc.get_ylim()}")
    check(hlines(acc) == [0.5], f"accuracy reference lines at {hlines(acc)}, want [0.5]")
    legend = [t.get_text() for t in acc.get_legend().get_texts()]
    check(sorted(legend) == ["knn", "transformer"], f"legend lists {legend}")

    acc2 = axes["acc_chance"]
    check(hlines(acc2) == [0.25], f"chance attribute ignored: lines at {hlines(acc2)}")
    check(tuple(acc2.get_ylim()) == (0.0, 1.0), f"accuracy y range is {acc2.get_ylim()}")

    err = axes["err"]
    check(err.get_ylabel() == "squared error / 5", f"error y label is {err.get_ylabel()!r}")
    check(0.5 not in hlines(err), "a chance line on an error plot")
    check(hlines(err) == [1.0], f"normalised error reference lines at {hlines(err)}, want [1.0]")

    sc = axes["scaled"]
    check(sc.get_ylabel() == "scaled accuracy", f"scaled y label is {sc.get_ylabel()!r}")
    check(sc.get_xlabel() == "sequence length", f"length x label is {sc.get_xlabel()!r}")
    check(hlines(sc) == [0.0], f"scaled accuracy reference lines at {hlines(sc)}, want [0.0]")
    check(vlines(sc) == [40.0], f"training-length marker at {vlines(sc)}, want [40.0]")
    lo, hi = sc.get_ylim()
    check(lo <= -0.25 and hi >= 1.0, f"scaled accuracy y range {sc.get_ylim()} cuts the curve")
    check(axes["acc"].get_xlabel() == "in-context examples", "examples axis label changed")

    grids = axes["grids"]
    check(grids.get_xlabel() == "grid size n", f"x_label ignored: {grids.get_xlabel()!r}")
    ev = next(e for e in evals if e[0] == "grids")
    name, x, attrs, preds = ev
    sub = (name, x, dict(attrs, metric="reached"), [(p, k, c["extra"]["reached"]) for p, k, c in preds])
    reached = plot_curves.plot_eval(benchmark, sub, colours).axes[0]
    check(reached.get_ylabel() == "target reached", f"extra label ignored: {reached.get_ylabel()!r}")
    check(tuple(reached.get_ylim()) == (-0.02, 1.05), f"extra metric range {reached.get_ylim()}")

    out = os.path.join(work, "figs")
    rc = plot_curves.main([path, "--out", out])
    check(rc == 0, f"plot_curves exited {rc}")
    for name in ("acc", "acc_chance", "err", "scaled", "grids", "grids_reached"):
        for ext in ("png", "pdf"):
            f = os.path.join(out, f"{name}.{ext}")
            check(os.path.isfile(f) and os.path.getsize(f) > 1000, f"{f} missing or empty")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Draw a reproduced paper figure from the data `icl reproduce` writes.

    python3 report/plot_figure.py FIGURE.json --out STEM

FIGURE.json holds the figure's panels; each panel its axes (labels, linear or
log y, limits) and its series, each with x, the mean over seeds, and a band
(lo, hi) covering the 90% bootstrap intervals over prompts of every seed, plus
the paper's published values where the figure file gives them (drawn as
markers). Panels sit side by side, as the papers lay them out. Writes STEM.png
and STEM.pdf, each through a temporary name, so a failure leaves neither
half-written. Bad input gives one line on stderr ("plot_figure: error: ..."),
exit status 2.
"""

import argparse
import json
import math
import os
import sys
import tempfile

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PROG = "plot_figure.py"
DPI = 150
PANEL_WIDTH, PANEL_HEIGHT = 4.2, 3.4


def die(message):
    print(f"{PROG}: error: {message}", file=sys.stderr)
    sys.exit(2)


def values(v):
    return [math.nan if x is None else float(x) for x in v]


def draw_panel(ax, panel):
    for i, s in enumerate(panel["series"]):
        x, mean = values(s["x"]), values(s["mean"])
        lo, hi = values(s["lo"]), values(s["hi"])
        color = f"C{i % 10}"
        ax.plot(x, mean, s.get("style") or "-", color=color, label=s["label"], lw=1.6)
        if any(a != b for a, b in zip(lo, hi)):
            ax.fill_between(x, lo, hi, color=color, alpha=0.2, lw=0)
        if s.get("published"):
            ax.plot(values(s["published_x"]), values(s["published"]), "x", color=color, ms=7,
                    mew=2, label=f"{s['label']} (published)")
    ax.set_xlabel(panel["x_label"])
    ax.set_ylabel(panel["y_label"])
    if panel["title"]:
        ax.set_title(panel["title"], fontsize=10)
    if panel["y_scale"] == "log":
        ax.set_yscale("log")
    if panel.get("x_lim"):
        ax.set_xlim(*panel["x_lim"])
    if panel.get("y_lim"):
        ax.set_ylim(*panel["y_lim"])
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)


def save(fig, path):
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".plot_figure-", suffix=os.path.splitext(path)[1],
                               dir=directory)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=DPI, bbox_inches="tight")
        os.replace(tmp, path)
    except OSError as e:
        os.unlink(tmp)
        die(f"cannot write {path}: {e.strerror}")


def main(argv):
    ap = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    ap.add_argument("data")
    ap.add_argument("--out", required=True, help="output stem: STEM.png and STEM.pdf")
    args = ap.parse_args(argv)
    try:
        with open(args.data) as fh:
            fig_data = json.load(fh)
    except OSError as e:
        die(f"cannot read {args.data}: {e.strerror}")
    except json.JSONDecodeError as e:
        die(f"{args.data} is not valid JSON ({e.msg} at line {e.lineno})")
    try:
        panels = fig_data["panels"]
        n = len(panels)
        if n == 0:
            die(f"{args.data} has no panels")
        cols = min(n, 4)
        rows = (n + cols - 1) // cols
        # Constrained layout keeps each row's titles clear of the axis labels of the row above.
        fig, axes = plt.subplots(rows, cols, figsize=(PANEL_WIDTH * cols, PANEL_HEIGHT * rows),
                                 squeeze=False, constrained_layout=True)
        for i, panel in enumerate(panels):
            draw_panel(axes[i // cols][i % cols], panel)
        for j in range(n, rows * cols):
            axes[j // cols][j % cols].axis("off")
        fig.suptitle(f"{fig_data['title']} ({fig_data['scale']} scale)", fontsize=11)
    except (KeyError, TypeError, ValueError) as e:
        die(f"{args.data} is not a figure file of icl reproduce ({type(e).__name__}: {e})")
    if not os.path.isdir(os.path.dirname(os.path.abspath(args.out))):
        die(f"cannot write {args.out}.png: directory does not exist")
    save(fig, args.out + ".png")
    save(fig, args.out + ".pdf")


if __name__ == "__main__":
    main(sys.argv[1:])

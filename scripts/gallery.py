#!/usr/bin/env python3
"""Refresh the README's gallery from quick-scale reproductions.

    /usr/bin/python3 scripts/gallery.py RESULTS_DIR

RESULTS_DIR is the --out of `icl reproduce NAME` (default results/reproduce). For every figure
reproduced there at quick scale, copies its PNG, shrunk to 560 pixels wide, to
docs/gallery/<paper>_<name>.png and lists it in the README between the gallery markers with its
command, the time it took (when it ran every run itself) and the status of its claims, all read
from its summary.md. Figures not
reproduced there keep no entry. Exits 2 with one line on bad input.
"""

import os
import re
import sys

from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BEGIN, END = "<!-- gallery: scripts/gallery.py -->", "<!-- /gallery -->"
WIDTH = 560


def die(message):
    print(f"gallery.py: error: {message}", file=sys.stderr)
    sys.exit(2)


def claims_of(summary):
    """(holds, fails, other-scale) counts and the time, from summary.md's text."""
    rows = [line for line in summary.splitlines() if line.startswith("| ") and "(`" in line]
    holds = sum("| **holds** |" in r for r in rows)
    fails = sum("| **fails** |" in r for r in rows)
    other = sum("scale only**" in r for r in rows)
    took = re.search(r"device [^,]+, in (\S+)", summary)
    # A reproduction that reused earlier runs took less than the figure costs: no time shown.
    reused = "| reused |" in summary
    return holds, fails, other, "-" if reused or not took else took.group(1)


def main(argv):
    if len(argv) != 1:
        die("usage: gallery.py RESULTS_DIR")
    results = argv[0]
    if not os.path.isdir(results):
        die(f"{results} is not a directory")
    os.makedirs(os.path.join(ROOT, "docs", "gallery"), exist_ok=True)
    entries = []
    for paper in sorted(os.listdir(results)):
        for name in sorted(os.listdir(os.path.join(results, paper))):
            d = os.path.join(results, paper, name)
            summary_path, png = os.path.join(d, "summary.md"), os.path.join(d, name + ".png")
            if not (os.path.isfile(summary_path) and os.path.isfile(png)):
                continue
            with open(summary_path) as fh:
                summary = fh.read()
            if "scale **quick**" not in summary or "smoke run" in summary:
                continue
            image = Image.open(png)
            height = round(image.height * WIDTH / image.width)
            target = os.path.join("docs", "gallery", f"{paper}_{name}.png")
            image.resize((WIDTH, height), Image.LANCZOS).save(os.path.join(ROOT, target),
                                                               optimize=True)
            holds, fails, other, took = claims_of(summary)
            status = f"{holds} of {holds + fails} claims hold" + (f", {fails} fail" if fails else "")
            if other:
                status += f"; {other} paper scale only"
            entries.append(f"| `icl reproduce {paper}/{name}` | {took} | {status} | "
                           f"![{paper}/{name}]({target}) |")
    if not entries:
        die(f"no quick-scale reproduction with a figure under {results}")
    table = ("| command | time (quick) | claims | figure |\n|---|---|---|---|\n" +
             "\n".join(entries))
    readme_path = os.path.join(ROOT, "README.md")
    with open(readme_path) as fh:
        readme = fh.read()
    if BEGIN not in readme or END not in readme:
        die(f"README.md has no gallery markers ({BEGIN} ... {END})")
    head, rest = readme.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    with open(readme_path, "w") as fh:
        fh.write(f"{head}{BEGIN}\n{table}\n{END}{tail}")
    print(f"gallery: {len(entries)} figures")


if __name__ == "__main__":
    main(sys.argv[1:])

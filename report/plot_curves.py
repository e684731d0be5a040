#!/usr/bin/env python3
"""Plot in-context learning curves from an iclbench results.h5 file.

For every evaluation under /eval, draws its metric (the group's "metric"
attribute) against the number of in-context examples for each predictor, with
the 90% bootstrap interval shaded, in the style of Garg et al. 2022 ("What Can
Transformers Learn In-Context?", Fig. 2): squared error (normalised when the
group says so), or accuracy on a linear [0, 1] axis with a chance line at 0.5
(or at the group's "chance" attribute). Token-prompt evaluations store a
"length" axis instead of "n_examples" and are drawn against the sequence
length, their scaled accuracy with the chance line at 0 and the longest
training length (the group's "max_length") dashed, as in Grazzi et al. 2025,
Fig. 6. If /train/loss exists, also draws the training loss. A bandit run's
/bandit group gives bandit_regret: each policy's cumulative regret against the
step, mean ± SEM over the environments (Lee et al. 2023, Lin et al. 2024).

    python3 report/plot_curves.py RESULTS.h5 [--out DIR]

Figures go to DIR/<eval_name>.png and .pdf (default DIR: <stem>_figures next
to RESULTS.h5). Bad input gives one line on stderr, exit status 2, and no
output files.
"""

import argparse
import os
import sys
import tempfile

import matplotlib

matplotlib.use("Agg")
import h5py  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

PROG = "plot_curves.py"
DPI = 150
NORMALISED_YMAX_CAP = 2.0
CHANCE_ACCURACY = 0.5  # ±1 labels: guessing a sign is right half the time


class InputError(Exception):
    pass


def text(value):
    """Attributes may come back as str, bytes, numpy bytes or 1-element arrays."""
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.item()
    if isinstance(value, (bytes, np.bytes_)):
        return value.decode("utf-8", "replace")
    return str(value)


def numbers(dset, where):
    """A dataset as a flat float array; a foreign one (strings, compound types) is InputError."""
    try:
        return np.asarray(dset[()], dtype=float).ravel()
    except (TypeError, ValueError) as e:
        raise InputError(f"{where} is not numeric ({e})")


def attr_number(attrs, key, where):
    """An optional numeric attribute (None when absent); a non-numeric one is InputError."""
    if key not in attrs:
        return None
    try:
        return float(np.asarray(attrs[key]).ravel()[0])
    except (TypeError, ValueError, IndexError) as e:
        raise InputError(f"{where} attribute {key} is not a number ({e})")


def load(path):
    """Read everything needed into memory, so no figure is written for bad input."""
    if not os.path.exists(path):
        raise InputError(f"{path} does not exist")
    if not os.path.isfile(path) or not h5py.is_hdf5(path):
        raise InputError(f"{path} is not an HDF5 file")
    try:
        f = h5py.File(path, "r")
    except OSError as e:  # a truncated or damaged file passes is_hdf5 but does not open
        raise InputError(f"{path} is not a readable HDF5 file ({one_line(e)})")
    with f:
        stem = os.path.splitext(os.path.basename(path))[0]
        benchmark = text(f.attrs.get("benchmark", stem))
        evals = []
        group = f.get("eval")
        if isinstance(group, h5py.Group):
            for name, ev in group.items():
                if isinstance(ev, h5py.Group):
                    evals.append(load_eval(path, name, ev))
        bandit = load_bandit(path, f["bandit"]) if isinstance(f.get("bandit"), h5py.Group) else None
        if not evals and bandit is None:
            raise InputError(f"{path} has no /eval or /bandit results")
        train = None
        if isinstance(f.get("train/loss"), h5py.Dataset):
            loss = numbers(f["train/loss"], f"{path}: /train/loss")
            step = f.get("train/step")
            step = (numbers(step, f"{path}: /train/step")
                    if isinstance(step, h5py.Dataset) else np.arange(len(loss)))
            if len(step) != len(loss):
                raise InputError(f"{path}: /train/step and /train/loss differ in length")
            train = (step, loss)
    return benchmark, evals, train, bandit


def load_bandit(path, g):
    """/bandit/step and /bandit/<policy>/{mean,sem}: cumulative regret per step."""
    if not isinstance(g.get("step"), h5py.Dataset):
        raise InputError(f"{path}: /bandit has no step")
    step = numbers(g["step"], f"{path}: /bandit/step")
    if len(step) == 0:
        raise InputError(f"{path}: /bandit/step is empty")
    curves = []
    for name, c in g.items():
        if not isinstance(c, h5py.Group):
            continue
        if not all(isinstance(c.get(k), h5py.Dataset) for k in ("mean", "sem")):
            raise InputError(f"{path}: /bandit/{name} needs mean and sem")
        mean = numbers(c["mean"], f"{path}: /bandit/{name}/mean")
        sem = numbers(c["sem"], f"{path}: /bandit/{name}/sem")
        if len(mean) != len(step) or len(sem) != len(step):
            raise InputError(f"{path}: /bandit/{name} differs in length from /bandit/step")
        curves.append((name, mean, sem))
    if not curves:
        raise InputError(f"{path}: /bandit holds no policy")
    title = (f"{text(g.attrs.get('setup', ''))} bandit, {text(g.attrs.get('environments', '?'))} "
             "environments")
    return step, curves, title


def plot_bandit(benchmark, bandit):
    step, curves, title = bandit
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for i, (name, mean, sem) in enumerate(curves):
        colour = plt.get_cmap("tab10")(i % 10)
        ax.plot(step, mean, color=colour, lw=1.8, label=name)
        ax.fill_between(step, mean - sem, mean + sem, color=colour, alpha=0.2, lw=0)
    ax.set_xlabel("step")
    ax.set_ylabel("cumulative regret (mean ± SEM)")
    ax.set_xlim(step.min(), step.max())
    ax.set_title(f"{benchmark} — {title}")
    ax.grid(True, alpha=0.3)
    ax.legend(frameon=False, fontsize=9)
    fig.tight_layout()
    return fig


def load_eval(path, name, ev):
    where = f"{path}: /eval/{name}"
    axis = next((a for a in ("n_examples", "length") if isinstance(ev.get(a), h5py.Dataset)), None)
    if axis is None:
        raise InputError(f"{where} has no n_examples (or length)")
    x = numbers(ev[axis], f"{where}/{axis}")
    if len(x) == 0:
        raise InputError(f"{where}/{axis} is empty")
    preds = []
    labels = {}
    for pname, pg in ev.items():
        if not isinstance(pg, h5py.Group):
            continue
        if not isinstance(pg.get("mean"), h5py.Dataset):
            raise InputError(f"{where}/{pname} has no mean")
        curves = {}
        for key in ("mean", "lo", "hi"):
            if isinstance(pg.get(key), h5py.Dataset):
                curves[key] = numbers(pg[key], f"{where}/{pname}/{key}")
                if len(curves[key]) != len(x):
                    raise InputError(f"{where}/{pname}/{key} does not match {axis}")
        # Further metrics a task declares (scores in [0, 1] per prompt, e.g. decoded paths) sit in
        # subgroups named by the evaluation's extra_metrics attribute, each with its axis label,
        # and are drawn as figures of their own.
        curves["extra"] = {}
        for metric in text(ev.attrs.get("extra_metrics", "")).split():
            mg = pg.get(metric)
            if not isinstance(mg, h5py.Group) or not isinstance(mg.get("mean"), h5py.Dataset):
                raise InputError(f"{where}/{pname} has no {metric}/mean")
            labels[metric] = text(mg.attrs.get("label", metric.replace("_", " ")))
            extra = {}
            for k in ("mean", "lo", "hi"):
                if isinstance(mg.get(k), h5py.Dataset):
                    extra[k] = numbers(mg[k], f"{where}/{pname}/{metric}/{k}")
                    if len(extra[k]) != len(x):
                        raise InputError(f"{where}/{pname}/{metric}/{k} does not match {axis}")
            curves["extra"][metric] = extra
        # Prediction differences (eval prediction_difference): difference/<other>/{mean,lo,hi}.
        curves["difference"] = {}
        if "prediction_difference" in ev.attrs:
            dg = pg.get("difference")
            if not isinstance(dg, h5py.Group):
                raise InputError(f"{where}/{pname} has no difference group")
            for other, og in dg.items():
                diff = {}
                for k in ("mean", "lo", "hi"):
                    if isinstance(og.get(k), h5py.Dataset):
                        diff[k] = numbers(og[k], f"{where}/{pname}/difference/{other}/{k}")
                        if len(diff[k]) != len(x):
                            raise InputError(
                                f"{where}/{pname}/difference/{other}/{k} does not match {axis}")
                if "mean" not in diff:
                    raise InputError(f"{where}/{pname}/difference/{other} has no mean")
                curves["difference"][other] = diff
        kind = text(pg.attrs.get("kind", "baseline"))
        preds.append((pname, kind, curves))
    if not preds:
        raise InputError(f"{where} has no predictors")
    attrs = {k: ev.attrs[k] for k in ev.attrs}
    # The numbers the figure reads from attributes, checked now so that no figure is half drawn.
    for key in ("normalisation", "chance", "max_length"):
        value = attr_number(attrs, key, where)
        if value is not None:
            attrs[key] = value
    attrs["x_axis"] = axis
    attrs["extra_labels"] = labels
    return name, x, attrs, preds


def sort_key(pred):
    # Models first: they are what the benchmark is about, baselines are context.
    name, kind = pred[0], pred[1]
    return (kind != "model", name)


def colour_map(evals):
    """One colour per predictor name across all figures, so figures compare at a glance."""
    preds = {}
    for _, _, _, ps in evals:
        for name, kind, _ in ps:
            preds.setdefault(name, kind)
    order = sorted(preds.items(), key=sort_key)
    cycle = plt.get_cmap("tab10").colors
    styles = ["-", "--", "-.", ":"]
    return {name: (cycle[i % len(cycle)], styles[(i // len(cycle)) % len(styles)])
            for i, (name, _) in enumerate(order)}


def plot_eval(benchmark, ev, colours):
    name, x, attrs, preds = ev
    metric = text(attrs.get("metric", "metric"))
    fig, ax = plt.subplots(figsize=(6, 4.2))
    top = 0.0
    for pname, kind, c in sorted(preds, key=sort_key):
        colour, style = colours[pname]
        z = 3 if kind == "model" else 2
        # A single length (e.g. one grid size) has no line to draw: mark the point.
        ax.plot(x, c["mean"], style, color=colour, lw=2, label=pname, zorder=z,
                marker="o" if len(x) == 1 else None)
        if "lo" in c and "hi" in c:
            ax.fill_between(x, c["lo"], c["hi"], color=colour, alpha=0.2, lw=0, zorder=z - 1)
        finite = c["mean"][np.isfinite(c["mean"])]
        if finite.size:
            top = max(top, finite.max())

    if metric == "squared_error":
        has_norm = "normalisation" in attrs
        norm = float(attrs["normalisation"]) if has_norm else 1.0
        ax.set_ylabel("squared error" if norm == 1 else f"squared error / {norm:g}")
        ymax = max(1.25, 1.05 * top)
        if has_norm:
            # Least squares blows up near k = d with noise; keep the rest readable.
            ymax = min(ymax, NORMALISED_YMAX_CAP)
            ax.axhline(1.0, color="0.3", ls=":", lw=1.2, zorder=1)
        ax.set_ylim(0, ymax)
    elif metric == "accuracy":
        # Accuracy of sign(prediction) on ±1 labels: a linear axis over its whole range, with the
        # coin-flip level (or the evaluation's own "chance" attribute) as the reference line.
        ax.set_ylabel("accuracy")
        ax.set_yscale("linear")
        ax.set_ylim(0, 1)
        chance = float(attrs["chance"]) if "chance" in attrs else CHANCE_ACCURACY
        ax.axhline(chance, color="0.3", ls=":", lw=1.2, zorder=1, label="_chance")
    elif metric == "scaled_accuracy":
        # (acc − 1/|Y|)/(1 − 1/|Y|): 1 is perfect, 0 is guessing, below 0 is worse than guessing.
        ax.set_ylabel("scaled accuracy")
        bottom = min([0.0] + [float(np.nanmin(c.get("lo", c["mean"]))) for _, _, c in preds])
        ax.set_ylim(min(-0.05, 1.05 * bottom), 1.05)
    elif metric in attrs.get("extra_labels", {}):
        ax.set_ylabel(attrs["extra_labels"][metric])
        ax.set_ylim(-0.02, 1.05)
    else:
        ax.set_ylabel(metric.replace("_", " "))
    extra = metric in attrs.get("extra_labels", {})
    if "chance" in attrs and metric != "accuracy" and not extra:
        ax.axhline(float(attrs["chance"]), color="0.3", ls=":", lw=1.2, zorder=1)

    by_length = text(attrs.get("x_axis", "n_examples")) == "length"
    # A token task says what its lengths are (x_label: "sequence length", "grid size n").
    x_label = text(attrs.get("x_label", "")) or "sequence length"
    ax.set_xlabel(x_label if by_length else "in-context examples")
    if by_length and "max_length" in attrs:
        ax.axvline(float(attrs["max_length"]), color="tab:red", ls="--", lw=1.2, zorder=1,
                   label="_longest training length")
    if len(x) > 1:
        ax.set_xlim(x.min(), x.max())
    ax.set_title(f"{benchmark} — {name}")
    ax.grid(True, alpha=0.3)
    ax.legend(frameon=False, fontsize=9)
    fig.tight_layout()
    return fig


def plot_train(benchmark, train):
    step, loss = train
    ok = np.isfinite(loss) & (loss > 0)  # log axis cannot show non-positive values
    fig, ax = plt.subplots(figsize=(6, 4.2))
    ax.plot(step[ok], loss[ok], color="tab:blue", lw=1.5)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.set_title(f"{benchmark} — training loss")
    ax.grid(True, which="major", alpha=0.3)
    ax.grid(True, which="minor", alpha=0.1)
    fig.tight_layout()
    return fig


def save(fig, out, stem):
    # Write to a temp name then rename, so a crash never leaves a half-written figure.
    for ext in ("png", "pdf"):
        final = os.path.join(out, f"{stem}.{ext}")
        fd, tmp = tempfile.mkstemp(dir=out, prefix=f".{stem}.", suffix=f".{ext}")
        os.close(fd)
        try:
            fig.savefig(tmp, format=ext, dpi=DPI)
            os.replace(tmp, final)
        except BaseException:
            os.unlink(tmp)
            raise
        print(f"wrote {final}")
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    ap.add_argument("results", help="results.h5 written by iclbench")
    ap.add_argument("--out", help="output directory (default: <stem>_figures next to RESULTS)")
    args = ap.parse_args(argv)

    try:
        benchmark, evals, train, bandit = load(args.results)
    except InputError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # noqa: BLE001 - a damaged file h5py cannot read: one line, not a trace
        print(f"{PROG}: error: cannot read {args.results}: {one_line(e)}", file=sys.stderr)
        return 2

    out = args.out or os.path.join(
        os.path.dirname(args.results),
        os.path.splitext(os.path.basename(args.results))[0] + "_figures")
    try:
        draw_all(benchmark, evals, train, bandit, out)
    except OSError as e:  # an unwritable --out: one line, not a traceback
        where = e.filename if e.filename else out
        print(f"{PROG}: error: cannot write the figures to {where}: {e.strerror or e}",
              file=sys.stderr)
        return 1
    except Exception as e:  # noqa: BLE001 - input load() let through: one line, not a traceback
        print(f"{PROG}: error: cannot draw the figures of {args.results}: {one_line(e)}",
              file=sys.stderr)
        return 1
    return 0


def one_line(e):
    """An exception as one line: its type and its message's first line."""
    msg = str(e).strip().splitlines()
    return f"{type(e).__name__}: {msg[0]}" if msg else type(e).__name__


def draw_all(benchmark, evals, train, bandit, out):
    os.makedirs(out, exist_ok=True)
    colours = colour_map(evals)
    for ev in evals:
        save(plot_eval(benchmark, ev, colours), out, ev[0])
        name, x, attrs, preds = ev
        for metric in text(attrs.get("extra_metrics", "")).split():
            sub = (name, x, dict(attrs, metric=metric),
                   [(p, k, c["extra"][metric]) for p, k, c in preds])
            save(plot_eval(benchmark, sub, colours), out, f"{name}_{metric}")
        # The prediction difference from the trained model (else the first predictor) to each
        # other predictor: which algorithm the model behaves like, k by k (Akyürek et al. 2023).
        if "prediction_difference" in attrs and len(preds) > 1:
            pname, _, c = sorted(preds, key=sort_key)[0]
            measure = text(attrs["prediction_difference"]).replace("_", " ")
            sub = (name, x, dict(attrs, metric=f"{measure} from {pname}"),
                   [(o, k, c["difference"][o]) for o, k, _ in preds if o != pname])
            save(plot_eval(benchmark, sub, colours), out, f"{name}_difference")
    if train is not None:
        save(plot_train(benchmark, train), out, "train_loss")
    if bandit is not None:
        save(plot_bandit(benchmark, bandit), out, "bandit_regret")


if __name__ == "__main__":
    sys.exit(main())

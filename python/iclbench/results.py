"""Results files (results.h5, docs/DESIGN.md "results.h5") as numpy: :func:`load`."""
from __future__ import annotations

import dataclasses

import numpy as np


def _attrs(obj) -> dict:
    out = {}
    for k, v in obj.attrs.items():
        if isinstance(v, bytes):
            v = v.decode()
        elif isinstance(v, np.generic):
            v = v.item()
        out[k] = v
    return out


@dataclasses.dataclass
class Curve:
    """One predictor's curve on one evaluation set: the metric per point (``x``: examples k, or
    lengths for token tasks) with its 90% bootstrap interval, and further metrics by name."""
    set: str
    predictor: str
    x: np.ndarray
    mean: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    attrs: dict
    extra: dict  # {metric: (mean, lo, hi)}
    # Every prompt's score, [prompts, points], when the run asked for them (eval.per_prompt, or
    # icl eval --per-prompt): the curve's own, and the further metrics' by name.
    per_prompt: np.ndarray | None = None
    extra_per_prompt: dict = dataclasses.field(default_factory=dict)


class Results:
    """A results file: ``attrs`` (root attributes), ``config`` (the resolved YAML text),
    ``sets`` ({set: attrs}), ``curves`` ({(set, predictor): Curve}), ``train`` ({column: array},
    empty without training; ``layer_grad_norm`` and ``layer_variance`` as [records, layers]),
    ``regret`` ({policy: (mean, sem)}, bandit runs) and ``arrays`` (``icl generate``'s datasets). ``to_pandas()`` gives the curves as one long table."""

    def __init__(self, path: str):
        import h5py
        self.path = path
        self.curves: dict[tuple[str, str], Curve] = {}
        self.sets: dict[str, dict] = {}
        self.train: dict[str, np.ndarray] = {}
        self.regret: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.arrays: dict[str, np.ndarray] = {}
        try:
            f = h5py.File(path, "r")
        except OSError as e:
            raise ValueError(f"{path}: not a results file ({e})") from None
        with f:
            self.attrs = _attrs(f)
            self.config: str = self.attrs.get("config", "")
            for set_name, g in f.get("eval", {}).items():
                self.sets[set_name] = _attrs(g)
                x = g["n_examples"][()] if "n_examples" in g else g["length"][()]
                for pred, pg in g.items():
                    if not hasattr(pg, "keys") or "mean" not in pg:
                        continue
                    extra = {m: (sg["mean"][()], sg["lo"][()], sg["hi"][()])
                             for m, sg in pg.items()
                             if hasattr(sg, "keys") and "mean" in sg}
                    self.curves[(set_name, pred)] = Curve(
                        set_name, pred, x, pg["mean"][()], pg["lo"][()], pg["hi"][()], _attrs(pg),
                        extra, pg["per_prompt"][()] if "per_prompt" in pg else None,
                        {m: sg["per_prompt"][()] for m, sg in pg.items()
                         if hasattr(sg, "keys") and "per_prompt" in sg})
            if "train" in f:
                self.train = {k: v[()] for k, v in f["train"].items()}
                # Per-layer statistics (train.layer_stats_every) as [records, layers].
                records = len(self.train.get("layer_step", []))
                for k in ("layer_grad_norm", "layer_variance"):
                    if records and k in self.train:
                        self.train[k] = self.train[k].reshape(records, -1)
            if "bandit" in f:
                for pol, pg in f["bandit"].items():
                    if hasattr(pg, "keys"):
                        self.regret[pol] = (pg["mean"][()], pg["sem"][()])
            for k, v in f.items():
                if not hasattr(v, "keys"):
                    self.arrays[k] = v[()]

    def curve(self, predictor: str, set: str | None = None) -> Curve:
        """The curve of ``predictor`` (its label) on ``set`` (default: the only or first set)."""
        if set is None:
            if not self.sets:
                raise ValueError(f"{self.path}: no evaluation sets")
            set = next(iter(self.sets))
        try:
            return self.curves[(set, predictor)]
        except KeyError:
            known = ", ".join(p for s, p in self.curves if s == set)
            raise ValueError(f"{self.path}: no curve '{predictor}' in set '{set}' (known: "
                             f"{known})") from None

    def to_pandas(self):
        """The curves as a pandas DataFrame: set, predictor, x, mean, lo, hi (needs pandas)."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("Results.to_pandas needs pandas (apt install python3-pandas)") from None
        rows = []
        for (s, p), c in self.curves.items():
            for i, x in enumerate(c.x):
                rows.append({"set": s, "predictor": p, "x": int(x), "mean": float(c.mean[i]),
                             "lo": float(c.lo[i]), "hi": float(c.hi[i])})
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        return (f"Results({self.path}: {len(self.sets)} set(s), {len(self.curves)} curve(s), "
                f"{len(next(iter(self.train.values()), []))} training steps)")


def load(path: str) -> Results:
    """Reads a results file written by ``icl run``, ``icl eval``, ``icl generate`` or :func:`run`."""
    return Results(str(path))

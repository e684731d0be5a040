"""iclbench from Python: the suite's task generators, baselines, benchmarks and results files.

The C++ library does the work (the module ``_iclbench``, built with the suite: ``PYTHONPATH=
build/python``, or ``cmake --install``); this package gives it a Python face:

* discovery: :func:`tasks`, :func:`baselines`, :func:`models`, :func:`benchmarks`;
* prompts: :func:`sample` returns numpy arrays that are views of the C++ buffers (no copy), the
  same bytes ``icl generate`` writes and ``icl run`` evaluates on for the same seed and stream;
* baselines: ``baseline(name, **params).curve(xs, ys)`` on prompts made anywhere (numpy, torch);
* runs: :func:`run` a benchmark (a name, a file or a dict) and :func:`load` its results file;
* torch: :class:`iclbench.torch.PromptStream`, an ``IterableDataset`` of prompts;
* tasks written in Python: :func:`task`, a decorator (see its docstring).

Bad names and parameters raise ``ValueError`` with the CLI's one-line message; Ctrl-C interrupts a
long call (a run saves its checkpoint first) with ``KeyboardInterrupt``, and a second Ctrl-C during
the same call ends the process, as it ends ``icl``. Long calls release the GIL.
"""
from __future__ import annotations

import dataclasses
import json
import math
import typing

import numpy as np

import _iclbench as _c

from .results import Results, load

__all__ = [
    "tasks", "baselines", "models", "benchmarks", "sample", "Prompts", "baseline", "Baseline",
    "run", "load", "Results", "task", "PromptRng", "version", "set_threads",
]

PromptRng = _c.PromptRng


def version() -> dict:
    """{'version', 'commit', 'cuda_built'} of the library this package runs."""
    return _c.version()


def set_threads(n: int = 0) -> int:
    """Sets the CPU threads the library uses (0: as ``icl`` would choose); returns the count."""
    return _c.set_threads(int(n))


def tasks() -> list[dict]:
    """Every task (built in, and written in Python) with its parameters: name, type, default,
    range or choices and help, as ``icl list -v`` shows them."""
    return _c.tasks()


def baselines() -> list[dict]:
    """Every baseline with its parameters (``not_built`` says why this build lacks one)."""
    return _c.baselines()


def models() -> list[dict]:
    """Every model with its parameters."""
    return _c.models()


def benchmarks() -> list[dict]:
    """Every named benchmark (``icl run NAME``) with its description."""
    return _c.benchmarks()


def _text(value) -> str:
    """A parameter value as the text a config holds (bools as true/false, floats exactly)."""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, (int, np.integer, str)):
        return str(value)
    raise ValueError(f"parameter value {value!r}: must be a number, a bool or a string")


def _raw(params: dict) -> dict[str, str]:
    return {str(k): _text(v) for k, v in params.items()}


class Prompts:
    """Sampled prompts. Arrays are numpy views of the C++ batch (no copy), named as in ``icl
    generate``'s file: vector tasks ``xs`` [N, K, dx], ``ys`` [N, K, dy], ``truth`` [N, t] and,
    where the task has them, ``xq``/``yq`` (queries apart from the context), ``x_cov`` [dx, dx],
    ``loss_mask`` [N, K]; token tasks ``tokens``, ``targets``, ``loss_mask`` [N, T] and ``vocab``;
    bandit histories ``xs``, ``ys`` (one-hot) and ``targets``. Missing arrays are None."""

    _ARRAYS = ("xs", "ys", "xq", "yq", "truth", "x_cov", "loss_mask", "tokens", "targets")

    def __init__(self, c: _c.Prompts):
        self._c = c
        for name in self._ARRAYS:
            setattr(self, name, c._array(name))
        self.task: str = c.task
        self.kind: str = c.kind  # "vector", "token" or "history"
        self.loss: str = c.loss
        self.metric: str = c.metric
        self.normalisation: float = c.normalisation
        self.vocab: int | None = c.vocab
        self.params: dict = c.task_params
        self.prompts: int = c.batch
        self.examples: int = c.examples  # K, or the prompts' length for token tasks

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays present, by their name in ``icl generate``'s file."""
        # A bandit history's class ids are its one-hot ys' positions: the file keeps ys only.
        skip = ("targets",) if self.kind == "history" else ()
        return {n: getattr(self, n) for n in self._ARRAYS
                if getattr(self, n) is not None and n not in skip}

    def exports(self) -> tuple[dict[str, np.ndarray], dict[str, int]]:
        """What the task writes beside its prompts (the maze task: its raw mazes), as
        ({hdf5 path: array}, {"group@attribute": value})."""
        return self._c._exports()

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k} {list(v.shape)}" for k, v in self.arrays().items())
        return f"Prompts({self.task}: {shapes})"


def sample(task: str, prompts: int, examples: int = 40, seed: int = 0, stream: str = "standard",
           first: int = 0, **params) -> Prompts:
    """Prompts ``first`` .. ``first + prompts - 1`` of ``task`` with ``examples`` examples each
    (for token tasks: of that length), from the stream ``icl run`` evaluates the set ``stream``
    on under ``seed``: with first = 0, the bytes ``icl generate TASK --stream STREAM`` writes.
    ``params`` are the task's (``tasks()`` lists them)."""
    return Prompts(_c.sample(task, _raw(params), int(prompts), int(examples), int(seed),
                             str(stream), int(first)))


def _as_numpy(a, name: str):
    """(float32 numpy array, torch-or-None): numpy as is; CPU torch tensors through DLPack."""
    if a is None:
        return None, None
    mod = type(a).__module__
    if mod.startswith("torch"):
        if a.device.type != "cpu":
            raise ValueError(f"{name}: a torch tensor on {a.device}; baselines run on the CPU "
                             "(move it with .cpu())")
        return np.from_dlpack(a.detach()).astype(np.float32, copy=False), a
    try:
        return np.asarray(a, dtype=np.float32), None
    except (TypeError, ValueError) as e:
        raise ValueError(f"{name}: must be an array of numbers ({e})") from None


class Baseline:
    """A classical learner (``baselines()`` lists them). ``curve`` gives its all-prefix
    predictions: for every prompt b and example k, its prediction of y_k from examples 0..k-1 and
    the query x_k (or xq_k)."""

    def __init__(self, name: str, label: str = "", **params):
        self._c = _c.Baseline(name, _raw(params), label)
        self.name: str = self._c.name
        self.label: str = self._c.label

    def curve(self, xs, ys, xq=None, x_cov=None):
        """Predictions [B, K] for xs [B, K, dx], ys [B, K] (or [B, K, 1]), optional queries xq
        [B, K, dx] and input covariance x_cov [dx, dx]. numpy in, numpy out; CPU torch tensors in
        (through DLPack), a torch tensor out, sharing the result's memory."""
        xs_np, xs_t = _as_numpy(xs, "xs")
        ys_np, _ = _as_numpy(ys, "ys")
        xq_np, _ = _as_numpy(xq, "xq")
        cov = None if x_cov is None else np.asarray(_as_numpy(x_cov, "x_cov")[0], dtype=np.float64)
        out = self._c._curve(xs_np, ys_np, xq_np, cov)
        if xs_t is not None:
            import torch
            return torch.from_numpy(out)
        return out

    def predict(self, prompts: Prompts) -> np.ndarray:
        """Predictions on sampled prompts of any kind: [N, K, dy] for vector prompts, scores
        [N, T, vocab] for token prompts; what ``icl run`` scores."""
        return self._c._predict(prompts._c)

    def __repr__(self) -> str:
        return f"Baseline({self.label})"


def baseline(name: str, label: str = "", **params) -> Baseline:
    """The baseline ``name`` with its parameters, e.g. ``baseline("ridge", **{"lambda": 0.1})``."""
    return Baseline(name, label, **params)


def run(config, overrides: dict | None = None, out: str | None = None, seed: int | None = None,
        device: str = "auto", resume: str | None = None, force: bool = False,
        until: int | None = None, progress: bool = True, verbose: bool = True) -> Results:
    """Runs a benchmark as ``icl run`` does and returns its results (:func:`load`).

    config: a benchmark name (``benchmarks()``), a .yaml path, or a dict with the config's
    sections (tasks written in Python may be named in it). overrides: {"train.steps": 100, ...}
    as ``--set``. out: the results file (default results/<name>.h5). The progress line and the
    summary table are printed as by the CLI (``verbose=False``: neither). One model per call:
    ``train.replicas`` (a results file per replica) is ``icl run``'s, and a ValueError here."""
    sets = [f"{k}={_override_text(v)}" for k, v in (overrides or {}).items()]
    if seed is not None:
        sets.append(f"seed={int(seed)}")
    if isinstance(config, dict):
        text, is_text = json.dumps(config), True
    elif isinstance(config, str):
        text, is_text = config, False
    else:
        raise ValueError(f"config: must be a benchmark name, a .yaml path or a dict, got "
                         f"{type(config).__name__}")
    s = _c.run(text, is_text, sets, out or "", device, resume or "", bool(force),
               int(until or 0), bool(progress and verbose))
    if verbose:
        if s.stopped_early:
            print(f"checkpoint at step {s.trained_steps} saved in {s.checkpoint}")
        else:
            print(s.tables, end="")
            print(f"wrote {s.out} in {s.seconds:.1f} s")
    return load(s.out)


def _override_text(v) -> str:
    if isinstance(v, (list, dict)):
        return json.dumps(v)
    return _text(v)


# --- tasks written in Python -----------------------------------------------------------------

_TYPES = {int: "int", float: "real", bool: "bool"}


def _spec(f: dataclasses.Field, hints: dict) -> tuple:
    """(name, type, default, help, min, max, choices) of a dataclass field."""
    t = hints.get(f.name, f.type)
    meta = f.metadata or {}
    if f.default is dataclasses.MISSING:
        raise ValueError(f"iclbench.task: field {f.name} needs a default (every task parameter has "
                         "one)")
    lo, hi = float(meta.get("min", -math.inf)), float(meta.get("max", math.inf))
    if typing.get_origin(t) is typing.Literal:
        choices = [str(c) for c in typing.get_args(t)]
        return (f.name, "choice", str(f.default), meta.get("help", ""), 0.0, 0.0, choices)
    if t not in _TYPES:
        raise ValueError(f"iclbench.task: field {f.name} has type {t}; a parameter is an int, a "
                         "float, a bool or a typing.Literal of strings")
    return (f.name, _TYPES[t], t(f.default), meta.get("help", ""), lo, hi, [])


_ALIASES: dict[str, str] = {}


def task(cls=None, *, name: str = ""):
    """Registers a task written in Python; use as ``@iclbench.task`` or
    ``@iclbench.task(name="short_name")`` on a dataclass:

        @iclbench.task(name="noisy_sine")
        @dataclasses.dataclass
        class NoisySine:
            '''y = sin(w x) + noise, w ~ N(0, 1)'''
            noise: float = dataclasses.field(default=0.1, metadata={"min": 0, "help": "noise std"})
            def sample(self, rng, prompts, examples):
                w = rng.normal()                       # [prompts]
                xs = rng.normal((examples, 1))         # [prompts, examples, 1]
                ys = np.sin(w[:, None] * xs[..., 0]) + self.noise * rng.normal((examples,))
                return xs, ys, w[:, None]              # xs, ys[, truth]

    The fields are the task's parameters (int, float, bool, or typing.Literal of strings; range
    and help in the field's metadata: min, max, help). ``rng`` is a :class:`PromptRng`: each draw
    returns [prompts, *shape] with row i from prompt i's own stream, so prompt i is a pure
    function of (seed, stream, i) like a built-in task's. Optional class attributes: metric
    ("squared_error" or "accuracy"), loss, normalisation, and check_examples(self, examples).

    The task is then known as ``python:<module>:<Class>`` (and ``name``): :func:`sample`,
    :func:`run` configs and ``icl run`` (``task: {name: python, module: <module>:<Class>}``,
    module importable) take it."""
    def register(c):
        if not dataclasses.is_dataclass(c):
            raise ValueError(f"iclbench.task: {c.__name__} must be a dataclass (its fields are the "
                             "task's parameters)")
        hints = typing.get_type_hints(c)
        specs = [_spec(f, hints) for f in dataclasses.fields(c)]
        canonical = _c.register_task(c, specs, name)
        if name:
            _ALIASES[name] = canonical
        c.iclbench_name = canonical
        return c
    return register(cls) if cls is not None else register


def _resolve(spec: str) -> None:
    """Imports "pkg.mod:Class" and registers the class (the name ``icl`` and configs use)."""
    import importlib
    module, _, qualname = spec.partition(":")
    if not module or not qualname:
        raise ValueError(f"'{spec}' must be module:Class")
    if module == "__main__":
        raise ValueError("the class is defined in a script's __main__; move it to a module that "
                         "can be imported")
    obj = importlib.import_module(module)
    for part in qualname.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"module {module} has no {qualname}")
        obj = getattr(obj, part)
    if getattr(obj, "iclbench_name", None) == "python:" + spec:
        return  # the decorator registered it as the module was imported
    task(obj)


def _rng_shape(shape) -> tuple[int, ...]:
    if shape is None:
        return ()
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(s) for s in shape)


def _draw(fn, shape, *args):
    shape = _rng_shape(shape)
    n = int(np.prod(shape)) if shape else 1
    out = fn(n, *args)
    return out.reshape((out.shape[0],) + shape)


def _normal(self, shape=(), loc: float = 0.0, scale: float = 1.0):
    """N(loc, scale²) draws, [prompts, *shape]."""
    z = _draw(self._normal, shape)
    return z if (loc == 0.0 and scale == 1.0) else loc + scale * z


PromptRng.normal = _normal
PromptRng.uniform = lambda self, low=0.0, high=1.0, shape=(): _draw(self._uniform, shape,
                                                                    float(low), float(high))
PromptRng.uniform.__doc__ = "Uniform draws in [low, high), [prompts, *shape]."
PromptRng.integers = lambda self, low, high, shape=(): _draw(self._integers, shape, int(low),
                                                             int(high))
PromptRng.integers.__doc__ = "Integers in [low, high), unbiased, [prompts, *shape]."
PromptRng.sign = lambda self, shape=(): _draw(self._signs, shape)
PromptRng.sign.__doc__ = "±1 with probability ½ each, [prompts, *shape]."
PromptRng.bernoulli = lambda self, p, shape=(): _draw(self._bernoulli, shape, float(p))
PromptRng.bernoulli.__doc__ = "True with probability p, [prompts, *shape]."
PromptRng.permutation = lambda self, n: self._permutations(int(n))
PromptRng.permutation.__doc__ = "A uniform permutation of 0..n-1 per prompt, [prompts, n]."

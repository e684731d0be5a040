#!/usr/bin/env python3
"""Runs every benchmark config and every task's prompts with two builds of icl and compares the
files value by value: the check that a refactoring changed no result.

    scripts/compare_outputs.py OLD_ICL NEW_ICL WORKDIR [--only SUBSTRING]

Each config runs shrunk to seconds (eval.prompts and every set's prompts 24, bootstrap 20; a model
trains 4 steps, evaluated and checkpointed every 2; a bandit rolls out 10 environments) through
`icl run --device cpu --no-figures`, with the same overrides for both builds; `icl generate` draws
20 prompts of every registered task (its own defaults, K = 5 or its shortest length). Then every
dataset's shape and bytes and every attribute's value are compared, except what differs from run to
run by design: the root attributes created, git_commit and iclbench_version, and /train/seconds.
The resolved config (/@config) is compared key by key: a key that only the new build writes (a new
option at its default) is reported as added, like an added attribute.

A job whose files are already in WORKDIR from an earlier, interrupted comparison is not run again.
Prints one line per file (identical / ADDED only / DIFFERENT with the first differences) and a
summary; exits 1 when any file differs or any run fails in one build and not the other.
"""

import os
import subprocess
import sys

import h5py
import numpy as np
import yaml

VOLATILE_ATTRS = {"/@created", "/@git_commit", "/@iclbench_version"}
VOLATILE_DATA = {"/train/seconds"}
CONFIG = "/@config"  # compared key by key: a key only the new build writes is an addition


def overrides(cfg):
    o = []
    if "bandit" in cfg:
        o.append("rollout.environments=10")
    else:
        o += ["eval.prompts=24", "eval.bootstrap=20"]
        sets = (cfg.get("eval") or {}).get("sets") or {}
        for name, s in sets.items():
            s = s or {}
            if "prompts" in s:
                o.append(f"eval.sets.{name}.prompts=24")
            if isinstance(s.get("spectrum"), dict) and "prompts" in s["spectrum"]:
                o.append(f"eval.sets.{name}.spectrum.prompts=8")
    if "model" in cfg:
        o += ["train.steps=4", "train.eval_every=2", "train.checkpoint_every=2",
              "train.eval_prompts=8"]
    return o


def run(icl, args, cwd):
    p = subprocess.run([icl] + args, cwd=cwd, capture_output=True, text=True,
                       env=dict(os.environ, OMP_NUM_THREADS="2"))
    return p.returncode, (p.stderr.strip().splitlines() or [""])[-1]


def items(path):
    """{"/a/b": bytes-ish, "/a@attr": value} for every dataset and attribute."""
    out = {}
    with h5py.File(path, "r") as f:
        def attrs(name, obj):
            for k, v in obj.attrs.items():
                out[f"{name}@{k}"] = v.tobytes() if isinstance(v, np.ndarray) else v
        attrs("/", f)

        def visit(name, obj):
            key = "/" + name
            attrs(key, obj)
            if isinstance(obj, h5py.Dataset):
                a = obj[()]
                out[key] = (a.dtype.str, a.shape, np.asarray(a).tobytes())
        f.visititems(visit)
    return out


def flat(node, prefix=""):
    """{"train.steps": 4, ...} for a resolved config's YAML."""
    if not isinstance(node, dict):
        return {prefix: node}
    out = {}
    for k, v in node.items():
        out.update(flat(v, f"{prefix}.{k}" if prefix else str(k)))
    return out


def config_keys_added(old, new):
    """The keys a newer build's resolved config adds (a new option, written at its default), when
    every key of the old config keeps its value; None when any old key is gone or changed."""
    text = [c.decode() if isinstance(c, bytes) else str(c) for c in (old, new)]
    a, b = (flat(yaml.safe_load(t)) for t in text)
    if any(k not in b or b[k] != v for k, v in a.items()):
        return None
    return [k for k in b if k not in a]


def compare(old, new):
    a, b = items(old), items(new)
    diff, added = [], []
    for k in sorted(set(a) | set(b)):
        if k in VOLATILE_ATTRS or k in VOLATILE_DATA:
            continue
        if k == CONFIG and k in a and k in b and a[k] != b[k]:
            keys = config_keys_added(a[k], b[k])
            if keys is None:
                diff.append(f"{k} differs")
            else:
                added += [f"{k}:{key}" for key in keys]
            continue
        if k not in b:
            diff.append(f"{k} missing in new")
        elif k not in a:
            added.append(k)
        elif not (a[k] == b[k] if not isinstance(a[k], np.ndarray) else np.array_equal(a[k], b[k])):
            diff.append(f"{k} differs")
    return diff, added


def main(argv):
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    old_icl, new_icl, work = (os.path.abspath(x) for x in argv[1:4])
    only = argv[argv.index("--only") + 1] if "--only" in argv else ""
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    configs = sorted(os.path.relpath(os.path.join(d, f), os.path.join(root, "configs"))[:-5]
                     for d, _, fs in os.walk(os.path.join(root, "configs"))
                     for f in fs if f.endswith(".yaml")
                     and os.path.basename(d) != "figures")  # figure files: icl reproduce
    jobs = []
    for name in configs:
        with open(os.path.join(root, "configs", name + ".yaml")) as fh:
            cfg = yaml.safe_load(fh)
        jobs.append((name, ["run", name, "--device", "cpu", "--no-figures"] + sum(
            (["--set", o] for o in overrides(cfg)), [])))
    tasks = subprocess.run([new_icl, "list"], capture_output=True, text=True).stdout
    names, section = [], None
    for line in tasks.splitlines():
        if not line.startswith(" "):
            section = line.rstrip(":")
        elif section == "tasks":
            names.append(line.split()[0])
    for t in names:
        jobs.append((f"generate/{t}", ["generate", t, "--prompts", "20", "--examples", "5"]))
    failures, identical, only_added = 0, 0, 0
    for name, args in jobs:
        if only and only not in name:
            continue
        files = []
        results = []
        for tag, icl in (("old", old_icl), ("new", new_icl)):
            d = os.path.join(work, tag, name.replace("/", "_"))
            os.makedirs(d, exist_ok=True)
            out = os.path.join(d, "out.h5")
            if os.path.exists(os.path.join(d, "done")):  # an interrupted comparison continues
                results.append((0, ""))
                files.append(out)
                continue
            rc, last = run(icl, args + ["--out", out], d)
            if rc == 0:
                open(os.path.join(d, "done"), "w").close()
            if rc != 0 and args[0] == "generate" and "--examples" in args:
                # A token task whose shortest length is not 5: its own error names the range.
                rc, last = run(icl, args[:3] + ["--prompts", "20", "--examples", "2", "--out", out],
                               d)
            results.append((rc, last))
            files.append(out)
        (rc_old, last_old), (rc_new, last_new) = results
        if rc_old != 0 or rc_new != 0:
            same = rc_old == rc_new and last_old == last_new
            print(f"{name}: {'both fail alike' if same else 'FAIL'} (old {rc_old}: {last_old}; "
                  f"new {rc_new}: {last_new})")
            failures += not same
            continue
        diff, added = compare(*files)
        if diff:
            failures += 1
            print(f"{name}: DIFFERENT: " + "; ".join(diff[:6]) + (" ..." if len(diff) > 6 else ""))
        elif added:
            only_added += 1
            print(f"{name}: identical but for added {', '.join(sorted(set(a.split('@')[-1] for a in added)))}")
        else:
            identical += 1
            print(f"{name}: identical")
    print(f"\n{identical} identical, {only_added} identical but for added attributes, "
          f"{failures} different or failing")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

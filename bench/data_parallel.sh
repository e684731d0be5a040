#!/usr/bin/env bash
# usage: bench/data_parallel.sh [STEPS] [MODEL_SETS...]
# Data-parallel training over MPI ranks on this machine (core/mpi.h): the quickstart model trained
# for STEPS steps (default 300) by one process with every CPU, by one process accumulating 2
# micro-batches, and by `mpirun -np 2` (each rank one CPU's share), with the mean step time of each
# from /train/seconds, and whether the 2 ranks' losses equal the 2-micro-batch run's bit for bit.
# Extra arguments are --set overrides (e.g. model.n_embd=128). Run it on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-300}
shift || true
extra=()
for s in "$@"; do extra+=(--set "$s"); done
icl=build/icl
work=$(mktemp -d "${TMPDIR:-/tmp}/data_parallel.XXXXXX")
trap 'rm -rf "$work"' EXIT
args=(run quickstart --device cpu --no-figures --set "train.steps=$steps" --set train.warmup=20
  --set eval.prompts=32 --set eval.bootstrap=20 --set "train.eval_every=$steps" "${extra[@]}")
root=()
[ "$(id -u)" -eq 0 ] && root=(--allow-run-as-root)

"$icl" "${args[@]}" --out "$work/one.h5" >/dev/null 2>&1
"$icl" "${args[@]}" --set train.micro_batches=2 --out "$work/acc.h5" >/dev/null 2>&1
mpirun "${root[@]}" -np 2 "$icl" "${args[@]}" --out "$work/dp.h5" >/dev/null 2>&1

/usr/bin/python3 - "$work" "$steps" "$(nproc)" <<'PY'
import sys, h5py, numpy as np
work, steps, cpus = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def step_ms(name):
    with h5py.File(f"{work}/{name}.h5") as f:
        t = f["train/seconds"][:]
        return 1000 * t[-1] / len(t), f["train/loss"][:]
one, _ = step_ms("one"); acc, la = step_ms("acc"); dp, ld = step_ms("dp")
print(f"quickstart, {steps} steps, {cpus} CPUs: mean step time")
rows = [(f"1 process, {cpus} threads", one, ""), ("1 process, 2 micro-batches", acc, ""),
        ("mpirun -np 2 (1 thread each)", dp, f"   ({one / dp:.2f}x the 1-process step)")]
for label, ms, note in rows:
    print(f"  {label:<30} {ms:7.2f} ms{note}")
print(f"  2 ranks == 2 micro-batches, bit for bit: {bool(np.array_equal(la, ld))}")
PY

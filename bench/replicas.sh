#!/usr/bin/env bash
# usage: bench/replicas.sh [STEPS] [S] [ICL]
# train.replicas (issue 23, part 2): S quickstart models (default 8) trained side by side in one
# process (`icl run quickstart --set train.replicas=S`: one replica per CPU thread, each on its
# thread alone) against the same S runs, seeds 0 .. S-1, one after another (each on every thread),
# STEPS steps each (default 2000; evaluation kept small, checkpoints only at the end). Prints both
# wall times, the training steps per second of each way (S x STEPS over the wall time, evaluation
# included) and the ratio (time one after another) / (time in one process): above 1, the replicas
# pay. Then checks that the replicas' files are their runs' (the datasets, bit for bit: tests/
# test_replicas.cpp checks every attribute too), so a speed-up never hides a wrong result. Run it on
# an otherwise idle machine: every number is a wall time.
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-2000}
replicas=${2:-8}
icl=${3:-build/icl}
work=$(mktemp -d "${TMPDIR:-/tmp}/replicas.XXXXXX")
trap 'rm -rf "$work"' EXIT
args=(run quickstart --set "train.steps=$steps" --set train.warmup=20 --set "train.eval_every=$steps"
  --set "train.checkpoint_every=$steps" --set eval.prompts=64 --set eval.bootstrap=20
  --device cpu --no-figures)

t0=$(date +%s.%N)
"$icl" "${args[@]}" --set "train.replicas=$replicas" --out "$work/rep.h5" >/dev/null 2>&1
t1=$(date +%s.%N)
for ((s = 0; s < replicas; s++)); do
  "$icl" "${args[@]}" --seed "$s" --out "$work/alone$s.h5" >/dev/null 2>&1
done
t2=$(date +%s.%N)

one=$(echo "$t1 - $t0" | bc -l)
row=$(echo "$t2 - $t1" | bc -l)
total=$((replicas * steps))
echo "quickstart, $replicas models x $steps steps, $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
printf '%-24s %9s %9s\n' "" "wall" "steps/s"
printf '%-24s %7.1f s %9.1f\n' "replicas in one process" "$one" "$(echo "$total / $one" | bc -l)"
printf '%-24s %7.1f s %9.1f\n' "one after another" "$row" "$(echo "$total / $row" | bc -l)"
printf 'ratio (one after another / in one process): %.2f\n' "$(echo "$row / $one" | bc -l)"

/usr/bin/python3 - "$work" "$replicas" <<'EOF'
import sys
import h5py
import numpy as np

work, n = sys.argv[1], int(sys.argv[2])
for s in range(n):
    a, b = h5py.File(f"{work}/rep.seed{s}.h5"), h5py.File(f"{work}/alone{s}.h5")
    names = []
    a.visititems(lambda k, v: names.append(k) if isinstance(v, h5py.Dataset) else None)
    bad = [k for k in names if k != "train/seconds" and not np.array_equal(a[k][()], b[k][()])]
    if bad or a.attrs["config"] != b.attrs["config"]:
        sys.exit(f"replica seed {s} differs from its run alone: {bad or 'config'}")
print(f"each of the {n} replicas' files equals its run alone ({len(names)} datasets each)")
EOF

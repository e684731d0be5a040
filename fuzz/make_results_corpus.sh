#!/usr/bin/env bash
# Regenerates fuzz/corpus/fuzz_results/ from real runs of fuzz/tiny_run.yaml: a checkpoint-only file
# (--until 2), the finished run, an `icl eval` file and an `icl generate` file, each encoded by
# h5_to_ops.py. usage: fuzz/make_results_corpus.sh [ICL_BINARY]   (default build-san/icl)
set -euo pipefail
cd "$(dirname "$0")/.."
icl=${1:-build-san/icl}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=fuzz/corpus/fuzz_results
mkdir -p "$out"
export OMP_NUM_THREADS=1
"$icl" run fuzz/tiny_run.yaml --until 2 --device cpu --out "$tmp/until2.h5" >/dev/null
"$icl" run fuzz/tiny_run.yaml --device cpu --out "$tmp/finished.h5" >/dev/null
"$icl" eval --checkpoint "$tmp/finished.h5" --set x_cov=skewed --prompts 4 --examples 3 \
  --device cpu --out "$tmp/eval.h5" >/dev/null
"$icl" generate linear_regression --set d=2 --prompts 2 --examples 3 --out "$tmp/generate.h5" >/dev/null
for f in until2 finished eval generate; do
  /usr/bin/python3 fuzz/h5_to_ops.py "$tmp/$f.h5" "$out/$f.bin"
done
ls -l "$out"

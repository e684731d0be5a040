#!/usr/bin/env bash
# PyTorch oracle for the past model (CTest: torch_oracle_past, label "oracle"): dump_past writes one
# training step (weights, maze mlm_u prompts, logits, loss, gradients) for a few shapes, as
# initialised and with every parameter perturbed, and torch_past.py rebuilds the model in PyTorch
# and compares.
#
#   bash tests/reference/run_torch_oracle_past.sh PATH/TO/dump_past
#
# Exit 0 when every tensor agrees (relative error <= 1e-4), 1 otherwise, 77 (skip) when PyTorch is
# not installed (python3-torch). $PYTHON picks the interpreter (else $ICL_PYTHON, else
# /usr/bin/python3).
set -euo pipefail

dump=${1:?usage: run_torch_oracle_past.sh PATH/TO/dump_past}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/reference/torch_python.sh
. "$here/torch_python.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

configs=("n=3 B=4 n_layer=2 n_head=2 n_embd=16"
         "n=4 B=3 n_layer=1 n_head=4 n_embd=16 mlp_ratio=2 rope_base=100")
files=()
i=0
for c in "${configs[@]}"; do
  for variant in "seed=1 perturb=0" "seed=2 perturb=0.1"; do
    out="$tmp/dump_$i.h5"
    # shellcheck disable=SC2086  # word splitting of the key=value lists is intended
    "$dump" "$out" $c $variant
    files+=("$out")
    i=$((i + 1))
  done
done

"$PYTHON" "$here/torch_past.py" "${files[@]}"

#!/usr/bin/env bash
# PyTorch oracle for the transformer (CTest: torch_oracle, label "oracle"). For every norm placement
# (pre, post, peri, mix) × (layernorm, rmsnorm), plus ln_scaling with pos=none, ReLU attention and
# prompts shorter than the positional table, dump_transformer writes one training step (weights,
# prompts, predictions, loss, gradients) and torch_transformer.py rebuilds the model in PyTorch and
# compares; each shape runs twice: as initialised, and with every parameter perturbed (so zero
# biases and unit gains are not special cases).
#
#   bash tests/reference/run_torch_oracle.sh PATH/TO/dump_transformer
#
# Exit 0 when every tensor agrees (relative error <= 1e-4), 1 otherwise, 77 (skip) when PyTorch is
# not installed (python3-torch). $PYTHON picks the interpreter (else $ICL_PYTHON, else
# /usr/bin/python3: the OS packages, not a virtualenv's).
set -euo pipefail

dump=${1:?usage: run_torch_oracle.sh PATH/TO/dump_transformer}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/reference/torch_python.sh
. "$here/torch_python.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

common=(n_layer=3 n_head=3 n_embd=12 d=5 K=7 B=4)
configs=()
for placement in pre post peri mix; do
  for norm in layernorm rmsnorm; do
    extra=""
    # mix: post-LN in the first ⌊αL⌋ blocks; α = 0.5 makes that block 0 of 3 (α = 0.25 would be 0).
    [ "$placement" = mix ] && extra="mix_alpha=0.5"
    configs+=("placement=$placement norm=$norm $extra")
  done
done
configs+=("placement=pre norm=layernorm ln_scaling=true pos=none")
configs+=("placement=peri norm=rmsnorm ln_scaling=true pos=none")
configs+=("placement=pre norm=layernorm attention=relu")
configs+=("placement=peri norm=layernorm max_examples=10")  # prompts shorter than the model's K

files=()
i=0
for c in "${configs[@]}"; do
  for variant in "seed=1 perturb=0" "seed=2 perturb=0.1"; do
    out="$tmp/dump_$i.h5"
    # shellcheck disable=SC2086  # word splitting of the key=value lists is intended
    "$dump" "$out" "${common[@]}" $c $variant
    files+=("$out")
    i=$((i + 1))
  done
done

"$PYTHON" "$here/torch_transformer.py" "${files[@]}"

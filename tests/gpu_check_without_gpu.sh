#!/usr/bin/env bash
# scripts/gpu_check.sh on a machine without a GPU: one line saying so, exit status 3 (distinct from
# a failed check's 1), and nothing written. Skipped (77) where a GPU is visible.
set -uo pipefail
src=${1:?usage: gpu_check_without_gpu.sh SOURCE_DIR}
if command -v nvidia-smi >/dev/null && nvidia-smi -L 2>/dev/null | grep -q '^GPU '; then
  echo "a GPU is visible: gpu_check.sh would run"
  exit 77
fi
out=$(mktemp -d)
text=$(OUT="$out/check" bash "$src/scripts/gpu_check.sh" 2>&1)
rc=$?
lines=$(printf '%s\n' "$text" | wc -l)
ok=1
[ $rc -eq 3 ] || { echo "exit status $rc, want 3"; ok=0; }
[ "$lines" -eq 1 ] || { echo "$lines lines, want 1"; ok=0; }
case "$text" in *"no GPU here"*) ;; *) echo "no 'no GPU here' in: $text"; ok=0 ;; esac
[ -e "$out/check" ] && { echo "it wrote $out/check"; ok=0; }
rm -rf "$out"
[ $ok = 1 ] && echo "ok: $text"
[ $ok = 1 ]

#!/usr/bin/env bash
# Where a CPU training step spends its time: samples bench_train_step under `perf record` (the
# cpu-clock software event, so it works on VMs without hardware counters) and prints the share of
# each kind of work, then the top symbols.
#
#   bash bench/profile_step.sh [--build DIR] [quickstart|garg_small|garg_standard] [STEPS]
#
# Kinds: matrix products (Eigen's GEBP kernel, its packing, the linear layers' own loops), attention,
# norms, elementwise (GELU, add, scale), optimizer (AdamW, gradient norm), memory (memset, memcpy,
# page faults), OpenMP (threads waiting at the end of a parallel loop), other. perf adds overhead,
# so the step time it prints is above bench_train_step's own; the shares are what to read.
set -euo pipefail
build=build
if [[ "${1:-}" == "--build" ]]; then
  build=$2
  shift 2
fi
model=${1:-quickstart}
case "$model" in
  quickstart) shape=() steps=${2:-150} ;;
  garg_small) shape=(n_layer=6 n_head=4 n_embd=128 d=20 K=41) steps=${2:-12} ;;
  garg_standard) shape=(n_layer=12 n_head=8 n_embd=256 d=20 K=41) steps=${2:-4} ;;
  *)
    echo "profile_step.sh: error: unknown model '$model' (known: quickstart, garg_small, garg_standard)" >&2
    exit 2
    ;;
esac
exe="$build/bench/bench_train_step"
[[ -x "$exe" ]] || { echo "profile_step.sh: error: $exe not built (cmake --build $build)" >&2; exit 2; }
command -v perf >/dev/null || {
  echo "profile_step.sh: error: perf not found (apt-get install linux-perf)" >&2
  exit 2
}
data=$(mktemp /tmp/icl_profile.XXXXXX)
trap 'rm -f "$data" "$data.old"' EXIT
perf record -q -e cpu-clock -o "$data" "$exe" "${shape[@]}" steps="$steps" warmup=2 | grep median_ms |
  sed 's/^/under perf: /'
perf report -i "$data" --no-children --sort dso,symbol --stdio 2>/dev/null | /usr/bin/python3 -c '
import re, sys
kinds = [
    ("matrix products", r"gebp_kernel|gemm_pack|general_matrix_matrix|general_matrix_vector|linear_(forward|backward)"),
    ("attention", r"attention_|attn::"),
    ("norms", r"layernorm|rmsnorm|row_sum"),
    ("elementwise", r"gelu|relu|add_forward|add_backward|scale_|__expf|tanh"),
    ("optimizer", r"adamw|clip_grad|grad_norm"),
    ("memory", r"memset|memmove|memcpy|page_fault|clear_page"),
    ("OpenMP waiting", r"libgomp"),
]
share, top = {}, []
for line in sys.stdin:
    m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+\[.\]\s+(.*)", line)
    if not m:
        continue
    pct, dso, sym = float(m.group(1)), m.group(2), m.group(3).strip()
    kind = next((k for k, rx in kinds if re.search(rx, dso + " " + sym)), "other")
    share[kind] = share.get(kind, 0.0) + pct
    top.append((pct, sym[:110]))
print("kind".ljust(18), "share".rjust(7))
for k, _ in kinds + [("other", "")]:
    print(f"{k:<18} {share.get(k, 0.0):>6.1f}%")
print("\ntop symbols:")
for pct, sym in top[:12]:
    print(f"{pct:>6.2f}%  {sym}")
'

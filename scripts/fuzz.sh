#!/usr/bin/env bash
# usage: scripts/fuzz.sh TARGET SECONDS [libFuzzer options...]
#   TARGET: fuzz_config | fuzz_results | fuzz_generate (fuzz/*.cpp say what each covers)
# Builds the target in build-san/ (clang, -fsanitize=fuzzer,address,undefined, CUDA off; the same
# build scripts/sanitize.sh tests, built incrementally), runs it for SECONDS on a copy of the
# committed seed corpus fuzz/corpus/TARGET (new corpus entries stay in the copy, never in the
# repository), prints the executions and findings, and exits nonzero when it found a crash, a leak,
# a timeout or an out-of-memory. Reproducers go to build-san/fuzz/findings/TARGET/; rerun one with
# build-san/fuzz/TARGET FILE. Every run's execution count is appended to build-san/fuzz/execs.log.
# ICL_SAN_DIR names another build directory, as for scripts/sanitize.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 2 ] || ! [[ "$2" =~ ^[0-9]+$ ]] || [ "$2" -lt 1 ]; then
  echo "usage: scripts/fuzz.sh fuzz_config|fuzz_results|fuzz_generate SECONDS [libFuzzer options]" >&2
  exit 2
fi
target=$1
seconds=$2
shift 2
case "$target" in
  fuzz_config | fuzz_results | fuzz_generate) ;;
  *)
    echo "fuzz.sh: unknown target '$target' (fuzz_config, fuzz_results, fuzz_generate)" >&2
    exit 2
    ;;
esac

bash scripts/sanitize.sh --build-only "$target"

dir=${ICL_SAN_DIR:-build-san}  # as scripts/sanitize.sh's
bin=$dir/fuzz/$target
findings=$dir/fuzz/findings/$target
mkdir -p "$findings"
work=$(mktemp -d "${TMPDIR:-/tmp}/$target.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp -r "fuzz/corpus/$target" "$work/corpus"
dict=()
[ -f "fuzz/$target.dict" ] && dict=("-dict=fuzz/$target.dict")

# -timeout: one input taking 30 s is a finding (a hang); -rss_limit_mb: above the 3 GiB at which
# the targets' allocator starts refusing (fuzz/fuzz_common.h), so only a real leak or runaway
# reaches it. One thread: the machine's other core is the build's or another fuzzer's.
set +e
LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/scripts/sanitize.supp:print_suppressions=0} \
OMP_NUM_THREADS=1 "$bin" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=4096 \
  -print_final_stats=1 -artifact_prefix="$findings/" "${dict[@]}" "$@" "$work/corpus" \
  >"$work/log" 2>&1
rc=$?
set -e

execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/log" | grep -o '[0-9]*$' || true)
[ -n "$execs" ] || execs=$(grep -o '^#[0-9]*' "$work/log" | tail -1 | tr -d '#')
echo "$(date -u +%FT%TZ) $target ${seconds}s execs=${execs:-0} rc=$rc" >>"$dir/fuzz/execs.log"
grep -E '^(INFO: Seed|#[0-9]+[[:space:]]+(INITED|DONE))|ERROR|SUMMARY|runtime error|Test unit written|ran out of memory' \
  "$work/log" | tail -n 40 || true
echo "fuzz.sh: $target ran ${seconds}s, ${execs:-0} executions, corpus $(ls "$work/corpus" | wc -l) inputs"
if [ $rc -ne 0 ]; then
  echo "fuzz.sh: $target FOUND A PROBLEM (libFuzzer exit $rc); reproducers in $findings/:" >&2
  ls -t "$findings" | head -5 >&2
  tail -n 60 "$work/log" >&2
  exit 1
fi
echo "fuzz.sh: $target: no findings"

#!/usr/bin/env bash
# Everything a GPU session must check, in one call (a lent GPU's minutes are few): builds the CUDA
# backend (Release, warnings as errors), runs every GPU test (CUDA twins against the CPU, device
# choice, captured training step), the whole test suite if asked, the side-by-side GPU benchmark
# against PyTorch and the mixers' training-step times against the sequence length. Logs go to
# $OUT (or results/gpu_check/), a summary table last.
#
#   bash scripts/gpu_check.sh            # GPU tests + GPU benchmark
#   bash scripts/gpu_check.sh --all      # also every other test
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-results/gpu_check}"
mkdir -p "$out"
all=0
[ "${1:-}" = "--all" ] && all=1

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
start=$(date +%s)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DICL_CUDA=ON -DICL_WERROR=ON \
  >"$out/configure.log" 2>&1 && cmake --build build -j"$(nproc)" >"$out/build.log" 2>&1
build_rc=$?
build_s=$(($(date +%s) - start))
if [ $build_rc -ne 0 ]; then
  tail -40 "$out/build.log"
  echo "build failed after ${build_s}s (logs in $out)"
  exit 1
fi

ctest --test-dir build -R 'Cuda|DeviceChoice|Device\.' --output-on-failure -j4 >"$out/gpu_tests.log" 2>&1
gpu_rc=$?
all_rc=-
if [ $all -eq 1 ]; then
  ctest --test-dir build -E 'Cuda|DeviceChoice|Device\.' -j"$(nproc)" >"$out/all_tests.log" 2>&1
  all_rc=$?
fi
timeout 300 /usr/bin/python3 bench/compare_gpu_step.py --build build >"$out/gpu_bench.log" 2>&1
bench_rc=$?
timeout 300 /usr/bin/python3 bench/mixer_steps.py --build build --device cuda \
  >"$out/mixer_bench.log" 2>&1
mixer_rc=$?

echo
grep -E 'tests passed|Failed|\(Failed\)|\(SEGFAULT\)|Skipped' "$out/gpu_tests.log" | tail -15
[ $all -eq 1 ] && grep -E 'tests passed' "$out/all_tests.log"
tail -15 "$out/gpu_bench.log"
cat "$out/mixer_bench.log"
echo
printf '%-12s %s\n' build "ok (${build_s}s)" gpu_tests "rc $gpu_rc" all_tests "rc $all_rc" \
  gpu_bench "rc $bench_rc" mixer_bench "rc $mixer_rc"
[ $gpu_rc -eq 0 ] && { [ "$all_rc" = "-" ] || [ "$all_rc" -eq 0 ]; }

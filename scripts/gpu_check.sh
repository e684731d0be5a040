#!/usr/bin/env bash
# Everything a GPU session must check, in one call (a lent GPU's minutes are few), on a bare GPU
# machine: nvcc, CMake and ninja are there, the -dev packages are not, and nothing can be fetched.
# The packages travel as .gpu_bundle/ (scripts/gpu_bundle.sh, run beforehand where Debian's
# registry is reachable) and are unpacked into a prefix of their own (scripts/gpu_env.sh), never
# over the system's files. Then, each phase timed:
#   build     Release, CUDA for the GPU found (its compute capability), warnings as errors
#   gpu       every GPU test: the op harness's CUDA twins against the CPU (Op*.*OnCuda, one per
#             op-case list, tests/op_harness.h), what it cannot express (tests/test_cuda_*.cpp:
#             TF32, misaligned pointers, whole models, the captured training step), device choice
#   suite     every other test but the slow learning tests (--all: those too)
#   bench     bench/compare_gpu_step.py (iclbench vs PyTorch eager and torch.compile) and
#             bench/mixer_steps.py on the GPU, with the Python that has CUDA PyTorch (found)
#   e2e       quickstart trained on the GPU and on the CPU, same seed: both curves' final error
# Logs go to $OUT (or results/gpu_check/); a summary table is printed last and written to
# summary.txt. Exit status: 0 all passed, 1 something failed, 3 no GPU here (one line).
#
#   bash scripts/gpu_check.sh            # about 5 minutes on a 16-core H100 machine
#   bash scripts/gpu_check.sh --all      # with the slow learning tests
#   bash scripts/gpu_check.sh --rehearse # here, without a GPU: every phase but the GPU's own work
#                                        # (CUDA built for sm_90, GPU tests skip), so that a lent
#                                        # GPU's minutes are not spent on the script's own bugs
set -uo pipefail
cd "$(dirname "$0")/.."
all=0
rehearse=0
for a in "$@"; do
  case "$a" in
    --all) all=1 ;;
    --rehearse) rehearse=1 ;;
    *) echo "gpu_check: unknown argument '$a' (allowed: --all, --rehearse)"; exit 2 ;;
  esac
done
if [ $rehearse = 0 ] && { ! command -v nvidia-smi >/dev/null || ! nvidia-smi -L 2>/dev/null | grep -q '^GPU '; }; then
  echo "gpu_check: no GPU here (nvidia-smi lists none); nothing to check"
  exit 3
fi
out="${OUT:-results/gpu_check}"
mkdir -p "$out"
summary=()
note() { summary+=("$(printf '%-8s %-6s %5ss  %s' "$1" "$2" "$3" "${4:-}")"); }
t() { date +%s; }
jobs=$(nproc)

if [ $rehearse = 1 ]; then
  gpu="none (rehearsal), 9.0, -, -"
else
  gpu=$(nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total --format=csv,noheader | head -1)
fi
cc=$(echo "$gpu" | cut -d, -f2 | tr -d ' .')
echo "gpu: $gpu" | tee "$out/gpu.txt"
glibc=$(ldd --version | head -1 | grep -oE '[0-9]+\.[0-9]+$')
if [ "$(printf '%s\n2.36\n' "$glibc" | sort -V | head -1)" != 2.36 ]; then
  echo "gpu_check: glibc $glibc here is older than Debian 12's 2.36, which the bundle's libraries need"
  exit 1
fi

s=$(t)
# shellcheck source=scripts/gpu_env.sh
source scripts/gpu_env.sh || exit 1
note unpack ok $(($(t) - s)) "$(wc -l <.gpu_bundle/MANIFEST) packages into $bundle_prefix"

# The Python that has CUDA PyTorch, h5py and matplotlib: for the benchmarks, the report script and
# the tests that call Python (ICL_PYTHON).
py=""
for cand in python3 /opt/torch/.venv/bin/python3 /usr/bin/python3 /usr/local/bin/python3; do
  if command -v "$cand" >/dev/null &&
    "$cand" -c 'import torch, h5py, matplotlib; assert torch.cuda.is_available()' 2>/dev/null; then
    py=$(command -v "$cand")
    break
  fi
done
export ICL_PYTHON="${py:-/usr/bin/python3}"

s=$(t)
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DICL_CUDA=ON -DICL_WERROR=ON \
  -DCMAKE_CUDA_ARCHITECTURES="$cc" "${bundle_cmake_args[@]}" >"$out/configure.log" 2>&1 &&
  cmake --build build-gpu -j"$jobs" >"$out/build.log" 2>&1
rc=$?
note build "$([ $rc = 0 ] && echo ok || echo FAIL)" $(($(t) - s)) "sm_$cc, $jobs jobs"
if [ $rc -ne 0 ]; then
  tail -30 "$out/configure.log" "$out/build.log"
  printf '%s\n' "${summary[@]}" | tee "$out/summary.txt"
  exit 1
fi

# The GPU tests by name: every CUDA test has "Cuda" in its name (ICL_OP_TEST names the CUDA half
# of a case list <Name>OnCuda; the hand-written ones are Cuda*), plus device selection. The suite
# phase runs everything else, so the two never overlap.
gpu_tests='Cuda|DeviceChoice|Device\.'
s=$(t)
ctest --test-dir build-gpu -R "$gpu_tests" --output-on-failure -j4 >"$out/gpu_tests.log" 2>&1
gpu_rc=$?
note gpu "$([ $gpu_rc = 0 ] && echo ok || echo FAIL)" $(($(t) - s)) "$(grep -E 'tests passed' "$out/gpu_tests.log")"

s=$(t)
sel=(-LE slow)
[ $all = 1 ] && sel=()
ctest --test-dir build-gpu -E "$gpu_tests" "${sel[@]}" -j"$jobs" \
  --output-on-failure >"$out/suite.log" 2>&1
suite_rc=$?
note suite "$([ $suite_rc = 0 ] && echo ok || echo FAIL)" $(($(t) - s)) "$(grep -E 'tests passed' "$out/suite.log")"

s=$(t)
if [ $rehearse = 1 ]; then
  bench_rc=0
  note bench skip 0 "rehearsal: no GPU to time"
elif [ -n "$py" ]; then
  timeout 240 "$py" bench/compare_gpu_step.py --build build-gpu >"$out/gpu_bench.log" 2>&1
  bench_rc=$?
  timeout 120 "$py" bench/mixer_steps.py --build build-gpu --device cuda >"$out/mixer_bench.log" 2>&1
  mixer_rc=$?
  note bench "$([ $((bench_rc + mixer_rc)) = 0 ] && echo ok || echo FAIL)" $(($(t) - s)) \
    "compare_gpu_step rc $bench_rc, mixer_steps rc $mixer_rc ($py)"
else
  bench_rc=1
  note bench FAIL 0 "no Python here imports torch (with CUDA), h5py and matplotlib"
fi

s=$(t)
e2e=(run quickstart --set train.steps=400 --no-figures --seed 1)
if [ $rehearse = 1 ]; then  # the CPU half only
  ./build-gpu/icl "${e2e[@]}" --device cpu --out "$out/e2e_cpu.h5" >"$out/e2e_cpu.log" 2>&1
else
  ./build-gpu/icl "${e2e[@]}" --device cuda --out "$out/e2e_cuda.h5" >"$out/e2e_cuda.log" 2>&1 &&
    ./build-gpu/icl "${e2e[@]}" --device cpu --out "$out/e2e_cpu.h5" >"$out/e2e_cpu.log" 2>&1
fi
e2e_rc=$?
final() { [ -f "$1" ] && grep -E '^ *transformer ' "$1" | awk '{print $NF}'; }
note e2e "$([ $e2e_rc = 0 ] && echo ok || echo FAIL)" $(($(t) - s)) \
  "quickstart 400 steps, final error: cuda $(final "$out/e2e_cuda.log"), cpu $(final "$out/e2e_cpu.log")"

echo
grep -E '\(Failed\)|\(SEGFAULT\)|\(Timeout\)|Skipped' "$out/gpu_tests.log" "$out/suite.log" | head -20
tail -15 "$out/gpu_bench.log" 2>/dev/null
tail -20 "$out/mixer_bench.log" 2>/dev/null
echo
{
  echo "gpu_check on $gpu"
  printf '%s\n' "${summary[@]}"
} | tee "$out/summary.txt"
[ $gpu_rc = 0 ] && [ $suite_rc = 0 ] && [ $bench_rc = 0 ] && [ $e2e_rc = 0 ]

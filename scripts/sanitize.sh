#!/usr/bin/env bash
# AddressSanitizer + UndefinedBehaviorSanitizer: builds the library, `icl` and the unit tests with
# clang (-fsanitize=address,undefined, undefined behaviour fatal: -fno-sanitize-recover), CUDA off,
# into build-san/, and runs the unit tests (`ctest -L unit`; the slow learning tests are left out).
# Any report fails the test that triggered it, so the script exits nonzero.
#
# build-san/ is also scripts/fuzz.sh's build: everything there carries the fuzzer's coverage
# instrumentation too (-fsanitize=fuzzer-no-link, ICL_FUZZ=ON), which costs the tests little and
# lets CI build once for both. `--build-only [TARGET...]` configures and builds (the given targets,
# by default the tests and icl) without running anything; scripts/fuzz.sh uses it.
# Extra arguments after the options go to ctest (e.g. -R Config). ICL_SAN_DIR names another build
# directory (default build-san).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${ICL_SAN_DIR:-build-san}

# The OS packages the main build needs, then clang's: the compiler, its sanitizer and libFuzzer
# runtimes, and its OpenMP runtime.
bash scripts/install-deps.sh
clang_packages=(clang libclang-rt-14-dev libomp-dev)
missing=()
for p in "${clang_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "sanitize.sh needs: ${missing[*]} (sudo apt-get install -y ${missing[*]})" >&2
    exit 1
  fi
fi

build_only=0
targets=()
if [ "${1:-}" = "--build-only" ]; then
  build_only=1
  shift
  targets=("$@")
  set --
fi
[ ${#targets[@]} -gt 0 ] || targets=(icl icl_tests)

# -O2 keeps the tests fast under the sanitizers; -gline-tables-only gives reports file:line at
# little compile cost; NDEBUG is left off so Eigen's and the standard library's assertions run.
if [ ! -f "$dir/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -gline-tables-only" \
    "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O2 -gline-tables-only" \
    -DICL_CUDA=OFF -DICL_FUZZ=ON -DICL_BUILD_BENCH=OFF >/dev/null
fi
cmake --build "$dir" -j "$(nproc)" --target "${targets[@]}"
[ $build_only -eq 1 ] && exit 0

# detect_leaks: a leak is a report like any other. halt_on_error is ASan's default; UBSan is fatal
# through -fno-sanitize-recover. print_stacktrace: UBSan's reports name the call path.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# Leaks inside the uninstrumented OpenMP runtime are not ours (scripts/sanitize.supp says which).
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/scripts/sanitize.supp:print_suppressions=0}
# Left out: the kill soak test (tests/test_soak.cpp). It starts icl over a hundred times and kills
# it; under the sanitizers each start and training step is several times slower, so it alone took
# 582 s of its 600 s limit here (all the other unit tests together: 400 s of test time, about 3.5
# minutes on 2 cores), and what it checks, the files a killed run leaves, does not depend on them.
# scripts/test.sh runs it.
ctest --test-dir "$dir" -L unit -E '^KillSoak\.' --output-on-failure -j "$(nproc)" "$@"

#!/usr/bin/env bash
# The bundle test (CI runs it): builds iclbench against .gpu_bundle/ alone, as scripts/gpu_check.sh
# will on a bare GPU machine, with the system's copies of the same packages hidden from CMake's
# search (only-mode package, header and library search in the prefix), then proves that nothing
# came from the system after all:
#   - no header the compiler read belongs to a bundled package's system copy (the compiler's own
#     include path still holds /usr/include, which CMake's search cannot hide);
#   - every library the programs load from a bundled package resolves into the prefix (RPATH).
# CUDA stays off here (CI has no nvcc); the CUDA toolkit is on the GPU machine itself.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f .gpu_bundle/MANIFEST ] || bash scripts/gpu_bundle.sh
bundle_only=1
# shellcheck source=scripts/gpu_env.sh
source scripts/gpu_env.sh
dir=build-bundle
start=$(date +%s)
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DICL_CUDA=OFF "${bundle_cmake_args[@]}" \
  >"$dir.configure.log" 2>&1 || { tail -20 "$dir.configure.log"; echo "bundle check: configure failed"; exit 1; }
cmake --build "$dir" --target icl icl_tests bench_baselines >"$dir.build.log" 2>&1 ||
  { grep -E "error|Error" "$dir.build.log" | head -20; echo "bundle check: build failed"; exit 1; }

bundled=" $(cut -d' ' -f1 .gpu_bundle/MANIFEST | tr '\n' ' ') "
fail=0
# Headers: every system path among the compiler's recorded dependencies (ninja keeps them in its
# log, not in .d files), with its owning package.
mapfile -t headers < <(ninja -C "$dir" -t deps | awk '/^    \/usr\/(include|lib|share)\//{print $1}' |
  sort -u)
[ ${#headers[@]} -gt 0 ] || { echo "bundle check: no dependency records in $dir"; exit 1; }
if [ ${#headers[@]} -gt 0 ]; then
  while IFS= read -r line; do
    pkg=${line%%:*}
    pkg=${pkg%%,*}
    pkg=${pkg%%:*}
    if [[ "$bundled" == *" $pkg "* ]]; then
      echo "bundle check: read from the system instead of the bundle: $line"
      fail=1
    fi
  done < <(dpkg -S "${headers[@]}" 2>/dev/null | sed 's/:amd64//')
fi
# Libraries: what each program loads, by package.
for prog in "$dir/icl" "$dir/tests/icl_tests" "$dir/bench/bench_baselines"; do
  while read -r lib path; do
    real=$(readlink -f "$path")
    case "$real" in "$bundle_prefix"/*) continue ;; esac
    pkg=$({ dpkg -S "$real" 2>/dev/null || dpkg -S "${real#/usr}" 2>/dev/null; } | head -1 | cut -d: -f1)
    if [[ -n "$pkg" && "$bundled" == *" $pkg "* ]]; then
      echo "bundle check: $prog loads $lib from the system ($real, $pkg), not from the bundle"
      fail=1
    fi
  done < <(ldd "$prog" | awk '/=> \//{print $1, $3}')
done
"$dir/icl" version >/dev/null || fail=1
"$dir/tests/icl_tests" --gtest_filter='Rng.*' >/dev/null || { echo "bundle check: tests failed"; fail=1; }
n_headers=${#headers[@]}
echo "bundle check: built in $(($(date +%s) - start))s against $bundle_prefix; $n_headers system" \
  "headers and every program's libraries checked: $([ $fail = 0 ] && echo complete || echo INCOMPLETE)"
exit $fail

#!/usr/bin/env bash
# usage: bench/shared_machine.sh [STEPS] [ICL]
# Two runs sharing one machine (issue: "no collapse on a shared machine"). Trains the quickstart
# model for STEPS steps (default 400; evaluation kept small) twice one after the other, then twice
# at once, and prints the throughput ratio  (time of the two one after the other) / (time of the
# two at once): 1.0 means sharing costs nothing, 0.5 that both runs together take twice as long as
# both in a row. Each way is measured with three ways for idle OpenMP threads to wait:
#   spin:    libgomp's default (OMP_WAIT_POLICY and GOMP_SPINCOUNT unset; ICL_WAIT_POLICY_SET=1
#            stops icl from setting one), what every run did before core/threads.h;
#   passive: OMP_WAIT_POLICY=passive (sleep at once);
#   icl:     icl's default now (GOMP_SPINCOUNT=500: spin briefly, then sleep).
# Steps/s are each run's training steps over its training seconds (/train/seconds in the file).
# Run it on an otherwise idle machine: every number is a wall time.
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-400}
icl=${2:-build/icl}
work=$(mktemp -d "${TMPDIR:-/tmp}/shared_machine.XXXXXX")
trap 'rm -rf "$work"' EXIT
args=(run quickstart --set "train.steps=$steps" --set train.warmup=20 --set eval.prompts=64
  --set eval.bootstrap=20 --no-figures)

steps_per_s() {  # the training steps per second a results file records
  /usr/bin/python3 -c "import h5py,sys; t=h5py.File(sys.argv[1])['train/seconds'][:]; print(f'{len(t)/t[-1]:.1f}')" "$1"
}

measure() {  # $1: spin|passive
  local env=()
  local clean=(env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT -u ICL_WAIT_POLICY_SET)
  [ "$1" = spin ] && env=("${clean[@]}" ICL_WAIT_POLICY_SET=1)
  [ "$1" = passive ] && env=("${clean[@]}" OMP_WAIT_POLICY=passive)
  [ "$1" = icl ] && env=("${clean[@]}")
  local t0 t1 t2
  t0=$(date +%s.%N)
  "${env[@]}" "$icl" "${args[@]}" --out "$work/$1_a.h5" >/dev/null 2>&1
  "${env[@]}" "$icl" "${args[@]}" --out "$work/$1_b.h5" >/dev/null 2>&1
  t1=$(date +%s.%N)
  "${env[@]}" "$icl" "${args[@]}" --out "$work/$1_c.h5" >/dev/null 2>&1 &
  "${env[@]}" "$icl" "${args[@]}" --out "$work/$1_d.h5" >/dev/null 2>&1 &
  wait
  t2=$(date +%s.%N)
  local seq conc
  seq=$(echo "$t1 - $t0" | bc -l)
  conc=$(echo "$t2 - $t1" | bc -l)
  printf '%-8s %6.1f s %6.1f s %8.2f %12s %14s\n' "$1" "$seq" "$conc" \
    "$(echo "$seq / $conc" | bc -l)" "$(steps_per_s "$work/$1_a.h5")" \
    "$(steps_per_s "$work/$1_c.h5")/$(steps_per_s "$work/$1_d.h5")"
}

echo "quickstart, $steps steps, $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
printf '%-8s %8s %8s %8s %12s %14s\n' wait "2 in row" "2 at once" ratio "steps/s alone" "steps/s shared"
measure spin
measure passive
measure icl

#!/usr/bin/env bash
# Installs the OS packages iclbench builds and runs with (Debian/Ubuntu). As root it runs apt-get;
# otherwise it prints the exact command to run and exits 1. CUDA is optional: the CUDA backend is
# built when nvcc is found (ICL_CUDA=AUTO), and everything works without it. libxgboost-dev is
# optional too (ICL_XGBOOST=AUTO): without it the xgboost baseline is not built, and configs naming
# it say what to install. So is pybind11-dev (ICL_PYTHON=AUTO): without it the Python package
# iclbench is not built and its tests skip. `--slurm` adds Slurm's daemons and munge (optional).
set -euo pipefail

packages=(
  g++ cmake ninja-build git pkg-config
  libeigen3-dev libhdf5-dev libboost-program-options-dev libyaml-cpp-dev libfmt-dev
  libxgboost-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-matplotlib python3-h5py python3-numpy python3-torch libopenblas0-pthread
  python3-xgboost python3-sklearn  # the xgboost baseline's oracle: XGBRegressor (tests/test_xgboost.cpp)
  qemu-user  # runs a test binary as an older CPU (tests/test_isa.cpp)
  pybind11-dev python3-dev python3-pytest  # the Python package iclbench (ICL_PYTHON=AUTO; python/,
                                          # tests/python)
  openmpi-bin libopenmpi-dev  # mpirun: sweeps over MPI ranks and data-parallel training (ICL_MPI=AUTO;
                              # tests/test_sweep.cpp and tests/test_data_parallel.cpp run them)
)

# --slurm: a single-node Slurm cluster too (scripts/slurm_local.sh starts it; tests/test_slurm.cpp
# submits a sweep to it, and skips, saying so, without it).
if [ "${1:-}" = "--slurm" ]; then
  packages+=(slurmctld slurmd slurm-client munge)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "iclbench needs these OS packages: ${missing[*]}" >&2
  echo "run: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

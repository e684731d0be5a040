#!/usr/bin/env bash
# Gathers what a bare GPU machine lacks to build and test iclbench: the Debian packages of the
# development files (Eigen, HDF5, Boost.Program_options, yaml-cpp, fmt, XGBoost, GoogleTest, Google
# Benchmark) and of every shared library they pull in, at exactly the versions installed here, as
# .deb files in .gpu_bundle/ (ignored by git; it travels with the working tree to the GPU machine,
# where scripts/gpu_check.sh unpacks it into a prefix of its own). Run it here, where Debian's
# registry is reachable. The C library, the C++ runtime and OpenMP's runtime stay out: they belong
# to the compiler on the GPU machine.
#
#   bash scripts/gpu_bundle.sh          # (re)builds .gpu_bundle/ (about 25 MiB)
#   bash scripts/gpu_bundle.sh --check  # also builds the project against the bundle alone
set -euo pipefail
cd "$(dirname "$0")/.."
dir=.gpu_bundle
limit_mib=48  # the working tree that travels is limited to 64 MiB in all

dev=(libeigen3-dev libhdf5-dev libboost1.74-dev libboost-program-options1.74-dev libyaml-cpp-dev
  libfmt-dev libxgboost-dev libgtest-dev libgmock-dev libbenchmark-dev)
# Libraries whose dependencies are followed (the shared objects the build links).
roots=(/usr/lib/x86_64-linux-gnu/libhdf5_serial.so /usr/lib/x86_64-linux-gnu/libboost_program_options.so
  /usr/lib/x86_64-linux-gnu/libyaml-cpp.so /usr/lib/x86_64-linux-gnu/libfmt.so
  /usr/lib/x86_64-linux-gnu/libbenchmark.so /usr/lib/x86_64-linux-gnu/libxgboost.so)
base=" libc6 libstdc++6 libgcc-s1 libgomp1 "

for p in "${dev[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    { echo "gpu_bundle: $p is not installed here (run scripts/install-deps.sh first)" >&2; exit 1; }
done

# Runtime packages: the owners of every library the roots load, found with ldd.
runtime=$(for r in "${roots[@]}"; do ldd "$r" | awk '/=> \//{print $3}'; readlink -f "$r"; done |
  sort -u | while read -r lib; do
    f=$(readlink -f "$lib")
    # Merged /usr: dpkg may list the library under /lib rather than /usr/lib.
    { dpkg -S "$f" 2>/dev/null || dpkg -S "${f#/usr}" 2>/dev/null || echo "?:"; } | head -1 | cut -d: -f1
  done | sort -u)
if [[ " $runtime " == *" ? "* ]]; then
  echo "gpu_bundle: a library the build loads belongs to no package (ldd of: ${roots[*]})" >&2
  exit 1
fi
packages=()
for p in "${dev[@]}" $runtime; do
  [[ "$base" == *" $p "* ]] || packages+=("$p")
done

# Package lists may be missing on a fresh machine where everything was already installed.
if ! apt-get download --print-uris -qq libfmt-dev >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
  apt-get update -qq
fi
rm -rf "$dir.new"
mkdir -p "$dir.new"
(
  cd "$dir.new"
  for p in "${packages[@]}"; do
    v=$(dpkg-query -W -f='${Version}' "$p")
    # The installed version where the registry still has it: what the bundle test builds against
    # here is then exactly what travels. A stable release's security update replaces an installed
    # library's version in the registry; its successor (same ABI, Debian stable's promise) is taken
    # and the manifest says so.
    if apt-get download -qq "$p=$v" >/dev/null 2>&1; then
      echo "$p $v" >>MANIFEST
    elif apt-get download -qq "$p" >/dev/null 2>&1; then
      echo "$p $(ls "${p}"_*.deb | head -1 | cut -d_ -f2 | sed 's/%3a/:/') (installed here: $v)" >>MANIFEST
    else
      echo "gpu_bundle: cannot download $p (is the registry reachable?)" >&2
      exit 1
    fi
  done
)
size=$(du -sm "$dir.new" | cut -f1)
if [ "$size" -gt "$limit_mib" ]; then
  echo "gpu_bundle: $size MiB is over the $limit_mib MiB meant for it" >&2
  exit 1
fi
rm -rf "$dir"
mv "$dir.new" "$dir"
echo "gpu_bundle: ${#packages[@]} packages, $size MiB in $dir/ (MANIFEST lists them)"
if [ "${1:-}" = "--check" ]; then
  exec bash scripts/gpu_bundle_check.sh
fi

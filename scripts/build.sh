#!/usr/bin/env bash
# Installs missing OS packages and builds Release into build/ (extra arguments go to cmake).
# With CI=true, warnings are errors.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
werror=OFF
[ "${CI:-}" = "true" ] && werror=ON
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DICL_WERROR=$werror "$@" >/dev/null
cmake --build build

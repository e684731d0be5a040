#!/usr/bin/env bash
# The README's second command: install, build, run every test (GPU tests skip without a GPU; tests
# labelled `slow` run too). Pass `-L unit` or `-LE slow` to select (arguments go to ctest).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
ctest --test-dir build --output-on-failure -j "$(nproc)" "$@"

#!/usr/bin/env bash
# The README's first command: install, build, run the main job and point at its figure.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
./build/icl run quickstart --out results/quickstart.h5
echo "figures: results/quickstart_figures/  (icl report results/quickstart.h5 redraws them)"

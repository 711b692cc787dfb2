#!/usr/bin/env bash
# The first command of the README: install dependencies, build, and profile
# the built-in demo workload into a flame graph (demo.svg) and folded stacks.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/setup.sh" --build-only
"$top/scripts/build.sh"
out=${1:-$top/demo.svg}
"$top/build/sonde" record -F 499 -o "$out" -- "$top/build/sonde-demo" 3
echo "demo: flame graph written to $out (open it in a browser)"
"$top/build/sonde" record -F 499 --top 10 -- "$top/build/sonde-demo" 1

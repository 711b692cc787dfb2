#!/usr/bin/env bash
# The first command of the README: install dependencies, build, then run
# sonde on the built-in demo targets:
#  - sonde llm on an application calling "OpenAI" and "Anthropic" (a
#    loopback server that answers as they do): the table per provider and
#    model, and the tokens by the code path that asked (demo-tokens.svg);
#  - sonde record on a CPU-bound program: a flame graph (demo.svg) and its
#    hottest functions.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/setup.sh" --build-only
"$top/scripts/build.sh"
out=${1:-$top/demo.svg}
tokens=$(dirname "$out")/demo-tokens.svg

coproc SERVER { exec "$top/build/sonde-demo" llm-server; }
trap 'kill "$SERVER_PID" 2>/dev/null || true' EXIT
read -r port <&"${SERVER[0]}"
"$top/build/sonde" llm -o "$tokens" -- "$top/build/sonde-demo" llm "$port"
echo "demo: input tokens by code path written to $tokens, output tokens to ${tokens%.svg}.output_tokens.svg"

"$top/build/sonde" record -F 499 -o "$out" -- "$top/build/sonde-demo" 3
echo "demo: flame graph written to $out (open it in a browser)"
"$top/build/sonde" record -F 499 --top 10 -- "$top/build/sonde-demo" 1

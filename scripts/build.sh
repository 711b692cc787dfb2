#!/usr/bin/env bash
# Configure (once) and build into build/ (or $BUILD_DIR).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build}
if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" "$top" "$@" >/dev/null
fi
ninja -C "$build" >/dev/null
echo "build: $build/sonde"

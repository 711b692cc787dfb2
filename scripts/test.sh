#!/usr/bin/env bash
# The second command of the README: build and run every test, once plainly
# and once under AddressSanitizer + UndefinedBehaviorSanitizer. BPF tests
# need root; with CI=true a skipped BPF test is a failure.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/setup.sh"

status=0
run_suite() {
	local dir=$1
	shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$top" "$@" >/dev/null
	fi
	ninja -C "$dir" >/dev/null
	echo "== meson test ($dir)"
	meson test -C "$dir" --print-errorlogs --num-processes 2 || status=1
}

run_suite "$top/build"
run_suite "$top/build-asan" -Db_sanitize=address,undefined -Db_lundef=false

if [ $status -ne 0 ]; then
	echo "test: FAILED" >&2
fi
exit $status

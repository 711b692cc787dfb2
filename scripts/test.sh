#!/usr/bin/env bash
# The second command of the README: build and run every test, once plainly
# and once under AddressSanitizer + UndefinedBehaviorSanitizer. BPF tests
# need root; with CI=true a skipped BPF test is a failure.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/setup.sh"

status=0
passed=0
failed=0
run_suite() {
	local dir=$1 log
	shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$top" "$@" >/dev/null
	fi
	if ! ninja -C "$dir" >/dev/null; then
		echo "test: build in $dir failed" >&2
		status=1
		failed=$((failed + 1))
		return
	fi
	echo "== meson test ($dir)"
	log=$(mktemp)
	meson test -C "$dir" --print-errorlogs --num-processes 2 | tee "$log" || status=1
	passed=$((passed + $(awk '/^Ok:/ {print $2}' "$log")))
	failed=$((failed + $(awk '/^(Fail|Timeout|Unexpected Pass):/ {n += $NF} END {print n + 0}' "$log")))
	rm -f "$log"
}

run_suite "$top/build"
run_suite "$top/build-asan" -Db_sanitize=address,undefined -Db_lundef=false

# One closing line that CI reads: test suites (plain + sanitized) passed/failed.
echo "tests: $passed passed, $failed failed"
if [ $status -ne 0 ]; then
	echo "test: FAILED" >&2
fi
exit $status

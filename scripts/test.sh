#!/usr/bin/env bash
# The second command of the README: build and run every test, once plainly
# and once under AddressSanitizer + UndefinedBehaviorSanitizer; the plain
# tree also runs every libFuzzer target for a few seconds. BPF tests
# need root; with CI=true any skipped test is a failure.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/setup.sh"

status=0
passed=0
failed=0
# Configure $1 once, with the options that follow.
setup_tree() {
	local dir=$1
	shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$top" "$@" >/dev/null
	fi
}
# Build targets $2... (everything when none) in $1; a failure counts as one.
build_tree() {
	local dir=$1
	shift
	if ! ninja -C "$dir" "$@" >/dev/null; then
		echo "test: build in $dir failed" >&2
		status=1
		failed=$((failed + 1))
		return 1
	fi
}
# meson test in $1 with the options that follow; results into passed/failed.
test_tree() {
	local dir=$1 log
	shift
	echo "== meson test $* ($dir)"
	log=$(mktemp)
	meson test -C "$dir" --print-errorlogs "$@" | tee "$log" || status=1
	passed=$((passed + $(awk '/^Ok:/ {print $2}' "$log")))
	failed=$((failed + $(awk '/^(Fail|Timeout|Unexpected Pass):/ {n += $NF} END {print n + 0}' "$log")))
	# In CI nothing may be skipped: a skip there is a test that could not
	# run, or one that failed in disguise (libFuzzer's exit 77).
	skipped=$(awk '/^Skipped:/ {print $2}' "$log")
	if [ "${CI:-}" = true ] && [ "${skipped:-0}" -gt 0 ]; then
		echo "test: $skipped skipped in $dir (CI=true: a failure)" >&2
		status=1
		failed=$((failed + skipped))
	fi
	rm -f "$log"
}

setup_tree "$top/build"
build_tree "$top/build" && test_tree "$top/build" --num-processes 2
setup_tree "$top/build-asan" -Db_sanitize=address,undefined -Db_lundef=false
build_tree "$top/build-asan" && test_tree "$top/build-asan" --num-processes 2

# One closing line that CI reads: test suites (plain + sanitized) passed/failed.
echo "tests: $passed passed, $failed failed"
if [ $status -ne 0 ]; then
	echo "test: FAILED" >&2
fi
exit $status

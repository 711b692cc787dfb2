#!/usr/bin/env bash
# Run each fuzz target of FUZZER for SECONDS from its seeds (corpus/TARGET),
# new inputs going to a scratch directory, never into the source tree.
# Fails on the first crash, leak or timeout; prints one line per target.
# Usage: run_fuzzers.sh FUZZER CORPUS SECONDS [TARGET...] (default: the
# decode targets). Inputs are at most 4 KiB, ELF files 20 KiB.
set -euo pipefail
fuzzer=$1 corpus=$2 secs=${3:-5}
shift 3 || shift $#
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(http1 h2 sse json redact decoder)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for t in "${targets[@]}"; do
	mkdir -p "$work/$t"
	log="$work/$t.log"
	env=()
	case $t in
	elf | unwind) max_len=20480 ;;
	dwarf)
		# A leak inside libdw (lsan-libdw.supp), named by full malloc stacks.
		max_len=20480
		env=(ASAN_OPTIONS="${ASAN_OPTIONS:-}:fast_unwind_on_malloc=0"
			LSAN_OPTIONS="suppressions=$(dirname "$0")/lsan-libdw.supp")
		;;
	*) max_len=4096 ;;
	esac
	if ! env "${env[@]}" FUZZ_TARGET=$t TMPDIR="$work" "$fuzzer" -max_total_time="$secs" -max_len=$max_len \
		-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/$t-" \
		-error_exitcode=1 -timeout_exitcode=1 \
		"$work/$t" "$corpus/$t" >"$log" 2>&1; then
		echo "fuzz: $t FAILED" >&2
		tail -40 "$log" >&2
		# The scratch directory goes at exit: the input that failed is
		# printed (base64) so a CI log alone reproduces it.
		for a in "$work/$t"-*; do
			[ -f "$a" ] || continue
			echo "fuzz: $t input $(basename "$a"): $(base64 -w0 "$a" | head -c 32768)" >&2
		done
		status=1
		continue
	fi
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
	echo "fuzz: $t ${runs:-?} runs in ${secs} s, $cov, $(ls "$work/$t" | wc -l) new inputs"
done
exit $status

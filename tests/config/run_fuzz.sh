#!/bin/sh
# libFuzzer on the agent's config loader for a bounded time (CI): new
# inputs go to a scratch directory in the build tree, never into the
# committed corpus; a crash leaves its input there as crash-*. libFuzzer
# exits 77 on a crash by default, which meson takes for a skip: 1 instead.
# Usage: run_fuzz.sh FUZZER CORPUS_DIR DICT WORK_DIR SECONDS
set -eu
fuzzer=$1 corpus=$2 dict=$3 work=$4 secs=$5
mkdir -p "$work/new"
exec "$fuzzer" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
	-error_exitcode=1 -timeout_exitcode=1 \
	-dict="$dict" -artifact_prefix="$work/" -print_final_stats=1 "$work/new" "$corpus"

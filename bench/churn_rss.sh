#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Memory of `sonde record -a` under process churn (bench/churn.c starts
# RATE short-lived processes a second for SECONDS): sonde's RSS when the
# churn starts, its peak and its RSS at the end, sampled every second,
# and how many processes came and went. Every exited process's state is
# released (src/probes/stacks.c, src/symbols/), so RSS should level off
# instead of growing with the number of processes. With a second sonde
# binary (BASELINE, e.g. an older build) both run alternately in the same
# invocation and the growth ratio is printed.
#
# Not part of the test suites: it takes minutes. Run as root, alone
# (flock /tmp/sonde-bpf.lock).
#
# usage: sudo bench/churn_rss.sh BUILD_DIR [SECONDS=60] [RATE=1000] [BASELINE_SONDE]
set -euo pipefail

build=${1:?usage: churn_rss.sh BUILD_DIR [SECONDS] [RATE] [BASELINE_SONDE]}
secs=${2:-60}
rate=${3:-1000}
baseline=${4:-}
build=$(cd "$build" && pwd)
churn=$build/bench/churn
tmp=$(mktemp -d /tmp/sonde-churn.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

for f in "$churn" "$build/sonde"; do
	[[ -x $f ]] || { echo "churn_rss: $f is missing: build first (ninja -C $build)" >&2; exit 1; }
done

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# run NAME SONDE: one recording under churn; prints a result line.
run() {
	local name=$1 sonde=$2 pid start peak end n r started
	"$sonde" record -a -F 99 -o "$tmp/$name.folded" -d $((secs + 15)) 2>"$tmp/$name.err" &
	pid=$!
	sleep 4 # attached and warmed up
	start=$(rss_kib "$pid")
	peak=$start
	"$churn" "$rate" "$secs" >"$tmp/started" &
	local line="$name RSS MiB every 10 s:"
	for ((n = 1; n <= secs; n++)); do
		sleep 1
		r=$(rss_kib "$pid")
		((r > peak)) && peak=$r
		((n % 10 == 0)) && line+=" $((r / 1024))"
	done
	echo "$line"
	wait %2 2>/dev/null || true
	started=$(cat "$tmp/started")
	sleep 2 # the exits' grace period passes
	end=$(rss_kib "$pid")
	((end > peak)) && peak=$end
	wait "$pid" || true
	printf '%-9s start %6.1f MiB  peak %6.1f MiB  end %6.1f MiB  growth %+6.1f MiB  (%s processes in %s s, %s)\n' \
		"$name" "$(echo "$start/1024" | bc -l)" "$(echo "$peak/1024" | bc -l)" \
		"$(echo "$end/1024" | bc -l)" "$(echo "($end-$start)/1024" | bc -l)" "$started" "$secs" \
		"$(tail -1 "$tmp/$name.err" | sed 's/^sonde: //' | cut -c1-60)"
	echo $((end - start)) >"$tmp/$name.growth"
}

run sonde "$build/sonde"
if [[ -n $baseline ]]; then
	run baseline "$baseline"
	g=$(cat "$tmp/sonde.growth") b=$(cat "$tmp/baseline.growth")
	if ((b > 0)); then
		printf 'growth ratio sonde/baseline: %.2f\n' "$(echo "$g/$b" | bc -l)"
	fi
fi

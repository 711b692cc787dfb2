#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Per-call overhead of `sonde trace` on a tight loop (bench/trace_loop.c:
# bench_fn, whose first instruction is a fixed 5-byte NOP), against the
# floor (an empty uprobe + uretprobe, bench/uprobe_floor) and bpftrace
# computing the same latency histogram. Configurations alternate within
# every round; medians over the rounds; "added" is ns per call above the
# untraced loop, in the loop thread's CPU time and in wall time.
#
# Then the span rate: the loop under `sonde trace --spans` on 1 and 2
# threads, reporting spans/s and how many were lost (the highest rate
# with 0 lost is what the collector sustains on this machine).
#
# FN is bench_fn (first instruction a 5-byte NOP: the cheapest uprobe,
# ~1.1 us, where sonde's own work weighs most) or bench_fn_plain (first
# instruction lea, single-stepped: ~10 us, the usual case for a small
# compiled function).
#
# usage: sudo bench/trace_overhead.sh BUILD_DIR [ROUNDS=5] [CALLS=1000000] [FN=bench_fn]
set -euo pipefail

build=${1:?usage: trace_overhead.sh BUILD_DIR [ROUNDS] [CALLS]}
rounds=${2:-5}
calls=${3:-1000000}
fn=${4:-bench_fn}
export TRACE_LOOP_FN=$fn
build=$(cd "$build" && pwd)
loop=$build/bench/trace_loop
floor=$build/bench/uprobe_floor
sonde=$build/sonde
tmp=$(mktemp -d /tmp/sonde-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

for f in "$loop" "$floor" "$sonde"; do
	[[ -x $f ]] || { echo "trace_overhead: $f is missing: build first (ninja -C $build)" >&2; exit 1; }
done
have_bpftrace=1
command -v bpftrace >/dev/null || { have_bpftrace=0; echo "trace_overhead: no bpftrace; skipping it" >&2; }

bt_prog="uprobe:$loop:$fn { @s[tid] = nsecs; } uretprobe:$loop:$fn /@s[tid]/ { @h = hist(nsecs - @s[tid]); delete(@s[tid]); }"

# run CONFIG [THREADS]: prints "cpu_ns wall_ns" per call for one run.
run() {
	local cfg=$1 threads=${2:-1} pid tracer=
	if [[ $cfg == base ]]; then
		"$loop" "$calls" "$threads" >"$tmp/out"
	else
		"$loop" "$calls" "$threads" --wait-probe >"$tmp/out" &
		pid=$!
		case $cfg in
		floor) "$floor" "$pid" "$loop" "$fn" & tracer=$! ;;
		sonde) "$sonde" trace -p "$pid" -f "$loop:$fn" >/dev/null 2>"$tmp/err" & tracer=$! ;;
		sonde_spans) "$sonde" trace -p "$pid" -f "$loop:$fn" --spans "$tmp/spans.jsonl" \
			>/dev/null 2>"$tmp/err" & tracer=$! ;;
		bpftrace) bpftrace -p "$pid" -e "$bt_prog" >/dev/null 2>&1 & tracer=$! ;;
		esac
		wait "$pid"
		kill -INT "$tracer" 2>/dev/null || true
		wait "$tracer" 2>/dev/null || true
	fi
	awk '{ print $6, $4, $8 }' "$tmp/out"
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

configs=(base floor sonde sonde_spans)
((have_bpftrace)) && configs+=(bpftrace)
echo "trace_overhead: $rounds rounds x ${#configs[@]} configurations, $calls calls each"
for ((r = 0; r < rounds; r++)); do
	# Rotate the order every round so drift does not favour one configuration.
	for ((i = 0; i < ${#configs[@]}; i++)); do
		cfg=${configs[(i + r) % ${#configs[@]}]}
		read -r cpu wall secs < <(run "$cfg")
		echo "$cpu" >>"$tmp/$cfg.cpu"
		echo "$wall" >>"$tmp/$cfg.wall"
		printf '  round %d %-12s cpu %8.1f ns/call  wall %8.1f ns/call\n' "$r" "$cfg" "$cpu" "$wall"
	done
done

declare -A mc mw
for cfg in "${configs[@]}"; do
	mc[$cfg]=$(median <"$tmp/$cfg.cpu")
	mw[$cfg]=$(median <"$tmp/$cfg.wall")
done
echo
printf '%-12s %12s %12s %14s %14s\n' config cpu_ns/call wall_ns/call added_cpu_ns added_wall_ns
for cfg in "${configs[@]}"; do
	awk -v c="$cfg" -v a="${mc[$cfg]}" -v b="${mw[$cfg]}" -v a0="${mc[base]}" -v b0="${mw[base]}" \
		'BEGIN { printf "%-12s %12.1f %12.1f %14.1f %14.1f\n", c, a, b, a - a0, b - b0 }'
done
ratio() { awk -v x="$1" -v y="$2" -v z="$3" 'BEGIN { printf "%.3f", (x - z) / (y - z) }'; }
echo
echo "ratio sonde/floor (added cpu):        $(ratio "${mc[sonde]}" "${mc[floor]}" "${mc[base]}")"
echo "ratio sonde+spans/floor (added cpu):  $(ratio "${mc[sonde_spans]}" "${mc[floor]}" "${mc[base]}")"
if ((have_bpftrace)); then
	echo "ratio sonde/bpftrace (added cpu):     $(ratio "${mc[sonde]}" "${mc[bpftrace]}" "${mc[base]}")"
	echo "ratio sonde+spans/bpftrace (added):   $(ratio "${mc[sonde_spans]}" "${mc[bpftrace]}" "${mc[base]}")"
fi

echo
echo "span rate (sonde trace --spans, $calls calls per thread):"
for threads in 1 2; do
	read -r cpu wall secs < <(run sonde_spans "$threads")
	stats=$(grep '^sonde: .* functions, ' "$tmp/err" || true)
	written=$(sed -n 's/.* \([0-9]*\) spans written.*/\1/p' <<<"$stats")
	lost=$(sed -n 's/.* \([0-9]*\) spans lost.*/\1/p' <<<"$stats")
	awk -v t="$threads" -v w="${written:-0}" -v l="${lost:-?}" -v s="$secs" \
		'BEGIN { printf "  %d thread(s): %d spans in %.3f s = %.0f spans/s, %s lost\n", t, w, s, w / s, l }'
done

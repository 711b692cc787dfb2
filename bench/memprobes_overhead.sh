#!/bin/bash
# SPDX-License-Identifier: MIT
#
# What the offcpu, alloc and faults probes cost the program they watch,
# per event, against bpftrace doing the same kind of work and against the
# floors (an empty uprobe; no tracer). Workloads: bench/mem_work.c, which
# times its own loop (process CPU time, every thread, and wall time).
# Configurations alternate within every round (A B A B, the order rotated
# each round); medians over the rounds; "added" is ns per event above the
# untraced run.
#
#   offcpu  two threads on one CPU ping-pong over pipes: ns added per
#           context switch.
#           sonde -e offcpu with the default 1 ms threshold (almost every
#           wait is counted only), with --offcpu-min 1ns (every wait
#           stacked: the worst case), bpftrace summing wait time per comm
#           (offcputime-style, no stacks) and bpftrace taking kernel+user
#           stacks at every switch-out (the decide-at-switch-out design).
#   alloc   malloc(64)/free loop: ns added per malloc+free pair. Floors:
#           an empty uprobe on malloc, on free's entry (single-stepped
#           test) and on free+9 (emulated push, where --inuse probes it);
#           sonde -e alloc sampled (512K), exact (--alloc-rate 0), sampled
#           with --inuse; a bpftrace memleak-style script (malloc entry +
#           return with a user stack per call, free).
#   faults  fresh 64 MiB mappings touched page by page: ns added per fault.
#           sonde -e faults (every fault stacked; DWARF, and with
#           --call-graph fp), bpftrace counting user
#           stacks on software:page-faults:1, perf record -e page-faults
#           -c 1 -g.
#
# usage: sudo bench/memprobes_overhead.sh BUILD_DIR [ROUNDS=5] [SECTION...]
#   (SECTION: offcpu alloc faults; default all)
set -euo pipefail

build=${1:?usage: memprobes_overhead.sh BUILD_DIR [ROUNDS] [SECTION...]}
rounds=${2:-5}
shift $(($# >= 2 ? 2 : 1))
sections=("$@")
((${#sections[@]})) || sections=(offcpu alloc faults)
build=$(cd "$build" && pwd)
work=$build/bench/mem_work
floor=$build/bench/uprobe_floor
sonde=$build/sonde
libc=$(ldconfig -p | awk '$1 == "libc.so.6" && /x86-64/ { print $NF; exit }')
tmp=$(mktemp -d /tmp/sonde-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

for f in "$work" "$floor" "$sonde"; do
	[[ -x $f ]] || { echo "memprobes_overhead: $f is missing: build first" >&2; exit 1; }
done
have_bpftrace=1
command -v bpftrace >/dev/null || { have_bpftrace=0; echo "memprobes_overhead: no bpftrace" >&2; }
have_perf=1
command -v perf >/dev/null || have_perf=0

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# The "events E cpu_ns C wall_ns W" line of a run's output.
result() { grep -m1 '^events ' "$1" || { echo "memprobes_overhead: no result in $1:" >&2; cat "$1" >&2; exit 1; }; }

# Launched under a tracer that starts it (sonde -- CMD, bpftrace -c, perf --).
launch() {
	local cfg=$1; shift
	case $cfg in
	base) "$@" >"$tmp/out" ;;
	sonde) "$sonde" record "${sonde_args[@]}" -o "$tmp/s.folded" -- "$@" >"$tmp/out" 2>"$tmp/err" ;;
	sonde_all) "$sonde" record "${sonde_all_args[@]}" -o "$tmp/s.folded" -- "$@" >"$tmp/out" 2>"$tmp/err" ;;
	sonde_fp) "$sonde" record "${sonde_args[@]}" --call-graph fp -o "$tmp/s.folded" -- "$@" \
		>"$tmp/out" 2>"$tmp/err" ;;
	bpftrace*) bpftrace -c "$*" -e "${bt[$cfg]}" >"$tmp/out" 2>&1 ;;
	perf) perf record -q -e page-faults -c 1 -g -o "$tmp/perf.data" -- "$@" >"$tmp/out" 2>/dev/null ;;
	esac
	result "$tmp/out"
}

# Attached to a running workload that waits for the tracer's last uprobe
# (-p PID): free's for those that probe it, malloc's otherwise.
attach() {
	local cfg=$1 wait=malloc pid tracer; shift 2
	case $cfg in
	floor_free | bpftrace) wait=free ;;
	floor_free9 | sonde_inuse) wait=free+9 ;;
	esac
	if [[ $cfg == base ]]; then
		"$@" >"$tmp/out"
		result "$tmp/out"
		return
	fi
	"$@" --wait "$wait" >"$tmp/out" &
	pid=$!
	case $cfg in
	floor_malloc) "$floor" "$pid" "$libc" malloc --entry-only & tracer=$! ;;
	floor_free) "$floor" "$pid" "$libc" free --entry-only & tracer=$! ;;
	floor_free9) "$floor" "$pid" "$libc" free+9 --entry-only & tracer=$! ;;
	sonde) "$sonde" record -e alloc -p "$pid" -o "$tmp/a.folded" >/dev/null 2>"$tmp/err" & tracer=$! ;;
	sonde_exact) "$sonde" record -e alloc --alloc-rate 0 -p "$pid" -o "$tmp/a.folded" \
		>/dev/null 2>"$tmp/err" & tracer=$! ;;
	sonde_inuse) "$sonde" record -e alloc --inuse -p "$pid" -o "$tmp/a.folded" \
		>/dev/null 2>"$tmp/err" & tracer=$! ;;
	bpftrace) bpftrace -p "$pid" -e "${bt[bpftrace_leak]}" >/dev/null 2>&1 & tracer=$! ;;
	esac
	wait "$pid"
	kill -INT "$tracer" 2>/dev/null || true
	wait "$tracer" 2>/dev/null || true
	result "$tmp/out"
}

# section NAME MODE(launch|attach) WAIT EVENT_WORD CONFIG... -- WORKLOAD...
section() {
	local name=$1 mode=$2 wait=$3 unit=$4; shift 4
	local configs=() cfg r i
	while [[ $1 != -- ]]; do configs+=("$1"); shift; done
	shift
	echo
	echo "== $name: $rounds rounds x ${#configs[@]} configurations: $*"
	for ((r = 0; r < rounds; r++)); do
		for ((i = 0; i < ${#configs[@]}; i++)); do
			cfg=${configs[(i + r) % ${#configs[@]}]}
			local -a cmd=("$@")
			[[ $cfg == sonde_exact ]] && cmd=("${exact_cmd[@]}")
			if [[ $mode == launch ]]; then
				read -r _ ev _ cpu _ wall < <(launch "$cfg" "${cmd[@]}")
			else
				read -r _ ev _ cpu _ wall < <(attach "$cfg" "$wait" "${cmd[@]}")
			fi
			awk -v e="$ev" -v c="$cpu" 'BEGIN { print c / e }' >>"$tmp/$name.$cfg.cpu"
			awk -v e="$ev" -v w="$wall" 'BEGIN { print w / e }' >>"$tmp/$name.$cfg.wall"
			echo "$ev" >>"$tmp/$name.$cfg.ev"
			printf '  round %d %-14s %9d %s  cpu %9.1f ns  wall %9.1f ns per %s\n' "$r" "$cfg" \
				"$ev" "$unit" "$(tail -1 "$tmp/$name.$cfg.cpu")" "$(tail -1 "$tmp/$name.$cfg.wall")" "$unit"
			if [[ $cfg == sonde* && -s $tmp/err ]]; then grep '^sonde: [0-9]' "$tmp/err" | sed 's/^/      /' || true; fi
		done
	done
	declare -gA mc mw
	for cfg in "${configs[@]}"; do
		mc[$cfg]=$(median <"$tmp/$name.$cfg.cpu")
		mw[$cfg]=$(median <"$tmp/$name.$cfg.wall")
	done
	printf '\n%-14s %10s %14s %14s %16s %16s\n' config "$unit"s "cpu_ns/$unit" "wall_ns/$unit" \
		"added_cpu_ns" "added_wall_ns"
	for cfg in "${configs[@]}"; do
		awk -v c="$cfg" -v e="$(median <"$tmp/$name.$cfg.ev")" -v a="${mc[$cfg]}" -v b="${mw[$cfg]}" \
			-v a0="${mc[base]}" -v b0="${mw[base]}" \
			'BEGIN { printf "%-14s %10d %14.1f %14.1f %16.1f %16.1f\n", c, e, a, b, a - a0, b - b0 }'
	done
}

ratio() {
	awk -v x="${mc[$1]}" -v y="${mc[$2]}" -v z="${mc[base]}" -v xw="${mw[$1]}" -v yw="${mw[$2]}" \
		-v zw="${mw[base]}" -v a="$1" -v b="$2" \
		'BEGIN { printf "ratio %s/%s (added): cpu %.3f, wall %.3f\n", a, b, (x - z) / (y - z), (xw - zw) / (yw - zw) }'
}

declare -A bt
bt[bpftrace]='tracepoint:sched:sched_switch { if (pid == cpid) { @start[tid] = nsecs; } $s = @start[args->next_pid]; if ($s) { @ns[args->next_comm] = sum(nsecs - $s); delete(@start[args->next_pid]); } }'
bt[bpftrace_stk]='tracepoint:sched:sched_switch /pid == cpid/ { @[kstack, ustack] = count(); }'
bt[bpftrace_faults]='software:page-faults:1 /pid == cpid/ { @[ustack] = count(); }'
bt[bpftrace_leak]="uprobe:$libc:malloc { @sz[tid] = arg0; } uretprobe:$libc:malloc /@sz[tid]/ { @live[retval] = @sz[tid]; @bytes[ustack] = sum(@sz[tid]); delete(@sz[tid]); } uprobe:$libc:free { delete(@live[arg0]); }"

for s in "${sections[@]}"; do
	case $s in
	offcpu)
		sonde_args=(-e offcpu)
		sonde_all_args=(-e offcpu --offcpu-min 1ns)
		cfgs=(base sonde sonde_all)
		((have_bpftrace)) && cfgs+=(bpftrace bpftrace_stk)
		section offcpu launch - switch "${cfgs[@]}" -- "$work" switch 50000
		ratio sonde bpftrace 2>/dev/null || true
		ratio sonde_all bpftrace_stk 2>/dev/null || true
		;;
	alloc)
		exact_cmd=("$work" alloc 100000 64)
		cfgs=(base floor_malloc floor_free floor_free9 sonde sonde_exact sonde_inuse)
		((have_bpftrace)) && cfgs+=(bpftrace)
		section alloc attach - call "${cfgs[@]}" -- "$work" alloc 1000000 64
		ratio sonde floor_malloc
		ratio sonde_inuse floor_malloc
		((have_bpftrace)) && ratio sonde_inuse bpftrace
		((have_bpftrace)) && ratio sonde_exact bpftrace
		;;
	faults)
		sonde_args=(-e faults)
		cfgs=(base sonde sonde_fp)
		((have_bpftrace)) && cfgs+=(bpftrace_faults)
		((have_perf)) && cfgs+=(perf)
		section faults launch - fault "${cfgs[@]}" -- "$work" faults 20 64
		ratio sonde bpftrace_faults 2>/dev/null || true
		((have_perf)) && ratio sonde perf
		((have_perf)) && ratio sonde_fp perf
		;;
	esac
done

#!/bin/bash
# SPDX-License-Identifier: MIT
#
# What a tracer attached to one process costs every other process's
# system calls. bench/syscall_loop, untraced, makes N write(2)s to
# /dev/null and N getppid(2)s while another process (a sleep) is the
# target of:
#   base      nothing
#   llm       sonde llm -p VICTIM (TLS uprobes and the plaintext socket
#             tracepoints: sock_send_length/sock_recv_length, which run
#             for socket calls only)
#   record    sonde record -p VICTIM (its mmaps of code from perf's mmap
#             records; a raw sys_exit tracepoint only without perf events)
#   offcpu    sonde record -e offcpu -p VICTIM (sched_switch; on a kernel
#             without task works from it, the raw sys_exit tracepoint too)
#   bpftrace  bpftrace 'tracepoint:raw_syscalls:sys_enter /pid == VICTIM/'
#             (a per-process syscall one-liner: the same slow path, and a
#             perf record per call; tracefs is mounted for it if it is not)
# Configurations alternate within every round (the order rotated each
# round); medians of the CPU ns per call, and the ns added over base.
#
# usage: sudo bench/host_syscalls.sh BUILD_DIR [ROUNDS=5] [N=4000000]
set -euo pipefail

build=$(cd "${1:?usage: host_syscalls.sh BUILD_DIR [ROUNDS] [N]}" && pwd)
rounds=${2:-5}
n=${3:-4000000}
loop=$build/bench/syscall_loop
sonde=$build/sonde
configs=(base llm record offcpu bpftrace)
command -v bpftrace >/dev/null || configs=(base llm record offcpu)
mounted=
if [ ! -e /sys/kernel/tracing/events ]; then
	mount -t tracefs nodev /sys/kernel/tracing && mounted=1
fi

sleep 3600 &
victim=$!
tracer=
cleanup() {
	[ -n "$tracer" ] && kill -INT "$tracer" 2>/dev/null && wait "$tracer" 2>/dev/null
	kill "$victim" 2>/dev/null || true
	[ -z "$mounted" ] || umount /sys/kernel/tracing
}
trap cleanup EXIT

start() {
	local log=$1
	shift
	"$@" >"$log" 2>&1 &
	tracer=$!
	# Attached once the tracer says so (sonde's closing line comes at the end).
	sleep 2
	kill -0 "$tracer" 2>/dev/null || { echo "host_syscalls: $* exited:" >&2; cat "$log" >&2; exit 1; }
}

declare -A got
for ((r = 0; r < rounds; r++)); do
	for ((i = 0; i < ${#configs[@]}; i++)); do
		c=${configs[(i + r) % ${#configs[@]}]}
		tracer=
		case $c in
		llm) start /tmp/host_syscalls.log "$sonde" llm -p "$victim" -d 600 ;;
		record) start /tmp/host_syscalls.log "$sonde" record -p "$victim" -d 600 -o /tmp/host_syscalls.folded ;;
		offcpu) start /tmp/host_syscalls.log "$sonde" record -e offcpu -p "$victim" -d 600 -o /tmp/host_syscalls.folded ;;
		bpftrace) start /tmp/host_syscalls.log bpftrace -e "tracepoint:raw_syscalls:sys_enter /pid == $victim/ { @n = count(); }" ;;
		esac
		w=$("$loop" write "$n")
		g=$("$loop" getppid "$n")
		if [ -n "$tracer" ]; then
			kill -INT "$tracer"
			wait "$tracer" || true
			tracer=
		fi
		got[$c.write]+="$w "
		got[$c.getppid]+="$g "
		echo "round $((r + 1)) $c: write $w ns, getppid $g ns"
	done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
echo
printf '%-9s %14s %10s %16s %10s\n' config "write ns/call" added "getppid ns/call" added
bw=$(median <<<"${got[base.write]}")
bg=$(median <<<"${got[base.getppid]}")
for c in "${configs[@]}"; do
	w=$(median <<<"${got[$c.write]}")
	g=$(median <<<"${got[$c.getppid]}")
	awk -v c="$c" -v w="$w" -v g="$g" -v bw="$bw" -v bg="$bg" \
		'BEGIN { printf "%-9s %14.1f %+10.1f %16.1f %+10.1f\n", c, w, w - bw, g, g - bg }'
done

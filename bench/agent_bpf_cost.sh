#!/bin/bash
# SPDX-License-Identifier: MIT
#
# What the agent's BPF programs cost the host, program by program, under
# agent_soak.sh's load (TARGETS python3 processes each busy 10 % of the
# time with a thread a second, a short-lived python3 a second): the
# kernel's own accounting (kernel.bpf_stats_enabled: run count and run
# time of every program, which the targets pay in their context), read
# twice SECONDS apart after a 10 s warm-up, beside the agent's own CPU.
# The programs' time does not include the perf interrupt or uprobe trap
# around them, nor the BPF task works the off-CPU probe schedules.
#
#   bench/agent_bpf_cost.sh BUILD_DIR [SECONDS=60] [TARGETS=10] [PROBES="cpu offcpu faults"]
#
# Every BPF program on the host is read: run it on a machine where only
# this agent loads programs. PYTHON picks the interpreter (/usr/bin/python3).
set -euo pipefail
build=${1:?usage: agent_bpf_cost.sh BUILD_DIR [SECONDS] [TARGETS] [PROBES]}
secs=${2:-60}
ntargets=${3:-10}
probes=${4:-cpu offcpu faults}
# The interpreter itself: a version manager's shim is a tree of shells at every start.
py=${PYTHON:-/usr/bin/python3}
build=$(cd "$build" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/sonde-bpfcost.XXXXXX)
pids=()
agent=
was=$(sysctl -n kernel.bpf_stats_enabled)
cleanup() {
	[ -n "$agent" ] && kill "$agent" 2>/dev/null || true
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	sysctl -qw kernel.bpf_stats_enabled="$was"
	rm -rf "$work"
}
trap cleanup EXIT
{
	printf 'targets:\n  include:\n    comm: [python3]\nprobes:\n  cpu:\n    frequency: 99\n'
	[[ " $probes " == *" cpu "* ]] || printf '    enabled: false\n'
	[[ " $probes " == *" offcpu "* ]] && printf '  offcpu:\n    enabled: true\n'
	[[ " $probes " == *" faults "* ]] && printf '  faults:\n    enabled: true\n'
	printf 'exporters:\n  files:\n    directory: %s/windows\nwindow: 10s\n' "$work"
} >"$work/agent.yaml"
for _ in $(seq "$ntargets"); do
	"$py" "$here/soak_target.py" &
	pids+=($!)
done
(while true; do "$py" -c 'sum(range(200000))' & sleep 1; done) &
pids+=($!)
"$build/sonde" agent --config "$work/agent.yaml" 2>"$work/agent.log" &
agent=$!
sleep 10
sysctl -qw kernel.bpf_stats_enabled=1
snap() { bpftool prog show -j | python3 -c '
import json, sys
for p in json.load(sys.stdin):
    print(p["id"], p.get("name", "?"), p.get("run_time_ns", 0), p.get("run_cnt", 0))'; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$agent/stat"; }
snap >"$work/s0"
t0=$(date +%s.%N) c0=$(cpu_ticks)
sleep "$secs"
snap >"$work/s1"
t1=$(date +%s.%N) c1=$(cpu_ticks)
echo "agent_bpf_cost: $ntargets targets, probes: $probes, $secs s"
python3 - "$work/s0" "$work/s1" "$t0" "$t1" "$c0" "$c1" "$(getconf CLK_TCK)" <<'PY'
import sys
a = {l.split()[0]: l.split() for l in open(sys.argv[1])}
b = {l.split()[0]: l.split() for l in open(sys.argv[2])}
dt = float(sys.argv[4]) - float(sys.argv[3])
total = 0
print("%-20s %10s %8s %10s %12s" % ("program", "runs", "runs/s", "ns/run", "% of a CPU"))
for k, v in b.items():
    o = a.get(k, [k, v[1], 0, 0])
    ns, n = int(v[2]) - int(o[2]), int(v[3]) - int(o[3])
    total += ns
    if n:
        print("%-20s %10d %8.0f %10.0f %12.3f" % (v[1], n, n / dt, ns / n, 100 * ns / dt / 1e9))
print("BPF programs in all: %.3f %% of a CPU" % (100 * total / dt / 1e9))
print("the agent's own CPU: %.3f %% of a CPU" %
      (100 * (float(sys.argv[6]) - float(sys.argv[5])) / float(sys.argv[7]) / dt))
PY

#!/bin/bash
# SPDX-License-Identifier: MIT
#
# sonde agent under churn: what it costs and whether it leaks. The agent
# profiles TARGETS long-lived python3 processes (each busy 10 % of the
# time: a steady sampled load) while a shell starts and ends a matching
# short-lived python3 every CHURN_MS (the issue's churn: one a second;
# discovery by exec, exits, window labels), with /metrics on and windows
# written to a directory every 10 s, for SECONDS. python3 is the
# interpreter itself (PYTHON, default /usr/bin/python3): a version
# manager's shim (pyenv's is a bash script) would make every start a tree
# of a dozen shell processes. Every 5 s it reads the agent's resident memory, CPU
# time, open descriptors and BPF maps, and prints start/peak/end and the
# agent's CPU as a share of one CPU; beside it, in the same run, the same
# load with no agent, for the load's own CPU (the floor).
#
#   bench/agent_soak.sh BUILD_DIR [SECONDS=600] [TARGETS=20] [HZ=99] [CHURN_MS=1000]
#
# Probes cpu, offcpu and faults (alloc on python3 would put a uprobe on
# every malloc of the targets); windows also go to a Pyroscope that is
# not there, so every push fails and is counted. Goals: resident memory
# flat after the first minute and under 50 MiB; the agent under 1 % of a
# CPU at 99 Hz with 20 targets.
set -euo pipefail

build=${1:?usage: agent_soak.sh BUILD_DIR [SECONDS] [TARGETS] [HZ] [CHURN_MS]}
secs=${2:-600}
ntargets=${3:-20}
hz=${4:-99}
churn_ms=${5:-1000}
py=${PYTHON:-/usr/bin/python3}
[ -x "$py" ] || py=$(command -v python3)
sonde=$build/sonde
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/sonde-soak.XXXXXX)
pids=()
agent=""
cleanup() {
	[ -n "$agent" ] && kill "$agent" 2>/dev/null || true
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

cat >"$work/churn.sh" <<EOF
while true; do
	$py -c 'sum(range(200000))' &
	sleep $(echo "$churn_ms / 1000" | bc -l)
done
EOF
port=$((20000 + RANDOM % 20000))
cat >"$work/agent.yaml" <<EOF
targets:
  include:
    comm: [python3]
  rescan_interval: 5s
probes:
  cpu:
    frequency: $hz
  offcpu:
    enabled: true
  faults:
    enabled: true
exporters:
  listen:
    address: 127.0.0.1:$port
  files:
    directory: $work/windows
    keep: 5
  pyroscope:
    url: http://127.0.0.1:1
window: 10s
EOF

start_load() {
	for _ in $(seq "$ntargets"); do
		"$py" "$here/soak_target.py" &
		pids+=($!)
	done
	bash "$work/churn.sh" &
	pids+=($!)
}
stop_load() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	pids=()
}

# CPU seconds (user+system) of process $1 from /proc/PID/stat.
cpu_of() {
	awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$1/stat"
}
load_cpu() {
	local sum=0
	for p in "${pids[@]}"; do
		[ -r "/proc/$p/stat" ] && sum=$(echo "$sum + $(cpu_of "$p")" | bc -l)
	done
	echo "$sum"
}

echo "agent soak: $secs s, $ntargets targets (a thread each per second) + churn every $churn_ms ms ($py),"
echo "  cpu at $hz Hz + offcpu + faults, windows of 10 s to a directory and a dead Pyroscope"

# The floor: the load alone, a tenth of the time.
floor_s=$((secs / 10 > 30 ? secs / 10 : 30))
start_load
t0=$(date +%s.%N)
sleep "$floor_s"
floor_cpu=$(load_cpu)
floor_wall=$(echo "$(date +%s.%N) - $t0" | bc -l)
stop_load

start_load
"$sonde" agent --config "$work/agent.yaml" 2>"$work/agent.log" &
agent=$!
t0=$(date +%s.%N)
peak=0
first_rss=""
printf '%8s %10s %10s %6s %6s\n' "t_s" "rss_MiB" "cpu_s" "fds" "maps"
for ((t = 5; t <= secs; t += 5)); do
	sleep 5
	kill -0 "$agent" 2>/dev/null || { echo "the agent died:"; cat "$work/agent.log"; exit 1; }
	rss_kb=$(awk '/^VmRSS/ { print $2 }' "/proc/$agent/status")
	fds=$(ls "/proc/$agent/fd" | wc -l)
	maps=$(ls -l "/proc/$agent/fd" 2>/dev/null | grep -c 'bpf-map' || true)
	cpu=$(cpu_of "$agent")
	[ -z "$first_rss" ] && first_rss=$rss_kb && first_fds=$fds
	((rss_kb > peak)) && peak=$rss_kb
	if ((t % 30 == 0 || t == 5)); then
		printf '%8d %10.1f %10.2f %6d %6d\n' "$t" "$(echo "$rss_kb / 1024" | bc -l)" "$cpu" \
			"$fds" "$maps"
	fi
done
wall=$(echo "$(date +%s.%N) - $t0" | bc -l)
agent_cpu=$(cpu_of "$agent")
metrics=$(curl -s "127.0.0.1:$port/metrics")
targets=$(awk '/^sonde_agent_targets / { print $2 }' <<<"$metrics")
windows=$(ls "$work/windows" | wc -l)
kill -TERM "$agent"
wait "$agent" || { echo "the agent exited $?"; cat "$work/agent.log"; exit 1; }
load_now=$(load_cpu)
stop_load

echo
printf 'resident: start %.1f MiB, peak %.1f MiB, end %.1f MiB\n' \
	"$(echo "$first_rss / 1024" | bc -l)" "$(echo "$peak / 1024" | bc -l)" \
	"$(echo "$rss_kb / 1024" | bc -l)"
printf 'descriptors: start %d, end %d; targets at the end %s; window files kept %d\n' \
	"$first_fds" "$fds" "${targets:-?}" "$windows"
# Nothing lost silently: every drop and failure counter the agent has.
echo "counters of losses (a dead Pyroscope at 127.0.0.1:1 fails every window):"
grep -E '^sonde_[a-z_]*(lost|drop|fail|error|dropped|failed)[a-z_]*(\{[^}]*\})? [1-9]' <<<"$metrics" |
	sed 's/^/  /' || echo "  (none above 0)"
printf 'agent CPU: %.2f s in %.0f s = %.3f %% of one CPU\n' "$agent_cpu" "$wall" \
	"$(echo "100 * $agent_cpu / $wall" | bc -l)"
printf 'load CPU: %.3f CPUs alone, %.3f CPUs under the agent (ratio %.4f)\n' \
	"$(echo "$floor_cpu / $floor_wall" | bc -l)" "$(echo "$load_now / $wall" | bc -l)" \
	"$(echo "($load_now / $wall) / ($floor_cpu / $floor_wall)" | bc -l)"

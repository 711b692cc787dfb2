#!/bin/bash
# SPDX-License-Identifier: MIT
#
# What the agent costs its targets, A B A B on the same processes:
# TARGETS python3 processes (bench/soak_target.py: 10 % busy, a thread a
# second) and a short-lived python3 a second run throughout; their CPU is
# summed over PHASE_S-second phases that alternate "none" (no agent) and
# "all" (an agent with cpu at 99 Hz, offcpu and faults, started 3 s
# before the phase and stopped after it). agent_soak.sh compares a load
# alone at the start with another under the agent afterwards, whose
# spread (its ratio went from 1.02 to 1.18 between runs) is not the
# agent's: this one is the measure.
#
#   bench/agent_load_ab.sh BUILD_DIR [ROUNDS=3] [TARGETS=5] [PHASE_S=20]
set -euo pipefail
build=${1:?usage: agent_load_ab.sh BUILD_DIR [ROUNDS] [TARGETS] [PHASE_S]}
rounds=${2:-3}
ntargets=${3:-5}
phase_s=${4:-20}
build=$(cd "$build" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
py=${PYTHON:-/usr/bin/python3}
work=$(mktemp -d /tmp/sonde-ab.XXXXXX)
pids=()
agent=
cleanup() {
	[ -n "$agent" ] && kill "$agent" 2>/dev/null || true
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
cat >"$work/agent.yaml" <<YAML
targets:
  include:
    comm: [python3]
probes:
  cpu:
    frequency: 99
  offcpu:
    enabled: true
  faults:
    enabled: true
exporters:
  files:
    directory: $work/windows
window: 10s
YAML
for _ in $(seq "$ntargets"); do
	"$py" "$here/soak_target.py" &
	pids+=($!)
done
(while true; do "$py" -c 'sum(range(200000))' & sleep 1; done) &
churn=$!
sleep 3
# The targets' CPU ticks (user + system), summed.
ticks() {
	local s=0 p
	for p in "${pids[@]}"; do s=$((s + $(awk '{ print $14 + $15 }' "/proc/$p/stat"))); done
	echo "$s"
}
phase() {
	local c0 c1 t0 t1
	if [[ $1 == all ]]; then
		"$build/sonde" agent --config "$work/agent.yaml" 2>>"$work/agent.log" &
		agent=$!
		sleep 3
	fi
	c0=$(ticks) t0=$(date +%s.%N)
	sleep "$phase_s"
	c1=$(ticks) t1=$(date +%s.%N)
	if [[ -n $agent ]]; then
		kill "$agent"
		wait "$agent" || { echo "agent_load_ab: the agent failed:" >&2; cat "$work/agent.log" >&2; exit 1; }
		agent=
	fi
	echo "($c1 - $c0) / $(getconf CLK_TCK) / ($t1 - $t0)" | bc -l
}
echo "agent_load_ab: $ntargets targets, $rounds rounds of none/all, $phase_s s phases"
for ((r = 0; r < rounds; r++)); do
	for cfg in none all; do
		v=$(phase "$cfg")
		echo "$v" >>"$work/$cfg"
		printf '  round %d %-5s targets %.4f CPUs\n' "$r" "$cfg" "$v"
	done
done
kill "$churn" 2>/dev/null || true
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
a=$(median <"$work/none") b=$(median <"$work/all")
awk -v a="$a" -v b="$b" 'BEGIN { printf "median: alone %.4f CPUs, under the agent %.4f CPUs, ratio %.4f\n", a, b, b / a }'

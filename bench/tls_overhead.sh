#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Cost of sonde llm's tls probe on a TLS client (bench/tls_work.c, over
# libssl.so.3 on loopback), against the untraced client, the floor (empty
# uprobe + uretprobe programs at the very functions sonde probes:
# bench/uprobe_floor PID LIB tls) and a bpftrace one-liner counting
# SSL_write/SSL_read bytes. Configurations alternate within every round
# (A B A B, the order rotated each round); medians over the rounds;
# "added" is per call above the untraced client, in the client's CPU time
# and in wall time.
#
#   raw:  round trips that are not HTTP (sonde copies nothing of them)
#   http: LLM calls on one keep-alive connection (sonde copies and
#         decodes every byte both ways)
#   bulk: one LLM call answering BULK_MB: the transfer's slowdown
#   curl: curl (shared libssl) fetching CURL_MB over HTTP/1.1 from
#         tls_work's server: a download, not an LLM call (sonde copies its
#         request head only); curl's CPU time and transfer time;
#         sonde_tls: sonde without the plaintext syscall tracepoints;
#         floor_entry: the empty programs at entry only (what a uprobe
#         session costs on a call it does not copy)
#
#   go:   a Go client (bench/go_tls_client, net/http over Go's own
#         crypto/tls) reading CURL_MB from the same server: "get" a
#         download (not copied), "post" an answer to a POST (every byte
#         copied to the collector); the floor is the empty programs at
#         sonde's places in Go (entry of Write, Read, Close and Read's
#         RETs), bpftrace a one-liner at the entries only (a uretprobe
#         crashes Go, and bpftrace cannot probe a RET)
#
# usage: sudo bench/tls_overhead.sh BUILD_DIR [ROUNDS=5] [CALLS=20000] [SIZE=1024] [BULK_MB=200]
#        [CURL_MB=1024] [MODES="raw http bulk curl go"]
#        (CURL_CONFIGS="base sonde ..." in the environment picks the curl configurations)
set -euo pipefail

build=${1:?usage: tls_overhead.sh BUILD_DIR [ROUNDS] [CALLS] [SIZE] [BULK_MB]}
rounds=${2:-5}
calls=${3:-20000}
size=${4:-1024}
bulk_mb=${5:-200}
curl_mb=${6:-1024}
modes=${7:-raw http bulk curl go}
build=$(cd "$build" && pwd)
work=$build/bench/tls_work
goclient=$build/bench/go_tls_client
floor=$build/bench/uprobe_floor
sonde=$build/sonde
lib=/usr/lib/x86_64-linux-gnu/libssl.so.3
tmp=$(mktemp -d /tmp/sonde-bench.XXXXXX)
server=
trap '[[ -n $server ]] && kill "$server"; rm -rf "$tmp"' EXIT

for f in "$work" "$floor" "$sonde" "$lib"; do
	[[ -e $f ]] || { echo "tls_overhead: $f is missing: build first (ninja -C $build)" >&2; exit 1; }
done
have_bpftrace=1
command -v bpftrace >/dev/null || { have_bpftrace=0; echo "tls_overhead: no bpftrace; skipping it" >&2; }
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/key.pem" -out "$tmp/cert.pem" -days 1 \
	-subj /CN=localhost 2>/dev/null

# What a user would type: bytes moved by SSL_write and SSL_read, by process.
bt_prog="uprobe:$lib:SSL_write { @w[pid] = sum(arg2); } uretprobe:$lib:SSL_read /retval > 0/ { @r[pid] = sum(retval); }"

# wait_for FILE TEXT: until FILE holds TEXT (10 s at most).
wait_for() {
	for ((i = 0; i < 200; i++)); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "tls_overhead: no '$2' in $1" >&2
	return 1
}

# run CONFIG MODE N SIZE: prints "cpu_ns wall_ns seconds" per call for one run.
run() {
	local cfg=$1 mode=$2 n=$3 sz=$4 pid wpid tracer=
	rm -f "$tmp/go" "$tmp/out" "$tmp/err" "$tmp/bt"
	mkfifo "$tmp/go"
	"$work" "$tmp/cert.pem" "$tmp/key.pem" "$mode" "$n" "$sz" <"$tmp/go" >"$tmp/out" &
	wpid=$!
	exec 9>"$tmp/go"
	wait_for "$tmp/out" '^ready'
	pid=$(awk '/^ready/ { print $2 }' "$tmp/out")
	case $cfg in
	base) ;;
	floor) "$floor" "$pid" "$lib" tls & tracer=$!; sleep 1 ;;
	sonde) /usr/bin/time -o "$tmp/collector" -f '%U %S' "$sonde" llm -p "$pid" >/dev/null 2>"$tmp/err" &
		tracer=$!
		wait_for "$tmp/err" 'TLS through' ;;
	sonde_spans) "$sonde" llm -p "$pid" --spans "$tmp/spans.jsonl" >/dev/null 2>"$tmp/err" &
		tracer=$!
		wait_for "$tmp/err" 'TLS through' ;;
	bpftrace) bpftrace -p "$pid" -e "$bt_prog" >"$tmp/bt" 2>&1 & tracer=$!
		wait_for "$tmp/bt" 'Attaching' ;;
	esac
	sleep 0.3
	echo go >&9
	exec 9>&-
	wait "$wpid"
	if [[ -n $tracer ]]; then
		kill -INT "$tracer" 2>/dev/null || true
		wait "$tracer" 2>/dev/null || true
	fi
	awk '/^calls/ { print $6, $4, $8 }' "$tmp/out"
	# The collector's own CPU (attach and exit included), per call.
	if [[ $cfg == sonde ]]; then
		awk -v n="$n" '{ printf "%.1f\n", ($1 + $2) * 1e6 / n }' "$tmp/collector" \
			>>"$tmp/collector.$mode"
	fi
}

# run_curl CONFIG: prints "cpu_s wall_s" of one curl download of CURL_MB.
# curl reads its URL from a FIFO (-K), so the tracer attaches to its PID
# before the transfer starts; its CPU time (user + system, the uprobe
# handlers included) is GNU time's, its transfer time curl's own.
run_curl() {
	local cfg=$1 tpid pid tracer= i
	rm -f "$tmp/cfg" "$tmp/time" "$tmp/curl" "$tmp/err" "$tmp/bt"
	mkfifo "$tmp/cfg"
	/usr/bin/time -o "$tmp/time" -f '%U %S' curl -sS -k -K "$tmp/cfg" -o /dev/null \
		-w '%{time_total} %{size_download}\n' >"$tmp/curl" &
	tpid=$!
	for ((i = 0; i < 200; i++)); do
		pid=$(pgrep -P "$tpid" curl || true)
		[[ -n $pid ]] && break
		sleep 0.02
	done
	[[ -n $pid ]] || { echo "tls_overhead: curl did not start" >&2; return 1; }
	case $cfg in
	base) ;;
	floor) "$floor" "$pid" "$lib" tls & tracer=$!; sleep 1 ;;
	floor_entry) "$floor" "$pid" "$lib" tls --entry-only & tracer=$!; sleep 1 ;;
	sonde) "$sonde" llm -p "$pid" >/dev/null 2>"$tmp/err" & tracer=$!
		wait_for "$tmp/err" 'TLS through' ;;
	sonde_tls) "$sonde" llm --no-plaintext -p "$pid" >/dev/null 2>"$tmp/err" & tracer=$!
		wait_for "$tmp/err" 'TLS through' ;;
	bpftrace) bpftrace -p "$pid" -e "$bt_prog" >"$tmp/bt" 2>&1 & tracer=$!
		wait_for "$tmp/bt" 'Attaching' ;;
	esac
	sleep 0.3
	echo "url = \"https://127.0.0.1:$port/blob\"" >"$tmp/cfg"
	wait "$tpid"
	if [[ -n $tracer ]]; then
		kill -INT "$tracer" 2>/dev/null || true
		wait "$tracer" 2>/dev/null || true
	fi
	read -r wall bytes <"$tmp/curl"
	[[ $bytes == $((curl_mb << 20)) ]] || { echo "tls_overhead: curl got $bytes bytes" >&2; return 1; }
	awk -v w="$wall" '{ print $1 + $2, w }' "$tmp/time"
}

# run_go CONFIG: prints "cpu_s wall_s" of one Go client request ($go_kind: get|post).
run_go() {
	local cfg=$1 kind=$go_kind cpid pid tracer=
	rm -f "$tmp/gin" "$tmp/time" "$tmp/gout" "$tmp/err" "$tmp/bt"
	mkfifo "$tmp/gin"
	/usr/bin/time -o "$tmp/time" -f '%U %S' "$goclient" "$kind" "https://127.0.0.1:$port" \
		<"$tmp/gin" >"$tmp/gout" &
	cpid=$!
	exec 8>"$tmp/gin"
	wait_for "$tmp/gout" '^ready'
	pid=$(awk '/^ready/ { print $2 }' "$tmp/gout")
	case $cfg in
	base) ;;
	floor) "$floor" "$pid" "$goclient" tls & tracer=$!; sleep 1 ;;
	sonde) "$sonde" llm -p "$pid" >/dev/null 2>"$tmp/err" & tracer=$!
		wait_for "$tmp/err" 'TLS through' ;;
	bpftrace) bpftrace -p "$pid" -e "$bt_go" >"$tmp/bt" 2>&1 & tracer=$!
		wait_for "$tmp/bt" 'Attaching' ;;
	esac
	sleep 0.3
	echo go >&8
	exec 8>&-
	wait "$cpid"
	if [[ -n $tracer ]]; then
		kill -INT "$tracer" 2>/dev/null || true
		wait "$tracer" 2>/dev/null || true
	fi
	read -r _ bytes _ wall < <(grep '^bytes' "$tmp/gout")
	[[ $bytes == $((curl_mb << 20)) ]] || { echo "tls_overhead: go client got $bytes bytes" >&2; return 1; }
	awk -v w="$wall" '{ print $1 + $2, w }' "$tmp/time"
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# download_rounds TITLE RUNNER CONFIG...: ROUNDS rounds of "RUNNER CONFIG"
# (each printing "cpu_s wall_s"), the order rotated each round, then the
# medians and their ratios to the first configuration's.
download_rounds() {
	local title=$1 runner=$2 cpu wall cfg r i
	shift 2
	local cfgs=("$@")
	rm -f "$tmp"/*.cpu "$tmp"/*.wall
	echo "tls_overhead $title: $rounds rounds x ${#cfgs[@]} configurations"
	for ((r = 0; r < rounds; r++)); do
		for ((i = 0; i < ${#cfgs[@]}; i++)); do
			cfg=${cfgs[(i + r) % ${#cfgs[@]}]}
			read -r cpu wall < <("$runner" "$cfg")
			echo "$cpu" >>"$tmp/$cfg.cpu"
			echo "$wall" >>"$tmp/$cfg.wall"
			printf '  round %d %-12s cpu %8.3f s  transfer %8.3f s\n' "$r" "$cfg" "$cpu" "$wall"
		done
	done
	printf '%-12s %10s %10s %10s %10s\n' config cpu_s transfer_s cpu_ratio time_ratio
	c0=$(median <"$tmp/${cfgs[0]}.cpu") w0=$(median <"$tmp/${cfgs[0]}.wall")
	for cfg in "${cfgs[@]}"; do
		awk -v c="$cfg" -v a="$(median <"$tmp/$cfg.cpu")" -v b="$(median <"$tmp/$cfg.wall")" \
			-v a0="$c0" -v b0="$w0" \
			'BEGIN { printf "%-12s %10.3f %10.3f %9.3fx %9.3fx\n", c, a, b, a / a0, b / b0 }'
	done
	echo
}

# start_server: tls_work's download server of CURL_MB answers; sets server and port.
start_server() {
	"$work" "$tmp/cert.pem" "$tmp/key.pem" serve $((curl_mb * 64)) 16384 >"$tmp/port" &
	server=$!
	wait_for "$tmp/port" '^port'
	port=$(awk '{ print $2 }' "$tmp/port")
}

stop_server() {
	kill "$server"
	wait "$server" 2>/dev/null || true
	server=
}

configs=(base floor sonde sonde_spans)
((have_bpftrace)) && configs+=(bpftrace)
bulk_calls=$((bulk_mb * 64))
for mode in $modes; do
	if [[ $mode == curl ]]; then
		command -v curl >/dev/null || { echo "tls_overhead: no curl; skipping curl" >&2; continue; }
		start_server
		ccfg=(${CURL_CONFIGS:-base floor floor_entry sonde sonde_tls})
		((have_bpftrace)) && ccfg+=(bpftrace)
		download_rounds "curl ($curl_mb MiB download)" run_curl "${ccfg[@]}"
		stop_server
		continue
	fi
	if [[ $mode == go ]]; then
		[[ -x $goclient ]] || { echo "tls_overhead: no $goclient (golang-go); skipping go" >&2; continue; }
		start_server
		bt_go="uprobe:$goclient:\"crypto/tls.(*Conn).Write\" { @w[pid] = sum(reg(\"cx\")); }
			uprobe:$goclient:\"crypto/tls.(*Conn).Read\" { @r[pid] = count(); }"
		gcfg=(base floor sonde)
		((have_bpftrace)) && gcfg+=(bpftrace)
		go_kind=get
		download_rounds "go get ($curl_mb MiB download)" run_go "${gcfg[@]}"
		go_kind=post
		download_rounds "go post ($curl_mb MiB answer, copied)" run_go "${gcfg[@]}"
		stop_server
		continue
	fi
	n=$calls sz=$size
	[[ $mode == bulk ]] && n=$bulk_calls sz=16384
	rm -f "$tmp"/*.cpu "$tmp"/*.wall
	echo "tls_overhead $mode: $rounds rounds x ${#configs[@]} configurations," \
		"$([[ $mode == bulk ]] && echo "$bulk_mb MiB in 16 KiB writes" || echo "$n calls of $sz bytes")"
	for ((r = 0; r < rounds; r++)); do
		for ((i = 0; i < ${#configs[@]}; i++)); do
			cfg=${configs[(i + r) % ${#configs[@]}]}
			read -r cpu wall secs < <(run "$cfg" "$mode" "$n" "$sz")
			echo "$cpu" >>"$tmp/$cfg.cpu"
			echo "$wall" >>"$tmp/$cfg.wall"
			echo "$secs" >>"$tmp/$cfg.secs"
			printf '  round %d %-12s cpu %10.1f ns/call  wall %10.1f ns/call\n' "$r" "$cfg" "$cpu" "$wall"
		done
	done
	declare -A mc mw ms
	for cfg in "${configs[@]}"; do
		mc[$cfg]=$(median <"$tmp/$cfg.cpu")
		mw[$cfg]=$(median <"$tmp/$cfg.wall")
		ms[$cfg]=$(median <"$tmp/$cfg.secs")
	done
	rm -f "$tmp"/*.secs
	if [[ $mode == bulk ]]; then
		printf '%-12s %10s %10s %10s\n' config seconds MiB/s slowdown
		for cfg in "${configs[@]}"; do
			awk -v c="$cfg" -v s="${ms[$cfg]}" -v s0="${ms[base]}" -v mb="$bulk_mb" \
				'BEGIN { printf "%-12s %10.3f %10.1f %9.2fx\n", c, s, mb / s, s / s0 }'
		done
		continue
	fi
	printf '%-12s %12s %12s %14s %14s\n' config cpu_ns/call wall_ns/call added_cpu_ns added_wall_ns
	for cfg in "${configs[@]}"; do
		awk -v c="$cfg" -v a="${mc[$cfg]}" -v b="${mw[$cfg]}" -v a0="${mc[base]}" -v b0="${mw[base]}" \
			'BEGIN { printf "%-12s %12.1f %12.1f %14.1f %14.1f\n", c, a, b, a - a0, b - b0 }'
	done
	ratio() { awk -v x="$1" -v y="$2" -v z="$3" 'BEGIN { printf "%.2f", (x - z) / (y - z) }'; }
	echo "ratio sonde/floor (added cpu):  $(ratio "${mc[sonde]}" "${mc[floor]}" "${mc[base]}")"
	cu=$(median <"$tmp/collector.$mode")
	echo "collector CPU per call: $cu us (at 100 calls/s: $(awk -v u="$cu" 'BEGIN { printf "%.2f", u / 100 }') % of a CPU)"
	((have_bpftrace)) &&
		echo "ratio sonde/bpftrace (added cpu): $(ratio "${mc[sonde]}" "${mc[bpftrace]}" "${mc[base]}")"
	echo
done

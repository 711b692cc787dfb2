#!/usr/bin/env bash
# Symbolizer throughput and memory against perf report on the same workload.
#
#   bench/symbolize_bench.sh BUILD_DIR [SECONDS]
#
# 1. symbolize_bench on a running Debian python3: every function of python3
#    and libc (with libc6-dbg's DWARF when installed), cold and warm, with
#    and without DWARF, plus memory per cached file.
# 2. perf record -g of the same workload; the distinct user addresses of its
#    call chains are symbolized by symbolize_bench while the process still
#    runs, and `perf report --stdio` of that recording is timed.
# Needs root (perf), linux-perf, python3; libc6-dbg for libc's DWARF.
set -euo pipefail

build=${1:?usage: symbolize_bench.sh BUILD_DIR [SECONDS]}
secs=${2:-5}
bench=$build/bench/symbolize_bench
py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT

# A python3 that keeps the interpreter and libc busy (json, re, sorting).
# ASLR off (setarch -R): the recorded run and the live one symbolized
# afterwards map everything at the same addresses. (perf record -p PID
# records no samples on this kernel, so perf launches its own copy.)
cat >"$tmp/work.py" <<'PY'
import json, re, sys, time
end = time.time() + float(sys.argv[1])
d = [{"k": i, "v": str(i) * 3} for i in range(2000)]
while time.time() < end:
    s = json.dumps(d); json.loads(s)
    re.findall(r"\d+", s[:20000]); sorted(d, key=lambda x: -x["k"])
PY
setarch -R "$py" "$tmp/work.py" 600 &
pid=$!
sleep 1

echo "== every function of python3 and libc (pid $pid)"
"$bench" "$pid"

echo
echo "== perf record -e cpu-clock -g -F 999, ${secs}s of the same workload"
perf record -q -e cpu-clock -g -F 999 -o "$tmp/perf.data" -- \
	setarch -R "$py" "$tmp/work.py" "$secs" 2>/dev/null
# "OFFSET (DSO)" per frame; symbolize_bench maps offsets into the live twin.
perf script -i "$tmp/perf.data" -F ip,dso 2>/dev/null | awk 'NF' >"$tmp/all"
grep -v -e '\[unknown\]' -e '\[kernel' "$tmp/all" | sed 's/^[[:space:]]*//' | sort -u >"$tmp/addrs"
echo "frames in the recording: $(wc -l <"$tmp/all");" \
	"distinct user addresses: $(wc -l <"$tmp/addrs")"

echo
echo "== symbolize_bench on those addresses (live twin, pid $pid)"
"$bench" "$pid" "$tmp/addrs"

echo
echo "== perf report --stdio on the same recording"
/usr/bin/time -f "perf report: %e s wall, %M KiB max RSS" \
	perf report -i "$tmp/perf.data" --stdio >/dev/null 2>"$tmp/time" || true
tail -1 "$tmp/time"
/usr/bin/time -f "perf report --no-inline: %e s wall, %M KiB max RSS" \
	perf report -i "$tmp/perf.data" --stdio --no-inline >/dev/null 2>"$tmp/time" || true
tail -1 "$tmp/time"

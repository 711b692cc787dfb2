#!/usr/bin/env python3
"""Sampling overhead of `sonde record -F 99` against `perf record -F 99 -g`.

sonde runs in its default mode (DWARF unwinding of 16 KiB stack snapshots)
and with --call-graph fp, the same kind of stacks perf -g collects.

A fixed amount of CPU-bound work (bench/spin_work) runs alone, under sonde
and under perf, alternating A B C A B C for ROUNDS rounds, pinned to one CPU.
Prints the median slowdown of the target's CPU time (and wall time) against
alone, and each profiler's own CPU time as a fraction of the target's.

usage: record_overhead.py BUILD_DIR [ROUNDS] [ITERATIONS]
"""
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile


def run(cmd):
    """Run cmd; return (target cpu s, target wall s, cpu of everything s)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    cpu, wall = (float(v) for v in out.split()[:2])
    return cpu, wall, total


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    iters = sys.argv[3] if len(sys.argv) > 3 else "270000000"
    work = os.path.join(build, "bench", "spin_work")
    sonde = os.path.join(build, "sonde")
    perf = shutil.which("perf")
    tmp = tempfile.mkdtemp(prefix="sonde-bench-")
    pin = ["taskset", "-c", "1"]
    modes = {
        "alone": pin + [work, iters],
        "sonde": [sonde, "record", "-F", "99", "-o", f"{tmp}/s.folded", "--"] + pin + [work, iters],
        "sonde-fp": [sonde, "record", "-F", "99", "--call-graph", "fp", "-o", f"{tmp}/f.folded", "--"] + pin + [work, iters],
    }
    if perf:
        modes["perf"] = [perf, "record", "-q", "-F", "99", "-g", "-o", f"{tmp}/perf.data", "--"] + pin + [work, iters]
    else:
        print("perf not found: install linux-perf", file=sys.stderr)
    res = {m: [] for m in modes}
    for r in range(rounds):
        for m, cmd in modes.items():
            res[m].append(run(cmd))
    base_cpu = statistics.median(c for c, _, _ in res["alone"])
    base_wall = statistics.median(w for _, w, _ in res["alone"])
    print(f"target alone: cpu {base_cpu:.3f} s, wall {base_wall:.3f} s (median of {rounds})")
    for m in modes:
        if m == "alone":
            continue
        cpu = statistics.median(c for c, _, _ in res[m])
        wall = statistics.median(w for _, w, _ in res[m])
        # The profiler's own CPU: everything it and its child used, less the child.
        own = statistics.median((t - c) / c for c, _, t in res[m])
        print(f"{m:8s}: cpu slowdown {cpu / base_cpu:.4f}x, wall slowdown {wall / base_wall:.4f}x, "
              f"collector cpu {own * 100:.3f}% of target")
    if "perf" in modes:
        s = statistics.median(c for c, _, _ in res["sonde"]) / base_cpu
        p = statistics.median(c for c, _, _ in res["perf"]) / base_cpu
        print(f"ratio sonde/perf slowdown: {s / p:.4f}")
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()

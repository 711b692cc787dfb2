#!/usr/bin/env python3
"""DWARF unwinding: sonde --call-graph dwarf against perf --call-graph dwarf.

Debian's python3 (no frame pointers) runs a fixed amount of work alone,
under `sonde record --call-graph dwarf`, under `sonde record --call-graph
fp` and under `perf record --call-graph dwarf`, at the same rate,
alternating A B C D A B C D for ROUNDS rounds, pinned to one CPU. Prints
per mode the median slowdown of the target's CPU time against alone, the
profiler's own CPU as a fraction of the target's, and for perf also the
CPU of `perf script` (where perf does its unwinding); then sonde's bytes,
unwinding cost and completeness per sample (from `sonde -v`), perf's
bytes per sample and completeness, and the ratios.

usage: unwind_overhead.py BUILD_DIR [ROUNDS] [ITERATIONS] [FREQ]
"""
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile

WORK = r"""
import sys, time
def leaf(n):
    s = 0
    for i in range(n):
        s += i
    return s
def middle():
    return leaf(1000)
def run(k):
    for _ in range(k):
        middle()
c0, w0 = time.process_time(), time.monotonic()
run(int(sys.argv[1]))
print(time.process_time() - c0, time.monotonic() - w0)
"""
PYTHON = "/usr/bin/python3"


def cpu_children():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run(cmd):
    """Run cmd; return (target cpu s, target wall s, cpu of everything s, stderr)."""
    before = cpu_children()
    p = subprocess.run(cmd, check=True, capture_output=True, text=True)
    total = cpu_children() - before
    cpu, wall = (float(v) for v in p.stdout.split()[:2])
    return cpu, wall, total, p.stderr


def perf_script(perf, data):
    """CPU seconds perf script takes to unwind and print, and its stacks' completeness."""
    before = cpu_children()
    out = subprocess.run([perf, "script", "-i", data, "-F", "comm,ip,sym"], check=True,
                         capture_output=True, text=True).stdout
    cpu = cpu_children() - before
    total = complete = 0
    last = None
    for line in out.split("\n") + [""]:
        if line.startswith("\t"):
            last = line
        elif not line:
            if last is not None:
                total += 1
                # The entry: _start, or one frame short of it (perf's 8 KiB
                # dump often ends between __libc_start_call_main and _start).
                complete += any(f in last for f in (" _start", " __libc_start_call_main",
                                                    " __libc_start_main"))
            last = None
    return cpu, total, complete


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    iters = sys.argv[3] if len(sys.argv) > 3 else "400000"
    freq = sys.argv[4] if len(sys.argv) > 4 else "99"
    sonde = os.path.join(build, "sonde")
    perf = shutil.which("perf")
    tmp = tempfile.mkdtemp(prefix="sonde-unwind-bench-")
    work = os.path.join(tmp, "work.py")
    with open(work, "w") as f:
        f.write(WORK)
    target = ["taskset", "-c", "1", PYTHON, work, iters]
    modes = {
        "alone": target,
        "sonde-dwarf": [sonde, "record", "-v", "-F", freq, "--call-graph", "dwarf",
                        "-o", f"{tmp}/d.folded", "--"] + target,
        "sonde-fp": [sonde, "record", "-F", freq, "--call-graph", "fp",
                     "-o", f"{tmp}/f.folded", "--"] + target,
    }
    if perf:
        modes["perf-dwarf"] = [perf, "record", "-q", "-F", freq, "--call-graph", "dwarf",
                               "-o", f"{tmp}/perf.data", "--"] + target
    else:
        print("perf not found: install linux-perf", file=sys.stderr)
    res = {m: [] for m in modes}
    script = []
    dwarf_info = []
    for _ in range(rounds):
        for m, cmd in modes.items():
            r = run(cmd)
            res[m].append(r)
            if m == "sonde-dwarf":
                dwarf_info.append(r[3])
            if m == "perf-dwarf":
                size = os.path.getsize(f"{tmp}/perf.data")
                cpu, total, complete = perf_script(perf, f"{tmp}/perf.data")
                script.append((cpu, total, complete, size))
    base_cpu = statistics.median(c for c, _, _, _ in res["alone"])
    base_wall = statistics.median(w for _, w, _, _ in res["alone"])
    print(f"python3 alone: cpu {base_cpu:.3f} s, wall {base_wall:.3f} s "
          f"(median of {rounds}, -F {freq})")
    slow = {}
    for m in modes:
        if m == "alone":
            continue
        cpu = statistics.median(c for c, _, _, _ in res[m])
        wall = statistics.median(w for _, w, _, _ in res[m])
        own = statistics.median((t - c) / c for c, _, t, _ in res[m])
        slow[m] = cpu / base_cpu
        print(f"{m:11s}: cpu slowdown {slow[m]:.4f}x, wall slowdown {wall / base_wall:.4f}x, "
              f"collector cpu {own * 100:.3f}% of target")
    # sonde -v: "N samples, ... N user stacks complete" and the unwinding details.
    samples = [int(re.search(r"sonde: (\d+) samples", e).group(1)) for e in dwarf_info]
    complete = [int(re.search(r"(\d+) user stacks complete", e).group(1)) for e in dwarf_info]
    nbytes = [int(re.search(r"(\d+) stack bytes", e).group(1)) for e in dwarf_info]
    us = [float(re.search(r"([\d.]+) us of unwinding", e).group(1)) for e in dwarf_info]
    print(f"sonde dwarf: {statistics.median(samples)} samples, "
          f"{100.0 * sum(complete) / max(1, sum(samples)):.1f}% complete, "
          f"{statistics.median(nbytes)} stack bytes/sample (+88 B header + 8 B/frame), "
          f"{statistics.median(us):.2f} us unwinding/sample")
    if script:
        pcpu = statistics.median(c for c, _, _, _ in script)
        ptot = sum(t for _, t, _, _ in script)
        pcomp = sum(c for _, _, c, _ in script)
        psize = statistics.median(s / max(1, t) for _, t, _, s in script)
        print(f"perf dwarf : {statistics.median(t for _, t, _, _ in script)} samples, "
              f"{100.0 * pcomp / max(1, ptot):.1f}% complete, {psize:.0f} bytes/sample in "
              f"perf.data, perf script {pcpu:.3f} s cpu "
              f"({pcpu * 1e6 / max(1, statistics.median(t for _, t, _, _ in script)):.1f} us/sample)")
        print(f"ratio sonde-dwarf/perf-dwarf slowdown: {slow['sonde-dwarf'] / slow['perf-dwarf']:.4f}")
    print(f"ratio sonde-dwarf/sonde-fp slowdown: {slow['sonde-dwarf'] / slow['sonde-fp']:.4f}")
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()

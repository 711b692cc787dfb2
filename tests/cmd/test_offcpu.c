// SPDX-License-Identifier: MIT
/*
 * sonde record -e offcpu end to end (root, BPF) on the offcpu_fix fixture,
 * built without frame pointers: the off-CPU split between sleeping and a
 * pipe read, CPU and off-CPU from one run in one pprof, complete DWARF
 * stacks, and a rare long wait found among many sampled short ones.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "helpers.h"

#define NS 1e9

/* sonde record ARGS... -- offcpu_fix FIXARGS...; stdout and stderr kept. */
static void record(char **args, char **fixargs, char **out, char **err)
{
	char *argv[32];
	int n = 0, rc;

	argv[n++] = (char *)sonde_bin();
	argv[n++] = "record";
	while (*args)
		argv[n++] = *args++;
	argv[n++] = "--";
	argv[n++] = (char *)fixture_path("offcpu_fix");
	while (*fixargs)
		argv[n++] = *fixargs++;
	argv[n] = NULL;
	rc = run_cmd(argv, out, err);
	cr_assert_eq(rc, 0, "sonde record failed (%d): %s", rc, *err);
}

static char *tmp(const char *name)
{
	static char paths[4][512];
	static int i;
	char *p = paths[i++ % 4];

	snprintf(p, 512, "%s/%s", test_tmpdir(), name);
	return p;
}

/*
 * -e cpu,offcpu in one run: sleeper() sleeps 2 s, reader() blocks 1 s on
 * a pipe, spinner() spins 1 s. Off-CPU (split.off_cpu.folded) is 2:1
 * between the first two within 10 %, each within 10 % of what the
 * fixture measured, with the whole chain to _start through libc (no frame
 * pointers anywhere: DWARF); the spinner has no off-CPU time beyond the
 * preemption the fixture measured (none on an idle machine) but its CPU
 * samples (split.folded) are there; one pprof holds both sample types.
 */
Test(offcpu, sleep_pipe_spin_with_cpu, .timeout = 120)
{
	char *out = NULL, *err = NULL, *cpu, *off, *raw, *top;
	char *folded = strdup(tmp("split.folded")), *pb = strdup(tmp("split.pb.gz"));
	char *args[] = {"-e", "cpu,offcpu", "-o", folded, "-o", pb, NULL};
	char *fixargs[] = {"split", NULL};
	uint64_t sleeper, reader, spinner, chain;
	double ratio, m_sleep, m_read, m_preempt;

	require_bpf();
	record(args, fixargs, &out, &err);
	cr_log_info("%s", err);
	m_sleep = named_value(out, "sleeper");
	m_read = named_value(out, "reader");
	m_preempt = named_value(out, "spinner_preempted");
	cr_assert(m_sleep > 1.9 && m_read > 0.9, "fixture output: %s", out);
	cr_assert(strstr(err, ", wrote "), "no outputs: %s", err);
	cr_assert(strstr(err, "split.off_cpu.folded"), "off-CPU file not named: %s", err);

	off = read_file(tmp("split.off_cpu.folded"), NULL);
	cpu = read_file(folded, NULL);
	cr_assert(off && cpu, "missing split.folded or split.off_cpu.folded");
	sleeper = folded_sum(off, ";sleeper;");
	reader = folded_sum(off, ";reader;");
	spinner = folded_sum(off, ";spinner");
	chain = folded_sum(off, "offcpu_fix;_start;__libc_start_main;__libc_start_call_main;main;");
	cr_log_info("off-CPU: sleeper %.3f s (measured %.3f), reader %.3f s (measured %.3f), "
		    "spinner %.3f s (preempted %.3f); CPU: spinner %llu samples",
		    sleeper / NS, m_sleep, reader / NS, m_read, spinner / NS, m_preempt,
		    (unsigned long long)folded_sum(cpu, ";spinner"));
	cr_assert(reader > 0, "no off-CPU time in reader():\n%s", off);
	ratio = (double)sleeper / (double)reader;
	cr_expect(ratio >= 1.8 && ratio <= 2.2, "sleeper/reader off-CPU = %.3f, want 2 +- 10%%",
		  ratio);
	cr_expect(sleeper >= m_sleep * NS * 0.9 && sleeper <= m_sleep * NS * 1.1,
		  "sleeper: %.3f s off-CPU, measured %.3f s", sleeper / NS, m_sleep);
	cr_expect(reader >= m_read * NS * 0.9 && reader <= m_read * NS * 1.1,
		  "reader: %.3f s off-CPU, measured %.3f s", reader / NS, m_read);
	/* Every sleeper/reader stack is complete: _start down to the function. */
	cr_expect_eq(folded_sum(off, "main;sleeper;") + folded_sum(off, "main;reader;"),
		     sleeper + reader, "sleeper/reader stacks without main");
	cr_expect_eq(folded_sum(off, "offcpu_fix;_start;__libc_start_main;__libc_start_call_main;"
				     "main;sleeper;"),
		     sleeper, "sleeper stacks incomplete");
	cr_expect(chain >= sleeper + reader, "main-thread stacks incomplete");
	/* The kernel side of the wait is there too. */
	cr_expect(folded_sum(off, ";sleeper;") == folded_sum(off,
							     ";sleeper;sleep_us_[i];__nanosleep;"
							     "clock_nanosleep;"),
		  "sleeper stacks do not end in clock_nanosleep");
	cr_expect(strstr(off, "hrtimer_nanosleep_[k]") && strstr(off, "pipe_read_[k]"),
		  "kernel frames of the waits missing:\n%s", off);
	/*
	 * The spinner never blocks: its only off-CPU time is preemption by
	 * other load on this machine, which the fixture measured (wall - CPU
	 * time); waits under 1 ms are not stacked, so at most that, +5 ms.
	 */
	cr_expect(spinner <= (m_preempt + 0.005) * NS,
		  "spinner off-CPU %.3f s, but it was preempted only %.3f s", spinner / NS,
		  m_preempt);
	/* 99 Hz over the CPU time it got (1 s less preemption), within 30 %. */
	cr_expect(folded_sum(cpu, ";spinner") >= 99 * (1 - m_preempt) * 0.7,
		  "spinner has %llu CPU samples, want ~%.0f",
		  (unsigned long long)folded_sum(cpu, ";spinner"), 99 * (1 - m_preempt));
	cr_expect(folded_sum(cpu, ";sleeper;") <= 5, "sleeper on CPU in %llu samples",
		  (unsigned long long)folded_sum(cpu, ";sleeper;"));

	/* go tool pprof reads both sample types from one file. */
	raw = pprof_run(pb, "-raw", NULL, NULL);
	cr_expect(strstr(raw, "samples/count cpu/nanoseconds[dflt] off_cpu/nanoseconds\n"),
		  "pprof sample types:\n%.400s", raw);
	free(raw);
	top = pprof_run(pb, "-sample_index=off_cpu", "-top", NULL);
	cr_expect(strstr(top, "sleeper") && strstr(top, "reader"), "pprof off_cpu top:\n%s", top);
	free(top);
	free(off);
	free(cpu);
	free(out);
	free(err);
	free(folded);
	free(pb);
}

/*
 * One 500 ms wait among 10 000 short ones (150 us sleeps), with waits
 * from 100 us counted and a sampling probability of 0.01: a wait of d is
 * kept with probability min(1, d / 10 ms), so the 500 ms one is always
 * kept with its exact length (deciding at switch-out, as most profilers
 * do, would keep it 1 time in 100), while about 1 in 40 short ones is,
 * each weighing 10 ms: their total stays within 25 % (~3.5 sigma).
 */
Test(offcpu, rare_long_wait_is_found, .timeout = 120)
{
	char *out = NULL, *err = NULL, *off;
	char *folded = strdup(tmp("rare.folded"));
	char *args[] = {"-e",	"offcpu", "--offcpu-min", "100us", "--offcpu-sample",
			"0.01", "-o",	  folded,	  NULL};
	char *fixargs[] = {"rare", "10000", "150", NULL};
	double m_long, m_short;
	uint64_t lw, sw;
	unsigned long long stacked;

	require_bpf();
	record(args, fixargs, &out, &err);
	cr_log_info("%s", err);
	m_long = named_value(out, "long_wait");
	m_short = named_value(out, "short_waits");
	off = read_file(folded, NULL);
	cr_assert(off, "no %s", folded);
	lw = folded_sum(off, ";long_wait;");
	sw = folded_sum(off, ";short_waits;");
	stacked = number_before(err, " stacked");
	cr_log_info("long_wait %.4f s (measured %.4f), short_waits %.3f s (measured %.3f), %llu "
		    "waits stacked",
		    lw / NS, m_long, sw / NS, m_short, stacked);
	cr_expect(lw >= 0.5 * NS && lw <= m_long * NS + 2e6,
		  "long_wait: %.4f s, want its measured %.4f s", lw / NS, m_long);
	cr_expect(sw >= m_short * NS * 0.75 && sw <= m_short * NS * 1.25,
		  "short_waits: %.3f s estimated, measured %.3f s +- 25%%", sw / NS, m_short);
	cr_expect(stacked >= 50 && stacked <= 1000, "%llu of 10001 waits stacked, want ~250",
		  stacked);
	free(off);
	free(out);
	free(err);
	free(folded);
}

/*
 * Waits that are no syscall's: two threads spinning on one CPU preempt
 * each other (waits of a few ms, all kept with --offcpu-min 100us). Their
 * off-CPU time is what the fixture measured (wall - CPU time of both,
 * within 15 %), and lands on spinner(): with a task work the whole stack;
 * on a kernel that refuses task works from sched_switch, the user pc at
 * the preemption, sent from the scheduler (nothing else is readable
 * there), in the same function but for the few that stop in the vDSO.
 */
Test(offcpu, preempted_waits_land_on_the_spinner, .timeout = 60)
{
	char *out = NULL, *err = NULL, *off;
	char *folded = strdup(tmp("contend.folded"));
	char *args[] = {"-v", "-e", "offcpu", "--offcpu-min", "100us", "-o", folded, NULL};
	char *fixargs[] = {"contend", NULL};
	uint64_t total, spin;
	double m;

	require_bpf();
	record(args, fixargs, &out, &err);
	m = named_value(out, "contended_preempted");
	off = read_file(folded, NULL);
	cr_assert(off, "no %s: %s", folded, err);
	total = folded_sum(off, "offcpu_fix;");
	spin = folded_sum(off, ";spinner");
	cr_log_info("contended: %.3f s off-CPU (measured %.3f s), %.3f s on spinner", total / NS, m,
		    spin / NS);
	cr_assert(m > 0.5, "the spinners were not preempted: %s", out);
	cr_expect(total >= m * NS * 0.85 && total <= m * NS * 1.15,
		  "%.3f s off-CPU, measured %.3f s", total / NS, m);
	cr_expect(spin >= total * 0.95, "%.3f of %.3f s on spinner:\n%s", spin / NS, total / NS,
		  off);
	if (strstr(err, "user stacks are read at syscall exits"))
		cr_expect(number_before(err, " waits outside a syscall with the user pc only") > 0,
			  "%s", err);
	free(off);
	free(out);
	free(err);
	free(folded);
}

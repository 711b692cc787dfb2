// SPDX-License-Identifier: MIT
/*
 * sonde top: a live view of the hottest functions, refreshed every
 * --interval, as perf top and py-spy top give: the same sampling, stacks
 * and symbols as sonde record, one window at a time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/outfile.h"
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "cmd/run.h"
#include "export/top.h"
#include "model/profile.h"

#define TOP_INTERVAL_S 1.0

struct top_view {
	const struct session_opts *o;
	bool tty;
};

static void top_usage(FILE *f)
{
	fprintf(f, "usage: sonde top [options] (-p PID[,PID...] | -a | [--] CMD [ARGS...])\n"
		   "\n"
		   "A live view of the hottest functions (self and total samples), refreshed\n"
		   "every --interval from that interval's samples. Ctrl-C or -d ends it.\n"
		   "\n"
		   "targets (exactly one):\n"
		   "  -p, --pid PID[,PID...]  running processes\n"
		   "  -a, --all-cpus          the whole system\n"
		   "  -- CMD [ARGS...]        launch CMD and watch it until it exits\n"
		   "  -d, --duration SECONDS  stop after this long: 30, 2.5, 500ms, 1m30s\n"
		   "      --interval SECONDS  refresh period, 0.1-3600 (default 1)\n"
		   "\n");
	cli_usage_common(f);
	fprintf(f, "\n"
		   "Without a terminal on stdout the tables follow each other, each after a\n"
		   "header line.\n"
		   "\n"
		   "examples:\n"
		   "  sonde top -p 4242\n"
		   "  sonde top -a -F 499 --interval 2\n");
}

/* Rows that fit the terminal under the header (--top caps them). */
static unsigned int rows(const struct top_view *v)
{
	struct winsize ws;
	unsigned int n = v->o->out.top;

	if (v->tty && !ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_row > 6 &&
	    ws.ws_row - 5u < n)
		n = ws.ws_row - 5u;
	return n;
}

static int on_window(void *ctx, struct profile *window, const struct session_window *w)
{
	struct top_view *v = ctx;
	double secs = (w->end_unix_ns - w->start_unix_ns) / 1e9;
	time_t t = (time_t)(w->end_unix_ns / 1000000000ull);
	char when[32];
	int err;

	strftime(when, sizeof(when), "%H:%M:%S", localtime(&t));
	if (v->tty)
		fputs("\033[H\033[2J", stdout);
	printf("sonde top  %s  %.1f s at %u Hz: %llu samples, %llu lost\n\n", when, secs,
	       v->o->cpu.freq, (unsigned long long)w->samples, (unsigned long long)w->lost);
	err = report_top__write(window, stdout, rows(v));
	if (!v->tty)
		putchar('\n');
	profile__free(window);
	if (!err)
		err = stream_flush_error(stdout);
	/* The reader went away (| head): the view is over, not failed. */
	if (stream_reader_gone(stdout, err))
		return 0;
	if (err) {
		log_err("top: failed to write to stdout: %s", strerror(-err));
		return err;
	}
	return 0;
}

static const struct cli_command top_cmd = {
	.name = "top",
	.default_probes = SESSION_PROBE_CPU,
	.ring_probe = SESSION_PROBE_CPU,
	.usage = top_usage,
	.default_interval_s = TOP_INTERVAL_S,
};

int cli_parse_top(int argc, char **argv, struct session_opts *o)
{
	return cli_parse_session(&top_cmd, argc, argv, o);
}

int cmd_top(int argc, char **argv)
{
	struct session_opts o;
	struct top_view v;
	int err;

	err = cli_parse_top(argc, argv, &o);
	if (err)
		return err == CLI_EXIT_HELP ? 0 : err;
	v.o = &o;
	v.tty = isatty(STDOUT_FILENO);
	o.on_window = on_window;
	o.window_ctx = &v;
	return cmd_run_session(&o);
}

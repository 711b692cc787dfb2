// SPDX-License-Identifier: MIT
/* Shared parsing helpers and the options every command shares. */
#include <errno.h>
#include <float.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/hostport.h"
#include "base/log.h"
#include "cmd/cli.h"
#include "config/scalar.h"

int cli_parse_pid_list(const char *s, pid_t **pids, int *npids)
{
	pid_t *out = NULL;
	int n = 0;
	const char *p = s;

	if (!*s)
		return -EINVAL;
	for (;;) {
		char *end;
		long v;
		pid_t *grown;

		errno = 0;
		v = strtol(p, &end, 10);
		if (errno || end == p || v <= 0 || v > INT_MAX || (*end && *end != ','))
			goto err_free;
		grown = realloc(out, (n + 1) * sizeof(*out));
		if (!grown) {
			free(out);
			return -ENOMEM;
		}
		out = grown;
		out[n++] = (pid_t)v;
		if (!*end)
			break;
		p = end + 1;
	}
	*pids = out;
	*npids = n;
	return 0;

err_free:
	free(out);
	return -EINVAL;
}

/*
 * Plain decimal: digits with at most one '.', nothing else. strtod alone
 * takes " 1", "+1", "0x1", "1e3", "inf" and "nan".
 */
static bool is_decimal(const char *s)
{
	bool digit = false, dot = false;

	for (; *s; s++) {
		if (*s >= '0' && *s <= '9')
			digit = true;
		else if (*s == '.' && !dot)
			dot = true;
		else
			return false;
	}
	return digit;
}

/*
 * Seconds as a plain decimal ("2.5") or as a duration with units, as the
 * agent's configuration writes them ("500ms", "30s", "1m30s"); -EINVAL.
 */
static int seconds_of(const char *s, double *v)
{
	uint64_t ns;
	char *end;

	if (is_decimal(s)) {
		errno = 0;
		*v = strtod(s, &end);
		return errno || end == s || *end || !isfinite(*v) ? -EINVAL : 0;
	}
	if (scalar_parse_duration(s, &ns))
		return -EINVAL;
	*v = (double)ns / 1e9;
	return 0;
}

int cli_parse_duration(const char *s, double *out)
{
	double v;

	if (seconds_of(s, &v) || v <= 0 || v > 365 * 86400.0)
		return -EINVAL;
	*out = v;
	return 0;
}

int cli_parse_duration_ns(const char *s, uint64_t *out)
{
	static const struct {
		const char *unit;
		double ns;
	} units[] = {{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}};
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !(v >= 0) || v > 3600)
		return -EINVAL;
	if (!*end && v == 0) {
		*out = 0;
		return 0;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (!strcmp(end, units[i].unit) && v * units[i].ns <= 3600e9) {
			*out = (uint64_t)(v * units[i].ns + 0.5);
			return 0;
		}
	}
	return -EINVAL;
}

int cli_parse_bytes(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1;

	if (*s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	if (*end == 'K' || *end == 'k')
		mul = 1024;
	else if (*end == 'M')
		mul = 1024 * 1024;
	else if (*end == 'G')
		mul = 1024 * 1024 * 1024;
	if (mul > 1)
		end++;
	if (*end == 'B' || *end == 'i')
		end += *end == 'i' && end[1] == 'B' ? 2 : 1;
	if (*end || v > max / mul)
		return -EINVAL;
	*out = v * mul;
	return 0;
}

int cli_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned int *out)
{
	char *end;
	unsigned long v;

	/* strtoul takes leading blanks and a sign: " 99", "+99", "-1" are not numbers here. */
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}

void cli_report_bad_option(const char *cmd, const char *value_opts, char **argv)
{
	if (optopt && optopt < 256)
		log_err("%s: option -%c %s (see sonde %s --help)", cmd, optopt,
			strchr(value_opts, optopt) ? "needs a value" : "is unknown", cmd);
	else
		log_err("%s: unknown or incomplete option '%s' (see sonde %s --help)", cmd,
			argv[optind - 1], cmd);
}

int cli_target_opt(const char *cmd, int c, const char *arg, struct target_opts *t)
{
	int err;

	if (c == 'd') {
		if (cli_parse_duration(arg, &t->duration_s)) {
			log_err("%s: -d takes seconds (2.5) or a duration (500ms, 1m30s), not '%s'",
				cmd, arg);
			return -EINVAL;
		}
		return 0;
	}
	/* -p: a later -p replaces an earlier one. */
	free(t->pids);
	t->pids = NULL;
	err = cli_parse_pid_list(arg, &t->pids, &t->npids);
	if (err == -EINVAL)
		log_err("%s: -p takes PIDs separated by commas, not '%s'", cmd, arg);
	return err;
}

int cli_uint_opt(const char *cmd, const char *opt, const char *arg, unsigned long min,
		 unsigned long max, unsigned int *out)
{
	if (cli_parse_uint(arg, min, max, out)) {
		log_err("%s: %s takes a number from %lu to %lu, not '%s'", cmd, opt, min, max, arg);
		return -EINVAL;
	}
	return 0;
}

/* A real number in [@lo, @hi] into *@out; -EINVAL (nothing stored) otherwise. */
static int parse_real(const char *arg, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || end == arg || *end || !(v >= lo && v <= hi))
		return -EINVAL;
	*out = v;
	return 0;
}

int cli_set_log_format(const char *cmd, const char *arg)
{
	enum log_format fmt;

	if (log_parse_format(arg, &fmt)) {
		log_err("%s: --log-format takes 'text' or 'json', not '%s'", cmd, arg);
		return -EINVAL;
	}
	/* At once, so the errors that follow are in the chosen format. */
	log_set_format(fmt);
	return 0;
}

int cli_check_target(const char *cmd, const struct target_opts *t)
{
	int n = (t->npids > 0) + t->all + (t->cmd != NULL);

	if (n == 1)
		return 0;
	if (n == 0)
		log_err("%s: no target: give -p PID, -a, or -- CMD (see sonde %s --help)", cmd,
			cmd);
	else
		log_err("%s: -p, -a and -- CMD are exclusive: give only one target", cmd);
	return -EINVAL;
}

/* Seconds within [min, max] ("0", "2.5", "500ms", "1m"); 0 or -EINVAL. */
static int parse_seconds(const char *s, double min, double max, double *out)
{
	double v;

	if (seconds_of(s, &v) || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_stack_size(const char *s, unsigned int *out)
{
	unsigned int v;

	if (cli_parse_uint(s, 8, CPU_STACK_SIZE_MAX, &v) || v % 8)
		return -EINVAL;
	*out = v;
	return 0;
}

/* "fp", "dwarf" or "dwarf,BYTES", as perf spells it. */
static int parse_call_graph(const char *s, struct cpu_opts *o)
{
	if (!strcmp(s, "fp")) {
		o->call_graph = CALL_GRAPH_FP;
		return 0;
	}
	if (!strcmp(s, "dwarf")) {
		o->call_graph = CALL_GRAPH_DWARF;
		return 0;
	}
	if (!strncmp(s, "dwarf,", 6) && !parse_stack_size(s + 6, &o->stack_size)) {
		o->call_graph = CALL_GRAPH_DWARF;
		return 0;
	}
	return -EINVAL;
}

/* HOST:PORT (or :PORT unless @need_host) that hostport_parse() accepts. */
static int check_hostport(const char *s, bool need_host)
{
	char host[256];
	unsigned int port;

	if (hostport_parse(s, host, sizeof(host), &port))
		return -EINVAL;
	return need_host && (!host[0] || !port) ? -EINVAL : 0;
}

/*
 * --listen ADDR:PORT, ":PORT" (every interface) or a bare PORT, which
 * binds loopback: /metrics shows what a process does, so exposing it to
 * the network must be asked for.
 */
static int parse_listen(const char *cmd, const char *arg, struct export_opts *o)
{
	unsigned int port;

	if (!cli_parse_uint(arg, 0, 65535, &port)) {
		snprintf(o->listen_buf, sizeof(o->listen_buf), "127.0.0.1:%u", port);
		o->listen = o->listen_buf;
		return 0;
	}
	if (check_hostport(arg, false)) {
		log_err("%s: --listen takes ADDR:PORT, :PORT or PORT, e.g. 127.0.0.1:9464, "
			"not '%s'",
			cmd, arg);
		return -EINVAL;
	}
	o->listen = arg;
	return 0;
}

/*
 * http[s]://HOST[:PORT][/PATH]: a host, and a port from 1 to 65535 when
 * one is given (curl would try "http://127.0.0.1:99999" and fail later).
 */
static int check_url(const char *url)
{
	const char *host, *end, *colon;
	unsigned int port;
	char portbuf[8];

	if (!strncmp(url, "http://", 7))
		host = url + 7;
	else if (!strncmp(url, "https://", 8))
		host = url + 8;
	else
		return -EINVAL;
	end = host + strcspn(host, "/?#");
	if (*host == '[') {
		const char *rb = memchr(host, ']', end - host);

		if (!rb || rb == host + 1)
			return -EINVAL;
		colon = rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
		if (!colon && rb + 1 != end)
			return -EINVAL;
	} else {
		colon = memchr(host, ':', end - host);
		if ((colon ? colon : end) == host)
			return -EINVAL;
	}
	if (!colon)
		return 0;
	if (end - colon - 1 < 1 || end - colon - 1 >= (long)sizeof(portbuf))
		return -EINVAL;
	snprintf(portbuf, sizeof(portbuf), "%.*s", (int)(end - colon - 1), colon + 1);
	return cli_parse_uint(portbuf, 1, 65535, &port);
}

static int add_listen_allow(const char *cmd, const char *arg, struct export_opts *o)
{
	if (o->nlisten_allow == PROM_MAX_ALLOW) {
		log_err("%s: at most %d --listen-allow networks", cmd, PROM_MAX_ALLOW);
		return -EINVAL;
	}
	if (prom_cidr_parse(arg, &o->listen_allow[o->nlisten_allow])) {
		log_err("%s: --listen-allow takes an address or network, e.g. 10.0.0.0/8, "
			"192.168.1.7 or fd00::/8, not '%s'",
			cmd, arg);
		return -EINVAL;
	}
	o->nlisten_allow++;
	return 0;
}

int trace_func_spec_parse(const char *arg, struct trace_func_spec *out)
{
	const char *slash = strrchr(arg, '/');
	const char *colon = strchr(slash ? slash : arg, ':');

	memset(out, 0, sizeof(*out));
	if (!colon || colon == arg || !colon[1])
		return -EINVAL;
	out->arg = arg;
	out->target = strndup(arg, colon - arg);
	out->func = strdup(colon + 1);
	if (!out->target || !out->func) {
		free(out->target);
		free(out->func);
		memset(out, 0, sizeof(*out));
		return -ENOMEM;
	}
	return 0;
}

static int add_func(const char *cmd, struct uprobe_opts *o, const char *arg)
{
	struct trace_func_spec *grown;
	int err;

	grown = realloc(o->funcs, (o->nfuncs + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	o->funcs = grown;
	err = trace_func_spec_parse(arg, &o->funcs[o->nfuncs]);
	if (err == -EINVAL)
		log_err("%s: cannot parse -f '%s': expected TARGET:FUNCTION, e.g. "
			"/usr/bin/myprog:handle_request or libc:malloc",
			cmd, arg);
	if (err)
		return err;
	o->nfuncs++;
	return 0;
}

static int add_output(const char *cmd, struct output_opts *o, const char *arg)
{
	if (o->n == OUTPUTS_MAX) {
		log_err("%s: at most %d -o outputs", cmd, OUTPUTS_MAX);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < o->n; i++) {
		/* Two writers of one file: the second would replace the first. */
		if (strcmp(arg, OUTPUT_STDOUT) && !strcmp(o->paths[i], arg)) {
			log_err("%s: -o '%s' is given twice", cmd, arg);
			return -EINVAL;
		}
	}
	o->paths[o->n] = arg;
	/* stdout's format is --format's, settled once every option is read. */
	if (!strcmp(arg, OUTPUT_STDOUT)) {
		o->formats[o->n++] = OUT_FOLDED;
		return 0;
	}
	if (out_format_from_path(arg, &o->formats[o->n])) {
		log_err("%s: cannot tell the format of '%s': name it *.folded, *.svg or *.pb.gz "
			"(or -o - for stdout)",
			cmd, arg);
		return -EINVAL;
	}
	o->n++;
	return 0;
}

int cli_output_opt(const char *cmd, int c, const char *arg, struct output_opts *o)
{
	switch (c) {
	case 'o':
		return add_output(cmd, o, arg);
	case OPT_TOP:
		o->top_given = true;
		return cli_uint_opt(cmd, "--top", arg, 1, 100000, &o->top);
	case OPT_TITLE:
		o->title = arg;
		return 0;
	case OPT_WIDTH:
		return cli_uint_opt(cmd, "--width", arg, 200, 100000, &o->width);
	case OPT_INVERTED:
		o->inverted = true;
		return 0;
	case OPT_FORMAT:
		if (out_format_from_name(arg, &o->stdout_format)) {
			log_err("%s: --format takes folded, svg or pprof, not '%s'", cmd, arg);
			return -EINVAL;
		}
		return 0;
	default:
		return 1;
	}
}

int cli_output_finish(const char *cmd, struct output_opts *o)
{
	unsigned int nstdout = 0;

	for (unsigned int i = 0; i < o->n; i++) {
		if (strcmp(o->paths[i], OUTPUT_STDOUT))
			continue;
		nstdout++;
		if (o->stdout_format)
			o->formats[i] = o->stdout_format;
	}
	if (nstdout > 1) {
		log_err("%s: -o - (stdout) can be given once", cmd);
		return -EINVAL;
	}
	if (o->stdout_format && !nstdout) {
		log_err("%s: --format is the format of -o - (stdout); files take theirs from "
			"their names",
			cmd);
		return -EINVAL;
	}
	return 0;
}

/* A shell word that needs no quotes: letters, digits and a few safe marks. */
static bool shell_plain(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
			    "-_./:=,+@%",
			    *s))
			return false;
	return true;
}

char *cli_command_line(int argc, char **argv)
{
	size_t len = strlen("sonde") + 1;
	char *line, *p;

	for (int i = 0; i < argc; i++)
		len += 1 + 2 + 4 * strlen(argv[i]);
	line = malloc(len);
	if (!line)
		return NULL;
	p = line + sprintf(line, "sonde");
	for (int i = 0; i < argc; i++) {
		*p++ = ' ';
		if (shell_plain(argv[i])) {
			p = stpcpy(p, argv[i]);
			continue;
		}
		/* 'it'\''s': a quote ends, an escaped quote, a quote starts again. */
		*p++ = '\'';
		for (const char *c = argv[i]; *c; c++) {
			if (*c == '\'')
				p = stpcpy(p, "'\\''");
			else
				*p++ = *c;
		}
		*p++ = '\'';
	}
	*p = '\0';
	return line;
}

static int parse_probes(const char *cmd, const char *arg, unsigned int *bits)
{
	const char *bad;
	size_t len;

	if (session_probe_parse(arg, bits, &bad, &len)) {
		log_err("%s: -e takes probes separated by commas (%s), not '%.*s'", cmd,
			session_probe_names(), (int)len, bad);
		return -EINVAL;
	}
	return 0;
}

static int parse_ring_size(const char *cmd, const char *arg, unsigned int *kib)
{
	if (cli_parse_uint(arg, 4, 1024 * 1024, kib) || (*kib & (*kib - 1))) {
		log_err("%s: --ring-size takes a power of two in KiB from 4 to 1048576, not '%s'",
			cmd, arg);
		return -EINVAL;
	}
	return 0;
}

/* The options of the offcpu, alloc and faults probes. */
static int memprobe_opt(const char *cmd, int opt, const char *arg, struct session_opts *o)
{
	uint64_t v;

	switch (opt) {
	case OPT_OFFCPU_MIN:
		if (cli_parse_duration_ns(arg, &o->offcpu.min_ns) || !o->offcpu.min_ns) {
			log_err("%s: --offcpu-min takes a duration from 1ns to 3600s with its unit "
				"(ns, us, ms, s), e.g. 1ms, not '%s'",
				cmd, arg);
			return -EINVAL;
		}
		return 0;
	case OPT_OFFCPU_SAMPLE:
		if (parse_real(arg, 1e-6, 1, &o->offcpu.sample)) {
			log_err("%s: --offcpu-sample takes a probability from 0.000001 to 1, not "
				"'%s'",
				cmd, arg);
			return -EINVAL;
		}
		return 0;
	case OPT_OFFCPU_MAX_PENDING:
		return cli_uint_opt(cmd, "--offcpu-max-pending", arg, 16, 1 << 20,
				    &o->offcpu.max_pending);
	case OPT_ALLOC_RATE:
		if (cli_parse_bytes(arg, 1ull << 30, &v)) {
			log_err("%s: --alloc-rate takes bytes up to 1G (K, M, G suffixes), 0 for "
				"every call, not '%s'",
				cmd, arg);
			return -EINVAL;
		}
		o->alloc.rate = (unsigned int)v;
		return 0;
	case OPT_INUSE:
		o->alloc.inuse = true;
		return 0;
	case OPT_ALLOC_MAX_LIVE:
		return cli_uint_opt(cmd, "--alloc-max-live", arg, 16, 1 << 24,
				    &o->alloc.max_live);
	case OPT_ALLOC_LIB:
		o->alloc.libc = arg;
		return 0;
	case OPT_FAULTS_FREQ:
		return cli_uint_opt(cmd, "--faults-freq", arg, 1, 100000, &o->faults.freq);
	default: /* OPT_FAULTS_PERIOD */
		return cli_uint_opt(cmd, "--faults-period", arg, 1, 1000000, &o->faults.period);
	}
}

/* One shared option; 0, or -EINVAL after one line. */
static int session_opt(const struct cli_command *c, int opt, const char *arg,
		       struct session_opts *o, bool *probes_given)
{
	const char *cmd = c->name;
	int err = cli_output_opt(cmd, opt, arg, &o->out);

	if (err <= 0)
		return err;
	switch (opt) {
	case 'p':
	case 'd':
		return cli_target_opt(cmd, opt, arg, &o->t);
	case 'a':
		o->t.all = true;
		return 0;
	case 'e':
		*probes_given = true;
		return parse_probes(cmd, arg, &o->probes);
	case 'F':
		return cli_uint_opt(cmd, "-F", arg, 1, 100000, &o->cpu.freq);
	case 'f':
		return add_func(cmd, &o->uprobe, arg);
	case OPT_NO_KERNEL:
		o->cpu.kernel = false;
		return 0;
	case OPT_LOG_FORMAT:
		return cli_set_log_format(cmd, arg);
	case OPT_RING_SIZE:
		return parse_ring_size(cmd, arg,
				       c->ring_probe == SESSION_PROBE_CPU ? &o->cpu.ring_kib
				       : c->ring_probe == SESSION_PROBE_TLS ? &o->tls.ring_kib
									    : &o->uprobe.ring_kib);
	case OPT_MAX_PIDS:
		return cli_uint_opt(cmd, "--max-pids", arg, 1, 1 << 22, &o->cpu.max_pids);
	case OPT_CALL_GRAPH:
		if (parse_call_graph(arg, &o->cpu)) {
			log_err("%s: --call-graph takes 'fp', 'dwarf' or 'dwarf,BYTES' (a multiple "
				"of 8 up to 65536), not '%s'",
				cmd, arg);
			return -EINVAL;
		}
		return 0;
	case OPT_STACK_SIZE:
		if (parse_stack_size(arg, &o->cpu.stack_size)) {
			log_err("%s: --stack-size takes a multiple of 8 from 8 to 65536 bytes, not "
				"'%s'",
				cmd, arg);
			return -EINVAL;
		}
		return 0;
	case OPT_SPANS:
		if (!*arg) {
			log_err("%s: --spans takes a file name ('-' for stdout), not ''", cmd);
			return -EINVAL;
		}
		o->out.spans_path = arg;
		return 0;
	case OPT_MAX_PROBES:
		return cli_uint_opt(cmd, "--max-probes", arg, 1, 100000, &o->uprobe.max_probes);
	case OPT_MAX_DEPTH:
		return cli_uint_opt(cmd, "--max-depth", arg, 1, TRACE_MAX_DEPTH,
				    &o->uprobe.max_depth);
	case OPT_MAX_THREADS:
		if (cli_uint_opt(cmd, "--max-threads", arg, 1, TRACE_MAX_THREADS,
				 &o->uprobe.max_threads))
			return -EINVAL;
		o->tls.max_threads = o->uprobe.max_threads;
		return 0;
	case OPT_CAPTURE_CONTENT:
		o->tls.capture_content = true;
		return 0;
	case OPT_REDACT:
		if (o->tls.nredact == TLS_REDACT_MAX) {
			log_err("%s: at most %d --redact patterns", cmd, TLS_REDACT_MAX);
			return -EINVAL;
		}
		if (!*arg) {
			log_err("%s: --redact takes a POSIX extended regular expression, not ''", cmd);
			return -EINVAL;
		}
		o->tls.redact[o->tls.nredact++] = arg;
		return 0;
	case OPT_CONTENT_MAX:
		return cli_uint_opt(cmd, "--content-max", arg, 64, 16u << 20, &o->tls.content_max);
	case OPT_NO_PLAINTEXT:
		o->tls.plaintext = false;
		return 0;
	case OPT_MAX_CONNECTIONS:
		return cli_uint_opt(cmd, "--max-connections", arg, 16, 1 << 20,
				    &o->tls.max_connections);
	case OPT_LISTEN:
		return parse_listen(cmd, arg, &o->ex);
	case OPT_STATSD:
		if (check_hostport(arg, true)) {
			log_err("%s: --statsd takes HOST:PORT, e.g. 127.0.0.1:8125, not '%s'", cmd,
				arg);
			return -EINVAL;
		}
		o->ex.statsd = arg;
		return 0;
	case OPT_OTLP_ENDPOINT:
		if (check_url(arg)) {
			log_err("%s: --otlp-endpoint takes an http:// or https:// URL with a host "
				"and a port from 1 to 65535, e.g. http://127.0.0.1:4318, not '%s'",
				cmd, arg);
			return -EINVAL;
		}
		o->ex.otlp_endpoint = arg;
		return 0;
	case OPT_OTLP_QUEUE:
		return cli_uint_opt(cmd, "--otlp-queue", arg, 16, 1 << 20, &o->ex.otlp_queue);
	case OPT_EXPORT_INTERVAL:
		if (parse_seconds(arg, 0.1, 3600, &o->ex.export_interval_s)) {
			log_err("%s: --export-interval takes seconds or a duration from 0.1 to "
				"3600 s, not '%s'",
				cmd, arg);
			return -EINVAL;
		}
		return 0;
	case OPT_FLUSH_TIMEOUT:
		if (parse_seconds(arg, 0, 600, &o->ex.flush_timeout_s)) {
			log_err("%s: --flush-timeout takes seconds or a duration from 0 to 600 s, "
				"not '%s'",
				cmd, arg);
			return -EINVAL;
		}
		return 0;
	case OPT_MAX_SERIES:
		return cli_uint_opt(cmd, "--max-series", arg, 16, 1000000, &o->ex.max_series);
	case OPT_WATCH:
		o->uprobe.watch = true;
		return 0;
	case OPT_ANOMALY_DIR:
		o->anomaly_dir = arg;
		return 0;
	case OPT_ANOMALY_ALPHA:
		/* Above 0 and below 0.5. */
		if (parse_real(arg, DBL_MIN, nextafter(0.5, 0), &o->uprobe.anomaly_alpha)) {
			log_err("%s: --anomaly-alpha takes a probability above 0 and below 0.5 "
				"(false alarms per function and window), not '%s'",
				cmd, arg);
			return -EINVAL;
		}
		return 0;
	case OPT_ANOMALY_MIN_CHANGE:
		if (parse_real(arg, 0, 100, &o->uprobe.anomaly_min_change)) {
			log_err("%s: --anomaly-min-change takes a ratio from 0 to 100 (0.2: a "
				"percentile 20 %% slower), not '%s'",
				cmd, arg);
			return -EINVAL;
		}
		return 0;
	case OPT_SLOWER_THAN:
		if (cli_parse_duration_ns(arg, &o->uprobe.slower_than_ns) ||
		    !o->uprobe.slower_than_ns) {
			log_err("%s: --slower-than takes a duration from 1ns to 3600s with its unit "
				"(ns, us, ms, s), e.g. 50ms, not '%s'",
				cmd, arg);
			return -EINVAL;
		}
		return 0;
	case OPT_SLOWEST:
		return cli_uint_opt(cmd, "--slowest", arg, 1, TRACE_SLOWEST_MAX,
				    &o->uprobe.slowest);
	case OPT_MAX_HELD:
		return cli_uint_opt(cmd, "--max-held-samples", arg, 1, TRACE_MAX_HELD_MAX,
				    &o->uprobe.max_held);
	case OPT_INTERVAL:
		if (parse_seconds(arg, 0.1, 3600, &o->window_s)) {
			log_err("%s: --interval takes seconds or a duration from 0.1 to 3600 s, "
				"not '%s'",
				cmd, arg);
			return -EINVAL;
		}
		return 0;
	case OPT_OFFCPU_MIN:
	case OPT_OFFCPU_SAMPLE:
	case OPT_OFFCPU_MAX_PENDING:
	case OPT_ALLOC_RATE:
	case OPT_INUSE:
	case OPT_ALLOC_MAX_LIVE:
	case OPT_ALLOC_LIB:
	case OPT_FAULTS_PERIOD:
	case OPT_FAULTS_FREQ:
		return memprobe_opt(cmd, opt, arg, o);
	case OPT_LISTEN_ALLOW:
		return add_listen_allow(cmd, arg, &o->ex);
	case OPT_LISTEN_AUTH:
		o->ex.listen_auth = arg;
		return 0;
	case OPT_STATSD_FLAVOR:
		if (statsd_flavor_parse(arg, &o->ex.statsd_flavor)) {
			log_err("%s: --statsd-flavor takes 'statsd' or 'dogstatsd', not '%s'", cmd,
				arg);
			return -EINVAL;
		}
		return 0;
	case 'v':
		o->verbose++;
		return 0;
	default:
		return -EINVAL;
	}
}

/*
 * The tls probe's options: content only with it, OpenTelemetry's opt-in
 * variable for content, and its stacks (-o) unwound like the cpu probe's.
 */
static int check_tls(const struct cli_command *c, struct session_opts *o)
{
	const char *env = getenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT");
	struct tls_opts *t = &o->tls;

	if (env && !strcasecmp(env, "true"))
		t->capture_content = true;
	if (!(o->probes & SESSION_PROBE_TLS)) {
		if (t->nredact || t->content_max || !t->plaintext) {
			log_err("%s: --redact, --content-max and --no-plaintext are options of the "
				"tls probe: add -e tls (or use sonde llm)",
				c->name);
			return -EINVAL;
		}
		return 0;
	}
	if ((t->nredact || t->content_max) && !t->capture_content) {
		log_err("%s: --redact and --content-max shape captured content: add "
			"--capture-content",
			c->name);
		return -EINVAL;
	}
	t->stacks = o->out.n > 0;
	t->dwarf = o->cpu.call_graph == CALL_GRAPH_DWARF;
	t->stack_size = o->cpu.stack_size;
	return 0;
}

/* --slower-than, --slowest and --max-held-samples: what they need. */
static int check_slow_calls(const char *cmd, const struct session_opts *o)
{
	bool filter = o->uprobe.slower_than_ns || o->uprobe.slowest;

	if (filter && !(o->probes & SESSION_PROBE_UPROBE)) {
		log_err("%s: --slower-than and --slowest keep the stacks of slow calls of traced "
			"functions: add -f TARGET:FUNCTION",
			cmd);
		return -EINVAL;
	}
	if (filter && !(o->probes & SESSION_PROBES_STACKS)) {
		log_err("%s: --slower-than and --slowest keep the stacks of slow calls: add -e cpu "
			"(or offcpu, alloc, faults)",
			cmd);
		return -EINVAL;
	}
	if (filter && (o->probes & SESSION_PROBE_ALLOC) && o->alloc.inuse) {
		log_err("%s: --inuse follows every sampled block to its free, which --slower-than "
			"and --slowest would drop: leave one out",
			cmd);
		return -EINVAL;
	}
	if (!filter && o->uprobe.max_held != TRACE_MAX_HELD) {
		log_err("%s: --max-held-samples bounds what --slower-than and --slowest hold: add "
			"one of them",
			cmd);
		return -EINVAL;
	}
	return 0;
}

/* What no single option can check. */
static int check_session(const struct cli_command *c, struct session_opts *o)
{
	const char *cmd = c->name;
	int err;

	err = cli_check_target(cmd, &o->t);
	if (err)
		return err;
	if (o->uprobe.nfuncs)
		o->probes |= SESSION_PROBE_UPROBE;
	if (!o->probes) {
		log_err("%s: nothing to trace: give -f TARGET:FUNCTION, e.g. -f libc:malloc "
			"(see sonde %s --help)",
			cmd, cmd);
		return -EINVAL;
	}
	if ((o->probes & SESSION_PROBE_UPROBE) && !o->uprobe.nfuncs) {
		log_err("%s: the uprobe probe needs functions: give -f TARGET:FUNCTION", cmd);
		return -EINVAL;
	}
	if (o->window_s > 0 && c->default_interval_s <= 0 && !o->uprobe.watch) {
		log_err("%s: --interval is the window of a live view (sonde top, --watch)", cmd);
		return -EINVAL;
	}
	if (o->uprobe.watch && !(o->probes & SESSION_PROBE_UPROBE)) {
		log_err("%s: --watch looks for latency anomalies of traced functions: add -f "
			"TARGET:FUNCTION",
			cmd);
		return -EINVAL;
	}
	if (o->anomaly_dir && !o->uprobe.watch) {
		log_err("%s: --anomaly-dir holds the flame graphs of --watch's anomalies: add "
			"--watch",
			cmd);
		return -EINVAL;
	}
	if (o->anomaly_dir && !(o->probes & (SESSION_PROBE_CPU | SESSION_PROBE_OFFCPU))) {
		log_err("%s: --anomaly-dir draws the anomaly's differential flame graph from CPU "
			"or off-CPU samples: add -e cpu or -e offcpu",
			cmd);
		return -EINVAL;
	}
	if (o->anomaly_dir && (o->probes & SESSION_PROBE_ALLOC)) {
		log_err("%s: --anomaly-dir cannot go with -e alloc (its live bytes span windows)",
			cmd);
		return -EINVAL;
	}
	/* --watch compares windows: 10 s each unless --interval says. */
	if (o->uprobe.watch && o->window_s <= 0)
		o->window_s = WATCH_INTERVAL_S;
	if (c->default_interval_s > 0 && (o->out.n || o->out.spans_path)) {
		log_err("%s: a live view writes no files: use sonde record -o", cmd);
		return -EINVAL;
	}
	if (o->out.n && !(o->probes & (SESSION_PROBES_STACKS | SESSION_PROBE_TLS))) {
		log_err("%s: -o writes a stack profile: add -e cpu, offcpu, alloc, faults or tls", cmd);
		return -EINVAL;
	}
	if ((o->ex.nlisten_allow || o->ex.listen_auth) && !o->ex.listen) {
		log_err("%s: --listen-allow and --listen-auth protect --listen: add --listen ADDR:PORT",
			cmd);
		return -EINVAL;
	}
	err = check_slow_calls(cmd, o);
	if (err)
		return err;
	if (o->out.spans_path && !(o->probes & (SESSION_PROBE_UPROBE | SESSION_PROBE_TLS))) {
		log_err("%s: --spans writes the calls of traced functions: add -f TARGET:FUNCTION",
			cmd);
		return -EINVAL;
	}
	return check_tls(c, o);
}

int cli_parse_session(const struct cli_command *c, int argc, char **argv,
		      struct session_opts *o)
{
	static const struct option longopts[] = {
		CLI_SESSION_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	bool probes_given = false;
	int opt, err;

	session_opts_init(o, c->name);
	o->window_s = c->default_interval_s;
	o->out.cmdline = cli_command_line(argc, argv);
	if (!o->out.cmdline)
		return -ENOMEM;
	optind = 0; /* glibc: full reset, so the parser can run more than once */
	opterr = 0;
	/* '+': stop at the first non-option, which starts CMD. */
	while ((opt = getopt_long(argc, argv, CLI_SHORT_OPTS, longopts, NULL)) != -1) {
		if (opt == 'h') {
			c->usage(stdout);
			err = CLI_EXIT_HELP;
			goto err_free;
		}
		if (opt == '?') {
			cli_report_bad_option(c->name, CLI_VALUE_OPTS, argv);
			err = -EINVAL;
			goto err_free;
		}
		err = session_opt(c, opt, optarg, o, &probes_given);
		if (err)
			goto err_free;
	}
	if (optind < argc)
		o->t.cmd = &argv[optind];
	if (!probes_given)
		o->probes = c->default_probes;
	err = cli_output_finish(c->name, &o->out);
	if (!err)
		err = check_session(c, o);
	if (err)
		goto err_free;
	return 0;

err_free:
	session_opts_free(o);
	return err;
}

static const char output_help[] =
	"  -o, --output FILE       .folded (folded stacks), .svg (flame graph),\n"
	"                          .pb.gz (pprof); repeat -o to write one profile in\n"
	"                          several formats; -o - writes to stdout (--format);\n"
	"                          without -o print the hottest functions\n";
static const char svg_help[] =
	"      --format FMT        format of -o -: folded (default), svg or pprof\n"
	"      --top N             rows in the hottest-functions table (default 20);\n"
	"                          printed with -o too when given\n"
	"      --title TEXT        SVG title (default \"CPU flame graph\")\n"
	"      --width PIXELS      SVG width, 200-100000 (default 1200)\n"
	"      --inverted          SVG icicle graph: the root at the top\n";

void cli_usage_output(FILE *f, bool with_o)
{
	if (with_o)
		fputs(output_help, f);
	fputs(svg_help, f);
}

void cli_usage_common(FILE *f)
{
	fprintf(f,
		"probes (-e, the same in every command; -f adds uprobe):\n"
		"  -e, --probe LIST      probes to run, separated by commas: %s\n"
		"\n"
		"cpu probe (sampling):\n"
		"  -F, --freq HZ           sampling frequency per CPU (default 99, max 100000)\n"
		"      --no-kernel         leave out kernel stacks\n"
		"      --call-graph MODE   how user stacks are walked: 'dwarf' (default: copy\n"
		"                          the stack, unwind it with .eh_frame; works without\n"
		"                          frame pointers) or 'fp' (frame pointers, cheaper);\n"
		"                          'dwarf,BYTES' also sets --stack-size\n"
		"      --stack-size BYTES  user stack copied per sample in dwarf mode, a\n"
		"                          multiple of 8 up to 65536 (default 16384)\n"
		"      --max-pids N        size of the in-kernel PID filter (default 8192)\n"
		"\n"
		"offcpu probe (time blocked or waiting to run, from the scheduler):\n"
		"      --offcpu-min DURATION  waits shorter are counted, not stacked (default\n"
		"                        1ms; units ns, us, ms, s)\n"
		"      --offcpu-sample P  keep a longer wait of d with probability\n"
		"                        min(1, P x d / --offcpu-min), weighted to stay exact on\n"
		"                        average: every wait of --offcpu-min / P or more is kept\n"
		"                        (default 1: all)\n"
		"      --offcpu-max-pending N  waits awaiting their user stack at once (default\n"
		"                        4096)\n"
		"\n"
		"alloc probe (malloc, calloc, realloc, posix_memalign, aligned_alloc, valloc;\n"
		"C++ new/delete through them), -p or -- CMD only:\n"
		"      --alloc-rate BYTES  sample one allocation per BYTES on average, per "
		"thread,\n"
		"                        weighted S/(1-e^(-S/BYTES)) (default 512K); 0: every "
		"call\n"
		"      --inuse           also probe free: bytes still live at the end by stack\n"
		"                        (inuse_space/inuse_objects and a leak report, largest\n"
		"                        first, with ages)\n"
		"      --alloc-max-live N  sampled blocks followed at once with --inuse (default\n"
		"                        65536)\n"
		"      --alloc-lib FILE  the allocator (default: the target's libc)\n"
		"\n"
		"faults probe (page faults with stacks):\n"
		"      --faults-period N  one sample per N faults (default 1: every fault)\n"
		"      --faults-freq HZ  about HZ samples a second per CPU instead, each\n"
		"                        weighing the period the kernel chose (bounded cost on\n"
		"                        a host faulting heavily; the agent's default, 1000)\n"
		"\n"
		"outputs (the stack profile):\n"
		"%s%s"
		"  With several sample types (-e cpu,offcpu,alloc,faults), -o X.pb.gz holds\n"
		"  every one (samples/count + cpu/nanoseconds, off_cpu/nanoseconds,\n"
		"  alloc_space/bytes, alloc_objects/count, inuse_space/bytes,\n"
		"  inuse_objects/count, page_faults/count); -o X.svg and -o X.folded write the\n"
		"  first type to X and each other one to X.TYPE.svg (cpu.svg, cpu.off_cpu.svg)\n"
		"\n"
		"uprobe probe (function timing):\n"
		"  -f, --func TARGET:FUNCTION  function to time (repeatable). TARGET is a path\n"
		"                        to an executable or library, or a short name resolved\n"
		"                        in the target: 'libc', 'libssl', the program's own\n"
		"                        name. FUNCTION is a symbol or a glob ('db_*'). On\n"
		"                        exit: per function the call count, p50/p90/p99/max\n"
		"                        latency and a log2 histogram\n"
		"      --spans FILE      write one JSON span per completed call to FILE\n"
		"                        (nested calls on a thread share a trace)\n"
		"      --max-probes N    most functions one glob may attach to (default 64)\n"
		"      --max-depth N     nested probed calls timed per thread, 1-%d (default %d);\n"
		"                        deeper calls (recursion) are counted, not timed\n"
		"      --watch           compare each window's latency histogram of every\n"
		"                        function with a baseline of the previous ones (a\n"
		"                        t-test on its p50/p90/p99 levels): a slower window\n"
		"                        is logged and shows in sonde_latency_anomaly\n"
		"      --interval SECS   the window of --watch (default 10), 0.1-3600\n"
		"      --anomaly-alpha P  false alarms per function and window when nothing\n"
		"                        changes (default 0.001)\n"
		"      --anomaly-min-change R  the least change of a percentile that counts\n"
		"                        as a ratio (default 0.2: 20 %% slower; 0: any)\n"
		"      --anomaly-dir DIR  with -e cpu or -e offcpu: for each anomalous window,\n"
		"                        its differential flame graph against the baseline's\n"
		"                        windows (red grew, blue shrank, as sonde diff) in\n"
		"                        DIR/anomaly-STAMP.svg, with anomaly-STAMP.folded\n"
		"                        (\"stack BEFORE AFTER\"); STAMP: the window's start\n"
		"                        (UTC). With --otlp-endpoint an anomaly is also an\n"
		"                        OTLP log record (severity WARN) on /v1/logs\n"
		"      --max-threads N   threads with probed calls tracked at once, up to 65536\n"
		"                        (default 4096; ~1 KiB of kernel memory each)\n"
		"  With a stack probe (-e cpu,offcpu,...), each sample taken in a probed call\n"
		"  carries the call (pprof labels span_id, trace_id, function; the innermost\n"
		"  call when they nest), and each span its counts (sonde.samples.cpu,\n"
		"  sonde.samples.off_cpu_ns, ...):\n"
		"      --slower-than DURATION  the profile holds only the samples of calls at\n"
		"                        least DURATION long (units ns, us, ms, s), with those\n"
		"                        of their faster probed callees\n"
		"      --slowest N       only those of the N slowest calls (of --slower-than,\n"
		"                        if given), 1-%d\n"
		"      --max-held-samples N  samples held at once awaiting their call's end, or\n"
		"                        in the N slowest (default %d); beyond, dropped and\n"
		"                        counted\n"
		"\n"
		"tls probe (LLM API calls, the default of sonde llm):\n"
		"      --capture-content  export prompts and completions as\n"
		"                        gen_ai.input.messages/gen_ai.output.messages, redacted\n"
		"                        (keys, tokens, e-mail addresses, card numbers...);\n"
		"                        also on with OTEL_INSTRUMENTATION_GENAI_CAPTURE_\n"
		"                        MESSAGE_CONTENT=true. Off: no text ever leaves sonde\n"
		"      --redact ERE      also redact what this POSIX extended regular expression\n"
		"                        matches (repeatable, up to 16)\n"
		"      --content-max BYTES  content kept per call and direction (default 65536)\n"
		"      --no-plaintext    only TLS: leave out plaintext HTTP on TCP sockets\n"
		"      --max-connections N  connections followed at once (default 4096)\n"
		"\n"
		"exporters (off by default; none of them ever slows the collection down):\n"
		"      --listen ADDR:PORT  serve Prometheus /metrics (and /healthz) on ADDR:PORT;\n"
		"                        a bare PORT binds 127.0.0.1; ':PORT' binds EVERY\n"
		"                        interface, so anyone who reaches the host reads what\n"
		"                        the targets do: add --listen-allow or --listen-auth\n"
		"                        (e.g. --listen 9464). Latency histograms\n"
		"                        (sonde_function_duration_seconds, log2 buckets\n"
		"                        256 ns-34 s), calls, samples, the targets' CPU,\n"
		"                        memory, faults and context switches\n"
		"                        (sonde_target_*), sonde's own process_* and\n"
		"                        sonde_build_info, its event/drop/export-error\n"
		"                        counters; updated 1/s. At most %d connections, %d\n"
		"                        from one address, closed after %d s idle\n"
		"      --listen-allow CIDR  only these clients (repeatable, e.g. 10.0.0.0/8,\n"
		"                        127.0.0.1, ::1); others get 403\n"
		"      --listen-auth FILE  HTTP basic auth for /metrics (401 without it): lines\n"
		"                        USER:HASH, HASH from 'openssl passwd -6' or\n"
		"                        'htpasswd -nB'; '#' comments. FILE must not be\n"
		"                        readable by other users (chmod 600)\n"
		"      --statsd HOST:PORT  send counters and histograms over UDP with\n"
		"                        DogStatsD tags every --export-interval and at exit;\n"
		"                        latencies as timings with sample rates\n"
		"      --statsd-flavor statsd|dogstatsd  timings as '|ms' (Etsy's statsd,\n"
		"                        Telegraf; the default) or as '|d' distributions\n"
		"                        (Datadog's agent)\n"
		"      --otlp-endpoint URL  push spans (as they complete) and metrics (every\n"
		"                        --export-interval, and at exit) over OTLP/HTTP\n"
		"                        protobuf to URL/v1/traces and URL/v1/metrics. Also\n"
		"                        on when OTEL_EXPORTER_OTLP_ENDPOINT (or _TRACES_/\n"
		"                        _METRICS_ENDPOINT) is set; OTEL_SERVICE_NAME,\n"
		"                        OTEL_RESOURCE_ATTRIBUTES, OTEL_EXPORTER_OTLP_HEADERS,\n"
		"                        _TIMEOUT and _CERTIFICATE are honored\n"
		"      --otlp-queue N    spans held for OTLP while the endpoint is slow or\n"
		"                        down, 16-1048576 (default %d); beyond, spans are\n"
		"                        dropped and counted. Failed requests are retried\n"
		"                        with backoff (0.5 s doubling to 30 s) for 60 s;\n"
		"                        a Retry-After from the collector is obeyed\n"
		"      --export-interval SECS  StatsD and OTLP metrics period, 0.1-3600\n"
		"                        (default %g); failing exporters are reported once\n"
		"                        per interval\n"
		"      --flush-timeout SECS  on exit (end, -d, SIGINT/SIGTERM) wait at most\n"
		"                        SECS for OTLP to deliver what is queued, 0-600\n"
		"                        (default %g); one more SIGINT/SIGTERM ends it\n"
		"      --max-series N    metric series kept, 16-1000000 (default %d); more\n"
		"                        are refused and counted in\n"
		"                        sonde_metrics_series_dropped_total\n"
		"\n"
		"      --log-format text|json  log lines as text (default) or JSON objects\n"
		"                        with OTLP's LogRecord fields (timeUnixNano,\n"
		"                        severityNumber, severityText, body, attributes)\n"
		"  -v, --verbose         more detail (-vv: libbpf debug output)\n"
		"  -h, --help            this help\n",
		session_probe_names(), output_help, svg_help, TRACE_MAX_DEPTH, TRACE_MAX_DEPTH,
		TRACE_SLOWEST_MAX, TRACE_MAX_HELD, PROM_MAX_CONNECTIONS, PROM_PER_IP_CONNECTIONS,
		PROM_CONNECTION_TIMEOUT_S, EXPORT_OTLP_QUEUE, EXPORT_INTERVAL_S,
		EXPORT_FLUSH_TIMEOUT_S, EXPORT_MAX_SERIES);
}

void files_opts_free(struct files_opts *o)
{
	free(o->out.cmdline);
	o->out.cmdline = NULL;
}

static int files_opt(const struct files_command *c, int opt, const char *arg, struct files_opts *o)
{
	int err = cli_output_opt(c->name, opt, arg, &o->out);

	if (err <= 0)
		return err;
	switch (opt) {
	case OPT_SAMPLE_TYPE:
		o->sample_type = arg;
		return 0;
	case 'n':
		if (!c->diff) {
			log_err("%s: -n (--normalize) is for sonde diff", c->name);
			return -EINVAL;
		}
		o->normalize = true;
		return 0;
	case OPT_LOG_FORMAT:
		return cli_set_log_format(c->name, arg);
	case 'v':
		o->verbose++;
		return 0;
	default:
		return -EINVAL;
	}
}

/* A difference is written as a flame graph or as two-count folded stacks. */
static int check_diff_outputs(const char *cmd, const struct output_opts *o)
{
	for (unsigned int i = 0; i < o->n; i++) {
		if (o->formats[i] != OUT_PPROF)
			continue;
		log_err("%s: cannot write '%s': a difference is written as .svg or .folded "
			"(for pprof, give both files to go tool pprof -diff_base)",
			cmd, o->paths[i]);
		return -EINVAL;
	}
	return 0;
}

int cli_parse_files(const struct files_command *c, int argc, char **argv, struct files_opts *o)
{
	static const struct option longopts[] = {
		{"output", required_argument, NULL, 'o'},
		CLI_OUTPUT_LONGOPTS,
		{"sample-type", required_argument, NULL, OPT_SAMPLE_TYPE},
		{"normalize", no_argument, NULL, 'n'},
		{"log-format", required_argument, NULL, OPT_LOG_FORMAT},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int opt, err;

	memset(o, 0, sizeof(*o));
	o->command = c->name;
	o->out.top = 20;
	/* Before getopt, which reorders argv. */
	o->out.cmdline = cli_command_line(argc, argv);
	if (!o->out.cmdline)
		return -ENOMEM;
	optind = 0;
	opterr = 0;
	/* Options may follow the files: "sonde report cpu.pb.gz -o cpu.svg". */
	while ((opt = getopt_long(argc, argv, "o:nvh", longopts, NULL)) != -1) {
		if (opt == 'h') {
			c->usage(stdout);
			err = CLI_EXIT_HELP;
			goto err_free;
		}
		if (opt == '?') {
			cli_report_bad_option(c->name, "o", argv);
			err = -EINVAL;
			goto err_free;
		}
		err = files_opt(c, opt, optarg, o);
		if (err)
			goto err_free;
	}
	if ((unsigned int)(argc - optind) != c->ninputs) {
		log_err("%s: give %s, got %d argument%s (see sonde %s --help)", c->name,
			c->inputs_usage, argc - optind,
			plural_s((unsigned long long)(argc - optind)), c->name);
		err = -EINVAL;
		goto err_free;
	}
	for (unsigned int i = 0; i < c->ninputs; i++)
		o->inputs[o->ninputs++] = argv[optind + i];
	err = cli_output_finish(c->name, &o->out);
	if (!err && c->diff)
		err = check_diff_outputs(c->name, &o->out);
	if (err)
		goto err_free;
	return 0;

err_free:
	files_opts_free(o);
	return err;
}

void cli_usage_files(FILE *f, bool with_o)
{
	cli_usage_output(f, with_o);
	fputs("      --sample-type NAME  the pprof sample type to read (default: the\n"
	      "                          first, e.g. samples; folded stacks have one)\n"
	      "      --log-format text|json  log lines as text (default) or JSON objects\n"
	      "  -v, --verbose           more detail\n"
	      "  -h, --help              this help\n",
	      f);
}

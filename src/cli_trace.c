// SPDX-License-Identifier: MIT
/* The `sonde trace` parser. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sonde/cli.h"
#include "sonde/hostport.h"
#include "sonde/log.h"

enum {
	OPT_SPANS = 256,
	OPT_MAX_PROBES,
	OPT_MAX_DEPTH,
	OPT_MAX_THREADS,
	OPT_RING_SIZE,
	OPT_LISTEN,
	OPT_STATSD,
	OPT_OTLP_ENDPOINT,
	OPT_OTLP_QUEUE,
	OPT_EXPORT_INTERVAL,
	OPT_FLUSH_TIMEOUT,
	OPT_MAX_SERIES,
	OPT_LOG_FORMAT,
};

/* Decimal seconds within [min, max] ("0", "2.5"); 0 or -EINVAL. */
static int parse_seconds(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	/* !(v >= min): NaN fails too. */
	if (errno || end == s || *end || !(v >= min) || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static void trace_usage(FILE *f)
{
	fprintf(f,
		"usage: sonde trace -f TARGET:FUNCTION [-f ...] [options] (-p PID[,PID...] | -- "
		"CMD "
		"[ARGS...])\n"
		"\n"
		"Time functions through uprobes: on exit, print per function the call count,\n"
		"p50/p90/p99/max latency and a log2 histogram; optionally write every call as\n"
		"an OTLP-style JSON span (nested calls on a thread share a trace).\n"
		"\n"
		"  -f, --func TARGET:FUNCTION  function to time (repeatable). TARGET is a path to "
		"an\n"
		"                        executable or library, or a short name resolved in the\n"
		"                        target: 'libc', 'libssl', the program's own name.\n"
		"                        FUNCTION is a symbol or a glob ('db_*').\n"
		"  -p, --pid PID[,PID]   trace running processes\n"
		"  -d, --duration SECS   stop after SECS seconds (default: until Ctrl-C or exit)\n"
		"      --spans FILE      write one JSON span per completed call to FILE\n"
		"      --max-probes N    most functions one glob may attach to (default 64)\n"
		"      --max-depth N     nested probed calls timed per thread, 1-%d (default %d);\n"
		"                        deeper calls (recursion) are counted, not timed\n"
		"      --max-threads N   threads with probed calls tracked at once (default 4096)\n"
		"      --ring-size KiB   span ring buffer, power of two (default 4096)\n"
		"\n"
		"exporters (off by default; none of them ever slows the tracing down):\n"
		"      --listen ADDR:PORT  serve Prometheus /metrics (and /healthz) on ADDR:PORT;\n"
		"                        a bare PORT binds 127.0.0.1, ':PORT' every interface\n"
		"                        (e.g. --listen 9464). Latency histograms\n"
		"                        (sonde_function_duration_seconds, log2 buckets\n"
		"                        256 ns-34 s), calls, the targets' CPU and memory,\n"
		"                        sonde's event/drop/export-error counters; updated 1/s\n"
		"      --statsd HOST:PORT  send counters and histograms over UDP with\n"
		"                        DogStatsD tags every --export-interval and at exit\n"
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
		"                        with backoff (0.5 s doubling to 30 s) for 60 s\n"
		"      --export-interval SECS  StatsD and OTLP metrics period, 0.1-3600\n"
		"                        (default %g); failing exporters are reported once\n"
		"                        per interval\n"
		"      --flush-timeout SECS  on exit (end, -d, SIGINT/SIGTERM) wait at most\n"
		"                        SECS for OTLP to deliver what is queued, 0-600\n"
		"                        (default %g)\n"
		"      --max-series N    metric series kept, 16-1000000 (default %d); more\n"
		"                        are refused and counted in\n"
		"                        sonde_metrics_series_dropped_total\n"
		"      --log-format text|json  log lines as text (default) or JSON objects\n"
		"                        with OTLP's LogRecord fields (timeUnixNano,\n"
		"                        severityNumber, severityText, body, attributes)\n"
		"\n"
		"  -v, --verbose         more detail (-vv: libbpf debug output)\n"
		"  -h, --help            this help\n"
		"\n"
		"Libraries loaded later with dlopen() are covered: probes attach to the file.\n"
		"\n"
		"examples:\n"
		"  sonde trace -p 4242 -f /usr/bin/myprog:handle_request -f libc:malloc -d 30\n"
		"  sonde trace -f 'myprog:db_*' --spans spans.jsonl -- ./myprog\n"
		"  sonde trace -p 4242 -f libc:malloc --listen 9464 \\\n"
		"      --otlp-endpoint http://127.0.0.1:4318 --statsd 127.0.0.1:8125\n",
		TRACE_MAX_DEPTH, TRACE_MAX_DEPTH, TRACE_OTLP_QUEUE, TRACE_EXPORT_INTERVAL_S,
		TRACE_FLUSH_TIMEOUT_S, TRACE_MAX_SERIES);
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
static int parse_listen(const char *arg, struct trace_opts *o)
{
	unsigned int port;

	if (!cli_parse_uint(arg, 0, 65535, &port)) {
		snprintf(o->listen_buf, sizeof(o->listen_buf), "127.0.0.1:%u", port);
		o->listen = o->listen_buf;
		return 0;
	}
	if (check_hostport(arg, false)) {
		log_err("trace: --listen takes ADDR:PORT, :PORT or PORT, e.g. 127.0.0.1:9464, "
			"not '%s'",
			arg);
		return -EINVAL;
	}
	o->listen = arg;
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

static int add_func(struct trace_opts *o, const char *arg)
{
	struct trace_func_spec *grown;
	int err;

	grown = realloc(o->funcs, (o->nfuncs + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	o->funcs = grown;
	err = trace_func_spec_parse(arg, &o->funcs[o->nfuncs]);
	if (err == -EINVAL)
		log_err("trace: cannot parse -f '%s': expected TARGET:FUNCTION, e.g. "
			"/usr/bin/myprog:handle_request or libc:malloc",
			arg);
	if (err)
		return err;
	o->nfuncs++;
	return 0;
}

int cli_parse_trace(int argc, char **argv, struct trace_opts *o)
{
	static const struct option longopts[] = {
		{"pid", required_argument, NULL, 'p'},
		{"func", required_argument, NULL, 'f'},
		{"duration", required_argument, NULL, 'd'},
		{"spans", required_argument, NULL, OPT_SPANS},
		{"max-probes", required_argument, NULL, OPT_MAX_PROBES},
		{"max-depth", required_argument, NULL, OPT_MAX_DEPTH},
		{"max-threads", required_argument, NULL, OPT_MAX_THREADS},
		{"ring-size", required_argument, NULL, OPT_RING_SIZE},
		{"listen", required_argument, NULL, OPT_LISTEN},
		{"statsd", required_argument, NULL, OPT_STATSD},
		{"otlp-endpoint", required_argument, NULL, OPT_OTLP_ENDPOINT},
		{"otlp-queue", required_argument, NULL, OPT_OTLP_QUEUE},
		{"export-interval", required_argument, NULL, OPT_EXPORT_INTERVAL},
		{"flush-timeout", required_argument, NULL, OPT_FLUSH_TIMEOUT},
		{"max-series", required_argument, NULL, OPT_MAX_SERIES},
		{"log-format", required_argument, NULL, OPT_LOG_FORMAT},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c, err;

	memset(o, 0, sizeof(*o));
	o->max_probes = 64;
	o->max_depth = TRACE_MAX_DEPTH;
	o->max_threads = 4096;
	o->ring_kib = 4096;
	o->otlp_queue = TRACE_OTLP_QUEUE;
	o->export_interval_s = TRACE_EXPORT_INTERVAL_S;
	o->flush_timeout_s = TRACE_FLUSH_TIMEOUT_S;
	o->max_series = TRACE_MAX_SERIES;
	optind = 0; /* glibc: full reset, so the parser can run more than once */
	opterr = 0;
	/* '+': stop at the first non-option, which starts CMD. */
	while ((c = getopt_long(argc, argv, "+p:f:d:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
		case 'd':
			err = cli_target_opt("trace", c, optarg, &o->t);
			if (err)
				goto err_free;
			break;
		case 'f':
			err = add_func(o, optarg);
			if (err)
				goto err_free;
			break;
		case OPT_SPANS:
			o->spans_path = optarg;
			break;
		case OPT_MAX_PROBES:
			err = cli_uint_opt("trace", "--max-probes", optarg, 1, 100000,
					   &o->max_probes);
			if (err)
				goto err_free;
			break;
		case OPT_MAX_DEPTH:
			err = cli_uint_opt("trace", "--max-depth", optarg, 1, TRACE_MAX_DEPTH,
					   &o->max_depth);
			if (err)
				goto err_free;
			break;
		case OPT_MAX_THREADS:
			err = cli_uint_opt("trace", "--max-threads", optarg, 1, 1 << 22,
					   &o->max_threads);
			if (err)
				goto err_free;
			break;
		case OPT_RING_SIZE:
			if (cli_parse_uint(optarg, 4, 1024 * 1024, &o->ring_kib) ||
			    (o->ring_kib & (o->ring_kib - 1))) {
				log_err("trace: --ring-size takes a power of two in KiB from 4 to "
					"1048576, not '%s'",
					optarg);
				err = -EINVAL;
				goto err_free;
			}
			break;
		case OPT_LISTEN:
			err = parse_listen(optarg, o);
			if (err)
				goto err_free;
			break;
		case OPT_STATSD:
			if (check_hostport(optarg, true)) {
				log_err("trace: --statsd takes HOST:PORT, e.g. 127.0.0.1:8125, not "
					"'%s'",
					optarg);
				err = -EINVAL;
				goto err_free;
			}
			o->statsd = optarg;
			break;
		case OPT_OTLP_ENDPOINT:
			if (strncmp(optarg, "http://", 7) && strncmp(optarg, "https://", 8)) {
				log_err("trace: --otlp-endpoint takes an http:// or https:// URL, "
					"e.g. http://127.0.0.1:4318, not '%s'",
					optarg);
				err = -EINVAL;
				goto err_free;
			}
			o->otlp_endpoint = optarg;
			break;
		case OPT_OTLP_QUEUE:
			err = cli_uint_opt("trace", "--otlp-queue", optarg, 16, 1 << 20,
					   &o->otlp_queue);
			if (err)
				goto err_free;
			break;
		case OPT_EXPORT_INTERVAL:
			if (parse_seconds(optarg, 0.1, 3600, &o->export_interval_s)) {
				log_err("trace: --export-interval takes seconds from 0.1 to 3600, "
					"not '%s'",
					optarg);
				err = -EINVAL;
				goto err_free;
			}
			break;
		case OPT_FLUSH_TIMEOUT:
			if (parse_seconds(optarg, 0, 600, &o->flush_timeout_s)) {
				log_err("trace: --flush-timeout takes seconds from 0 to 600, not "
					"'%s'",
					optarg);
				err = -EINVAL;
				goto err_free;
			}
			break;
		case OPT_MAX_SERIES:
			err = cli_uint_opt("trace", "--max-series", optarg, 16, 1000000,
					   &o->max_series);
			if (err)
				goto err_free;
			break;
		case OPT_LOG_FORMAT:
			err = cli_set_log_format("trace", optarg);
			if (err)
				goto err_free;
			break;
		case 'v':
			o->verbose++;
			break;
		case 'h':
			trace_usage(stdout);
			err = CLI_EXIT_HELP;
			goto err_free;
		case '?':
		default:
			cli_report_bad_option("trace", "pfd", argv);
			err = -EINVAL;
			goto err_free;
		}
	}
	if (optind < argc)
		o->t.cmd = &argv[optind];
	err = cli_check_target("trace", &o->t);
	if (err)
		goto err_free;
	if (!o->nfuncs) {
		log_err("trace: nothing to trace: give -f TARGET:FUNCTION, e.g. -f libc:malloc "
			"(see sonde trace --help)");
		err = -EINVAL;
		goto err_free;
	}
	return 0;

err_free:
	trace_opts_free(o);
	return err;
}

void trace_opts_free(struct trace_opts *o)
{
	for (int i = 0; i < o->nfuncs; i++) {
		free(o->funcs[i].target);
		free(o->funcs[i].func);
	}
	free(o->funcs);
	o->funcs = NULL;
	o->nfuncs = 0;
	free(o->t.pids);
	o->t.pids = NULL;
	o->t.npids = 0;
}

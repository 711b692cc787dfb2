// SPDX-License-Identifier: MIT
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "export/otlp.h"
#include "export/prom.h"
#include "export/statsd.h"
#include "model/metrics.h"
#include "session/exporters.h"
#include "session/procstat.h"
#include "session/runloop.h"

#define M_REFUSED "sonde_metrics_requests_refused_total"

/* Exporter failure counters, to report what changed in each interval. */
struct export_tally {
	uint64_t otlp_failed;	    /* requests */
	uint64_t otlp_spans_lost;   /* dropped: queue full, rejected, given up */
	uint64_t otlp_metrics_lost; /* snapshots */
	uint64_t otlp_logs_lost;    /* log records */
	uint64_t statsd_errors;	    /* packets */
	uint64_t statsd_dropped;    /* lines */
};

struct exporters {
	const struct export_opts *o;
	const char *cmd;
	struct metrics *metrics;
	struct metrics *self; /* sonde's own process_*, for /metrics alone */
	struct prom_server *prom;
	struct statsd *statsd;
	struct otlp *otlp;
	struct export_tally reported; /* failure counters at the last report */
	unsigned int signals_at_flush; /* SIGINT/SIGTERM seen when the final flush began */
	bool finished;		       /* the final flush is over */
};

void export_opts_default(struct export_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->otlp_queue = EXPORT_OTLP_QUEUE;
	o->export_interval_s = EXPORT_INTERVAL_S;
	o->flush_timeout_s = EXPORT_FLUSH_TIMEOUT_S;
	o->max_series = EXPORT_MAX_SERIES;
}

bool export_otlp_wanted(const struct export_opts *o)
{
	static const char *const vars[] = {
		"OTEL_EXPORTER_OTLP_ENDPOINT",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
		"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
	};

	if (o->otlp_endpoint)
		return true;
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *v = getenv(vars[i]);

		if (v && *v)
			return true;
	}
	return false;
}

static int declare_families(struct exporters *x)
{
	static const struct {
		const char *name, *help;
	} fams[] = {
		{M_EXPORT_ERRORS, "Failed export attempts (OTLP and Pyroscope requests, StatsD "
				  "packets, window files not written)."},
		{M_EXPORT_DROPPED, "Data an exporter gave up on (OTLP spans or metric exports, "
				   "StatsD lines, profile windows)."},
		{M_REFUSED,
		 "Requests to /metrics refused: code 403 (not in --listen-allow), 401 (no or a "
		 "wrong password for --listen-auth)."},
	};
	int err;

	for (size_t i = 0; i < sizeof(fams) / sizeof(fams[0]); i++) {
		err = metrics__declare(x->metrics, fams[i].name, METRIC_COUNTER, fams[i].help,
				       NULL, 0);
		if (err) {
			log_err("%s: failed to declare metric %s: %s", x->cmd, fams[i].name,
				strerror(-err));
			return err;
		}
	}
	return 0;
}

int exporters__new(const struct export_opts *o, const char *cmd, struct exporters **out)
{
	struct exporters *x;
	int err;

	*out = NULL;
	if (!o->listen && !o->statsd && !export_otlp_wanted(o))
		return 0;
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->o = o;
	x->cmd = cmd;
	x->metrics = metrics__new(o->max_series);
	if (!x->metrics) {
		log_err("%s: failed to create the metrics registry: %s", cmd, strerror(ENOMEM));
		err = -ENOMEM;
		goto err_free;
	}
	err = declare_families(x);
	if (err)
		goto err_free;
	if (o->listen) {
		struct prom_server_opts po = {
			.listen = o->listen,
			.metrics = x->metrics,
			.allow = o->listen_allow,
			.nallow = o->nlisten_allow,
			.auth_file = o->listen_auth,
		};

		x->self = metrics__new(32);
		if (!x->self) {
			err = -ENOMEM;
			goto err_free;
		}
		procstat_publish_self(x->self);
		po.self = x->self;
		err = prom_server__start(&po, &x->prom);
		if (err)
			goto err_free;
		log_info("%s: serving /metrics on %s (port %u)", cmd, o->listen,
			 prom_server__port(x->prom));
	}
	if (o->statsd) {
		err = statsd__new_flavor(o->statsd, NULL, o->statsd_flavor, &x->statsd);
		if (err)
			goto err_free;
	}
	*out = x;
	return 0;

err_free:
	exporters__free(x);
	return err;
}

/* A signal during the final flush ends it: the user asked twice. */
static bool flush_cancelled(void *ctx)
{
	struct exporters *x = ctx;

	return runloop_signals() > x->signals_at_flush;
}

int exporters__start_otlp(struct exporters *x, const pid_t *pids, int npids, const char *exe,
			  const char *cmd)
{
	struct otlp_opts oo;
	int err;

	if (!x || !export_otlp_wanted(x->o))
		return 0;
	memset(&oo, 0, sizeof(oo));
	oo.endpoint = x->o->otlp_endpoint;
	oo.queue_spans = x->o->otlp_queue;
	/*
	 * The exporter logs the first failure of each kind with its reason;
	 * after that exporters__report() sums them up once per interval.
	 */
	oo.log_interval_ms = UINT_MAX;
	oo.cancel = flush_cancelled;
	oo.cancel_ctx = x;
	err = otlp__new(&oo, &x->otlp);
	if (err)
		return err;
	/* One Resource per target; the first names the service. */
	for (int i = 0; i < npids && !err; i++)
		err = otlp__add_process(x->otlp, pids[i], i || !cmd ? NULL : exe,
					i || !cmd ? NULL : cmd);
	if (err) {
		log_err("%s: failed to describe the targets for OTLP: %s", x->cmd, strerror(-err));
		return err;
	}
	log_info("%s: pushing OTLP spans to %s and metrics to %s", x->cmd,
		 otlp__url(x->otlp, OTLP_TRACES), otlp__url(x->otlp, OTLP_METRICS));
	return 0;
}

struct metrics *exporters__metrics(struct exporters *x)
{
	return x ? x->metrics : NULL;
}

int exporters__set_ready(struct exporters *x, bool ready, const char *json)
{
	return x && x->prom ? prom_server__set_ready(x->prom, ready, json) : 0;
}

bool exporters__otlp_on(const struct exporters *x)
{
	return x && x->otlp;
}

void exporters__push_span(struct exporters *x, const struct span_record *s)
{
	if (x && x->otlp)
		otlp__push_span(x->otlp, s);
}

void exporters__push_log(struct exporters *x, const struct otlp_log *l)
{
	int err;

	if (!x || !x->otlp)
		return;
	err = otlp__push_log(x->otlp, l);
	if (err)
		log_err("%s: otlp: failed to encode a log record: %s", x->cmd, strerror(-err));
}

static void tally(struct exporters *x, struct export_tally *t)
{
	memset(t, 0, sizeof(*t));
	if (x->otlp) {
		struct otlp_stats st;

		otlp__stats(x->otlp, &st);
		t->otlp_failed = st.requests_failed;
		t->otlp_spans_lost = st.spans_dropped;
		t->otlp_metrics_lost = st.metric_exports_dropped;
		t->otlp_logs_lost = st.logs_dropped;
	}
	if (x->statsd) {
		struct statsd_stats st;

		statsd__stats(x->statsd, &st);
		t->statsd_errors = st.send_errors;
		t->statsd_dropped = st.lines_dropped;
	}
}

void exporters__publish(struct exporters *x)
{
	struct export_tally t;

	if (!x)
		return;
	tally(x, &t);
	if (x->otlp) {
		struct metric_label l[2] = {{"exporter", "otlp"}, {"signal", "traces"}};

		metrics__counter_set(x->metrics, M_EXPORT_ERRORS, l, 1, (double)t.otlp_failed);
		metrics__counter_set(x->metrics, M_EXPORT_DROPPED, l, 2,
				     (double)t.otlp_spans_lost);
		l[1].value = "metrics";
		metrics__counter_set(x->metrics, M_EXPORT_DROPPED, l, 2,
				     (double)t.otlp_metrics_lost);
		l[1].value = "logs";
		metrics__counter_set(x->metrics, M_EXPORT_DROPPED, l, 2, (double)t.otlp_logs_lost);
	}
	if (x->statsd) {
		struct metric_label l[2] = {{"exporter", "statsd"}, {"signal", "metrics"}};

		metrics__counter_set(x->metrics, M_EXPORT_ERRORS, l, 1, (double)t.statsd_errors);
		metrics__counter_set(x->metrics, M_EXPORT_DROPPED, l, 2,
				     (double)t.statsd_dropped);
	}
	if (x->prom) {
		struct metric_label l = {"code", "403"};
		uint64_t forbidden, unauthorized;

		prom_server__refused(x->prom, &forbidden, &unauthorized);
		metrics__counter_set(x->metrics, M_REFUSED, &l, 1, (double)forbidden);
		l.value = "401";
		metrics__counter_set(x->metrics, M_REFUSED, &l, 1, (double)unauthorized);
		procstat_publish_self(x->self);
	}
}

void exporters__export(struct exporters *x)
{
	struct metrics_snapshot *snap = NULL;
	int err;

	if (!x || (!x->statsd && !x->otlp))
		return;
	err = metrics__snapshot(x->metrics, &snap);
	if (err) {
		log_err("%s: failed to snapshot metrics: %s", x->cmd, strerror(-err));
		return;
	}
	if (x->statsd)
		statsd__flush(x->statsd, snap);
	if (x->otlp)
		otlp__push_metrics(x->otlp, snap);
	metrics_snapshot__free(snap);
}

void exporters__report(struct exporters *x, const char *when)
{
	struct export_tally t, *r;
	char line[768];
	int len = 0;

	if (!x)
		return;
	r = &x->reported;
	tally(x, &t);
	if (t.otlp_failed > r->otlp_failed || t.otlp_spans_lost > r->otlp_spans_lost ||
	    t.otlp_metrics_lost > r->otlp_metrics_lost || t.otlp_logs_lost > r->otlp_logs_lost)
		len += snprintf(
			line + len, sizeof(line) - len,
			"; otlp %s: %llu failed requests, %llu spans dropped (%llu in all), "
			"%llu metric exports dropped, %llu log records dropped",
			otlp__url(x->otlp, OTLP_TRACES),
			(unsigned long long)(t.otlp_failed - r->otlp_failed),
			(unsigned long long)(t.otlp_spans_lost - r->otlp_spans_lost),
			(unsigned long long)t.otlp_spans_lost,
			(unsigned long long)(t.otlp_metrics_lost - r->otlp_metrics_lost),
			(unsigned long long)(t.otlp_logs_lost - r->otlp_logs_lost));
	if (t.statsd_errors > r->statsd_errors || t.statsd_dropped > r->statsd_dropped)
		len += snprintf(line + len, sizeof(line) - len,
				"; statsd %s: %llu packets not sent, %llu lines dropped",
				x->o->statsd,
				(unsigned long long)(t.statsd_errors - r->statsd_errors),
				(unsigned long long)(t.statsd_dropped - r->statsd_dropped));
	*r = t;
	if (len)
		log_warn("%s: exporters failing %s%s", x->cmd, when, line);
}

void exporters__finish(struct exporters *x)
{
	struct otlp_stats st;
	int err = 0;

	if (!x)
		return;
	exporters__publish(x);
	exporters__export(x);
	x->signals_at_flush = runloop_signals();
	if (x->otlp)
		err = otlp__flush(x->otlp, (int)(x->o->flush_timeout_s * 1000));
	if (err == -ECANCELED) {
		otlp__stats(x->otlp, &st);
		log_warn("%s: otlp: flush to %s cut short by a second signal: %llu spans and %llu "
			 "metric exports not delivered",
			 x->cmd, otlp__url(x->otlp, OTLP_TRACES),
			 (unsigned long long)st.spans_queued,
			 (unsigned long long)(st.metric_exports_pushed - st.metric_exports_sent -
					      st.metric_exports_dropped));
	} else if (err) {
		log_warn("%s: otlp: failed to deliver everything within --flush-timeout %g s "
			 "(%s not answering in time)",
			 x->cmd, x->o->flush_timeout_s, otlp__url(x->otlp, OTLP_TRACES));
	}
	x->finished = true;
	exporters__report(x, "since the last report");
	if (x->otlp) {
		unsigned long long lost;

		otlp__stats(x->otlp, &st);
		/* The same count as the closing line's "spans lost ... by OTLP". */
		lost = st.spans_dropped + st.spans_queued;
		if (lost)
			log_warn("%s: otlp: %llu of %llu spans lost (%llu queue full, %llu rejected, "
				 "%llu given up, %llu undelivered at exit); %llu of %llu metric "
				 "exports delivered",
				 x->cmd, lost, (unsigned long long)st.spans_pushed,
				 (unsigned long long)st.spans_dropped_full,
				 (unsigned long long)st.spans_rejected,
				 (unsigned long long)st.spans_given_up,
				 (unsigned long long)st.spans_queued,
				 (unsigned long long)st.metric_exports_sent,
				 (unsigned long long)st.metric_exports_pushed);
		else
			log_info("%s: otlp: %llu of %llu spans and %llu of %llu metric exports "
				 "delivered",
				 x->cmd, (unsigned long long)st.spans_sent,
				 (unsigned long long)st.spans_pushed,
				 (unsigned long long)st.metric_exports_sent,
				 (unsigned long long)st.metric_exports_pushed);
		if (st.logs_pushed)
			log_info("%s: otlp: %llu of %llu log records delivered to %s", x->cmd,
				 (unsigned long long)st.logs_sent,
				 (unsigned long long)st.logs_pushed, otlp__url(x->otlp, OTLP_LOGS));
	}
	if (metrics__series_dropped(x->metrics))
		log_warn("%s: %llu metric series refused past --max-series %u; raise it", x->cmd,
			 (unsigned long long)metrics__series_dropped(x->metrics),
			 x->o->max_series);
}

uint64_t exporters__spans_lost(struct exporters *x)
{
	struct otlp_stats st;

	if (!x || !x->otlp)
		return 0;
	otlp__stats(x->otlp, &st);
	/* What the final flush did not deliver is given up at exporters__free(). */
	return st.spans_dropped + (x->finished ? st.spans_queued : 0);
}

void exporters__free(struct exporters *x)
{
	if (!x)
		return;
	/* The server reads the registry: it goes first. */
	prom_server__free(x->prom);
	otlp__free(x->otlp);
	statsd__free(x->statsd);
	metrics__free(x->metrics);
	metrics__free(x->self);
	free(x);
}

// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include <bpf/libbpf.h>

#include "base/jsonstr.h"
#include "base/log.h"

static enum log_level cur_level = LOG_WARN;
static enum log_format cur_format = LOG_FORMAT_TEXT;

static const char *const level_names[] = {
	[LOG_ERROR] = "error",
	[LOG_WARN] = "warn",
	[LOG_INFO] = "info",
	[LOG_DEBUG] = "debug",
};

void log_set_level(enum log_level level)
{
	cur_level = level;
}

enum log_level log_get_level(void)
{
	return cur_level;
}

void log_set_format(enum log_format fmt)
{
	cur_format = fmt;
}

int log_parse_format(const char *s, enum log_format *out)
{
	if (!strcmp(s, "text"))
		*out = LOG_FORMAT_TEXT;
	else if (!strcmp(s, "json"))
		*out = LOG_FORMAT_JSON;
	else
		return -EINVAL;
	return 0;
}

/* OpenTelemetry's SeverityNumber and short name of each level. */
static const struct {
	int number;
	const char *text;
} severities[] = {
	[LOG_ERROR] = {17, "ERROR"},
	[LOG_WARN] = {13, "WARN"},
	[LOG_INFO] = {9, "INFO"},
	[LOG_DEBUG] = {5, "DEBUG"},
};

/*
 * The "<subsystem>" of a "<subsystem>: ..." message ("otlp", "trace",
 * "libbpf"): a lowercase word before the first ": ". Its length, or 0.
 */
static size_t subsystem_len(const char *msg)
{
	size_t n = strspn(msg, "abcdefghijklmnopqrstuvwxyz0123456789_-");

	return n && n < 32 && msg[n] == ':' && msg[n + 1] == ' ' ? n : 0;
}

/*
 * One OTLP/JSON LogRecord per line (the protobuf JSON mapping the spans
 * file uses too), so a collector's filelog receiver or a jq one-liner can
 * wrap the lines into an ExportLogsServiceRequest as they are.
 */
static void emit_figure(FILE *out, const struct log_figure *f, bool first)
{
	fprintf(out, "%s{\"key\":\"", first ? "" : ",");
	json_put_chars(out, f->key);
	if (f->is_double)
		/* %.17g reads back as the same double; JSON has no NaN or Inf. */
		fprintf(out, "\",\"value\":{\"doubleValue\":%.17g}}",
			f->d == f->d && f->d - f->d == 0 ? f->d : 0);
	else
		fprintf(out, "\",\"value\":{\"intValue\":\"%lld\"}}", f->i);
}

static void put_json(FILE *out, enum log_level level, const char *buf, const struct log_line *figs)
{
	size_t sub = subsystem_len(buf);
	unsigned int nfig = figs ? figs->nfig : 0;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(out,
		"{\"timeUnixNano\":\"%lld%09ld\",\"severityNumber\":%d,\"severityText\":\"%s\","
		"\"body\":{\"stringValue\":\"",
		(long long)ts.tv_sec, ts.tv_nsec, severities[level].number, severities[level].text);
	json_put_chars(out, buf);
	fputs("\"}", out);
	if (sub || nfig)
		fputs(",\"attributes\":[", out);
	if (sub)
		fprintf(out, "{\"key\":\"sonde.subsystem\",\"value\":{\"stringValue\":\"%.*s\"}}",
			(int)sub, buf);
	for (unsigned int i = 0; i < nfig; i++)
		emit_figure(out, &figs->fig[i], !sub && !i);
	if (sub || nfig)
		fputc(']', out);
	fputs("}\n", out);
}

/*
 * The record is composed in memory and written with one write(2): stderr
 * is unbuffered, and piece by piece (a write per escaped character) two
 * threads' records interleaved into lines that are not JSON (seen: the
 * OTLP sender's warning inside the closing line). Without memory, it goes
 * out in pieces still.
 */
static void emit_json(enum log_level level, const char *buf, const struct log_line *figs)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);

	if (!m) {
		put_json(stderr, level, buf, figs);
		return;
	}
	put_json(m, level, buf, figs);
	if (!fclose(m))
		fwrite(text, 1, len, stderr);
	free(text);
}

/* A live status line is on stderr (a terminal): clear it before a message. */
static bool status_shown;

static void status_clear(void)
{
	if (status_shown) {
		fputs("\r\033[K", stderr);
		status_shown = false;
	}
}

bool log_status_enabled(void)
{
	return cur_format == LOG_FORMAT_TEXT && isatty(STDERR_FILENO);
}

void log_status(const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	if (!log_status_enabled())
		return;
	if (!fmt) {
		flockfile(stderr);
		status_clear();
		funlockfile(stderr);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	flockfile(stderr);
	fprintf(stderr, "\r\033[K%s", buf);
	fflush(stderr);
	status_shown = true;
	funlockfile(stderr);
}

static void emit_text(enum log_level level, bool plain, char *buf, const struct log_line *figs)
{
	size_t len = strlen(buf);

	/* One thread's line at a time (stdio locks each call, not a line). */
	flockfile(stderr);
	status_clear();
	/* libbpf ends its lines with '\n'; ours do not. Print exactly one. */
	while (len && buf[len - 1] == '\n')
		buf[--len] = '\0';
	if (cur_format == LOG_FORMAT_JSON)
		emit_json(level, buf, figs);
	else if (level == LOG_ERROR || plain)
		fprintf(stderr, "sonde: %s\n", buf);
	else
		fprintf(stderr, "sonde: %s: %s\n", level_names[level], buf);
	funlockfile(stderr);
}

static void emit(enum log_level level, bool plain, const char *fmt, va_list ap)
{
	char buf[LOG_LINE_MAX];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	emit_text(level, plain, buf, NULL);
}

void log_line_init(struct log_line *l)
{
	l->text[0] = '\0';
	l->len = 0;
	l->nfig = 0;
}

void log_line_add(struct log_line *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (l->len + 1 >= sizeof(l->text))
		return;
	va_start(ap, fmt);
	n = vsnprintf(l->text + l->len, sizeof(l->text) - l->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->len = l->len + (size_t)n < sizeof(l->text) ? l->len + (size_t)n
							       : sizeof(l->text) - 1;
}

void log_line_int(struct log_line *l, const char *key, long long v)
{
	if (l->nfig < LOG_LINE_FIGURES)
		l->fig[l->nfig++] = (struct log_figure){.key = key, .i = v};
}

void log_line_double(struct log_line *l, const char *key, double v)
{
	if (l->nfig < LOG_LINE_FIGURES)
		l->fig[l->nfig++] = (struct log_figure){.key = key, .is_double = 1, .d = v};
}

void log_summary_line(const struct log_line *l)
{
	char buf[LOG_LINE_MAX];

	memcpy(buf, l->text, l->len + 1);
	emit_text(LOG_INFO, true, buf, l);
}

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	if (level > cur_level)
		return;
	emit(level, false, fmt, ap);
}

void log_summary(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(LOG_INFO, true, fmt, ap);
	va_end(ap);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	enum log_level l;

	switch (level) {
	case LIBBPF_WARN:
		/* libbpf warns about probing failures we handle ourselves. */
		l = LOG_INFO;
		break;
	case LIBBPF_INFO:
		l = LOG_DEBUG;
		break;
	default:
		return 0;
	}
	if (l > cur_level)
		return 0;
	{
		char buf[1024];

		vsnprintf(buf, sizeof(buf), fmt, ap);
		log_msg(l, "libbpf: %s", buf);
	}
	return 0;
}

void log_route_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}

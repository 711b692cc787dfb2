/* SPDX-License-Identifier: MIT */
/*
 * The one logging module. Messages read
 * "<subsystem>: failed to <verb> <object>: <reason>"; libbpf's own output
 * is routed through log_libbpf_print().
 */
#ifndef SONDE_LOG_H
#define SONDE_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

enum log_level {
	LOG_ERROR = 0,
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG,
};

enum log_format {
	LOG_FORMAT_TEXT = 0,
	LOG_FORMAT_JSON,
};

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
void log_set_format(enum log_format fmt);
/* Parse "text"/"json"; returns 0 or -EINVAL. */
int log_parse_format(const char *s, enum log_format *out);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/*
 * A closing result that shows at every level (e.g. a run's totals):
 * "sonde: ..." as text, an INFO record as JSON.
 */
void log_summary(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * A closing line built piece by piece: its text, and the figures it
 * states, which JSON logs also give as attributes ({"key":"sonde.samples",
 * "value":{"intValue":"123"}}) so a reader need not parse the prose. The
 * text format is the same as log_summary()'s.
 */
#define LOG_LINE_MAX 2048
#define LOG_LINE_FIGURES 32

struct log_figure {
	const char *key; /* "sonde.samples": a static string */
	int is_double;
	long long i;
	double d;
};

struct log_line {
	char text[LOG_LINE_MAX];
	size_t len;
	struct log_figure fig[LOG_LINE_FIGURES];
	unsigned int nfig;
};

void log_line_init(struct log_line *l);
/* Append printf text (cut at LOG_LINE_MAX). */
void log_line_add(struct log_line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Record a figure (past LOG_LINE_FIGURES they are dropped). */
void log_line_int(struct log_line *l, const char *key, long long v);
void log_line_double(struct log_line *l, const char *key, double v);
/* Log @l as log_summary() would its text, with its figures in JSON. */
void log_summary_line(const struct log_line *l);

#define log_err(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/*
 * A live status line on stderr, redrawn in place ("\r"), when stderr is a
 * terminal and the format is text; any message clears it first, NULL
 * clears it. log_status_enabled() tells whether it shows at all.
 */
void log_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
bool log_status_enabled(void);

/* Install as libbpf's print callback: libbpf_set_print(). */
void log_route_libbpf(void);

/* "s" unless @n is 1, for "%llu call%s" (n, plural_s(n)). */
static inline const char *plural_s(unsigned long long n)
{
	return n == 1 ? "" : "s";
}

#endif /* SONDE_LOG_H */

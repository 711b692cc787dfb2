/* SPDX-License-Identifier: MIT */
/*
 * The one logging module. Messages read
 * "<subsystem>: failed to <verb> <object>: <reason>"; libbpf's own output
 * is routed through log_libbpf_print().
 */
#ifndef SONDE_LOG_H
#define SONDE_LOG_H

#include <stdarg.h>

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

#define log_err(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* Install as libbpf's print callback: libbpf_set_print(). */
void log_route_libbpf(void);

#endif /* SONDE_LOG_H */

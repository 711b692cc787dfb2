/* SPDX-License-Identifier: MIT */
/*
 * OpenTelemetry's SDK environment variables that hold lists
 * (OTEL_RESOURCE_ATTRIBUTES, OTEL_EXPORTER_OTLP_HEADERS): W3C-baggage-like
 * "k=v,k2=v2", whitespace around keys and values dropped, empty members
 * skipped, keys and values percent-decoded.
 */
#ifndef SONDE_EXPORT_OTEL_ENV_H
#define SONDE_EXPORT_OTEL_ENV_H

#include <stddef.h>

struct otel_kv {
	char *key, *val;
};

/*
 * The list in variable @name into a new array (*out NULL, *nout 0 when
 * unset). A malformed list (a member without '=', an empty key, a bad
 * %-escape or %00) is ignored as a whole with a warning. 0 or -ENOMEM.
 */
int otel_env_list(const char *name, struct otel_kv **out, size_t *nout);
void otel_kvs_free(struct otel_kv *kv, size_t n);

#endif /* SONDE_EXPORT_OTEL_ENV_H */

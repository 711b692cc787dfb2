/* SPDX-License-Identifier: MIT */
/*
 * The scalar forms of the agent's configuration, as users write them in
 * YAML, in SONDE_* variables and on the command line: booleans, decimal
 * integers, durations ("60s", "500ms", "1h30m", "1.5s"), sizes ("128MiB",
 * "512Ki", "4096") and CIDR blocks ("10.0.0.0/8", "::1/128"). Parsers
 * return 0 or -EINVAL (no message); formatters write the canonical form
 * that the parsers read back to the same value.
 */
#ifndef SONDE_CONFIG_SCALAR_H
#define SONDE_CONFIG_SCALAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NSEC_PER_USEC 1000ull
#define NSEC_PER_MSEC 1000000ull
#define NSEC_PER_SEC 1000000000ull

/* true/false, yes/no, on/off, 1/0 (any case). */
int scalar_parse_bool(const char *s, bool *out);
/* Plain decimal digits (no sign, no spaces), at most UINT64_MAX. */
int scalar_parse_u64(const char *s, uint64_t *out);
/*
 * One or more NUMBER UNIT terms ("1h30m", "1.5s"), UNIT one of ns, us,
 * ms, s, m, h; a bare "0" is zero. Into nanoseconds.
 */
int scalar_parse_duration(const char *s, uint64_t *ns);
/*
 * NUMBER[UNIT] in bytes: B, KiB/Ki, MiB/Mi, GiB/Gi, TiB/Ti (powers of
 * 1024), kB/KB/k, MB/M, GB/G, TB/T (powers of 1000), Kubernetes' spelling
 * included. A fraction ("1.5GiB") is rounded down to a byte.
 */
int scalar_parse_size(const char *s, uint64_t *bytes);

/* The largest unit that divides @ns exactly ("1m", "90s", "500ms", "0s"). */
void scalar_format_duration(uint64_t ns, char *buf, size_t len);
/* The largest binary unit that divides @bytes exactly, else decimal, else B. */
void scalar_format_size(uint64_t bytes, char *buf, size_t len);

struct cfg_cidr;
/*
 * "ADDR/PREFIX" or a bare address (a /32 or /128) into @out (src not set).
 * A block with host bits set ("10.0.0.1/8") is refused: -EINVAL, and the
 * network it meant in @hint ("10.0.0.0/8") when @hint is not NULL.
 */
int scalar_parse_cidr(const char *s, struct cfg_cidr *out, char *hint, size_t hintlen);

#endif /* SONDE_CONFIG_SCALAR_H */

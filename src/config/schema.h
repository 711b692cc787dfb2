/* SPDX-License-Identifier: MIT */
/*
 * The agent's configuration schema: one row per key, with its type,
 * default, range, flag alias and help, and where it lives in struct
 * agent_config. The loader, the printer, the flag parser of `sonde agent`
 * and docs/agent-config.md all follow this one table.
 *
 * Every key is also a flag, "--" + KEY, and a variable, SONDE_ + KEY in
 * capitals with dots as underscores. Lists given as text (flags,
 * variables, defaults) are split at commas; "\," is a literal comma.
 */
#ifndef SONDE_CONFIG_SCHEMA_H
#define SONDE_CONFIG_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config/agent_config.h"

enum cfg_type {
	CFG_STRING,
	CFG_BOOL,
	CFG_UINT,     /* unsigned int in [min, max] */
	CFG_DURATION, /* uint64_t ns in [min, max] */
	CFG_SIZE,     /* uint64_t bytes in [min, max] */
	CFG_ENUM,     /* an enum (int-sized) indexing names */
	CFG_STRLIST,
	CFG_UINTLIST, /* elements in [min, max] */
	CFG_REGEXLIST,
	CFG_CIDRLIST,
	CFG_MAP, /* string to string; check() applies to the keys */
};

/*
 * An extra check of a string (a STRING value, a STRLIST element, a MAP
 * key): 0, or -EINVAL with what is wrong in @why ("must start with /").
 */
typedef int (*cfg_check_fn)(const char *s, char *why, size_t len);

struct cfg_key {
	const char *key; /* "probes.cpu.frequency" */
	enum cfg_type type;
	size_t offset;	 /* of the field in struct agent_config */
	const char *def; /* the default as text a user would write */
	uint64_t min, max;
	const char *const *names; /* CFG_ENUM, NULL-terminated */
	cfg_check_fn check;
	const char *alias; /* "-F", "--listen", or NULL */
	const char *help;
};

extern const struct cfg_key cfg_keys[];
extern const size_t cfg_nkeys;

/* The row of @key, or NULL. */
const struct cfg_key *cfg_key_find(const char *key);
/* Index of @k in cfg_keys. */
static inline size_t cfg_key_index(const struct cfg_key *k)
{
	return (size_t)(k - cfg_keys);
}
/* True when @prefix ("probes.cpu") is a section: some key starts with "@prefix.". */
bool cfg_is_section(const char *prefix);
/*
 * The names allowed right below @prefix ("" for the top level): keys and
 * sections, each once, in schema order. Up to @max into @out; returns how many.
 */
size_t cfg_children(const char *prefix, const char **out, size_t max);
/* A word for the type in messages and --help: "an integer from 1 to 100000". */
void cfg_describe(const struct cfg_key *k, char *buf, size_t len);
/* "boolean", "integer", "duration", ... */
const char *cfg_type_name(enum cfg_type t);

static inline void *cfg_field(const struct cfg_key *k, struct agent_config *c)
{
	return (char *)c + k->offset;
}

static inline const void *cfg_cfield(const struct cfg_key *k, const struct agent_config *c)
{
	return (const char *)c + k->offset;
}

/*
 * Values. A value is parsed into a fresh struct cfg_value, then moved into
 * the config (cfg_value_store), so a bad value never leaves a field half
 * written.
 */
struct cfg_value {
	const struct cfg_key *k;
	union {
		char *str;
		bool b;
		unsigned int u;
		uint64_t u64;
		int e;
		struct cfg_strlist sl;
		struct cfg_uintlist ul;
		struct cfg_regexlist rl;
		struct cfg_cidrlist cl;
		struct cfg_map map;
	};
};

/* Entries of one list or map at most (a value's, at one level). */
#define CFG_LIST_MAX 4096

void cfg_value_init(struct cfg_value *v, const struct cfg_key *k);
/*
 * Parse one scalar, or append one list element, or add one "KEY=VALUE" /
 * (@mkey, @s) map entry. 0, -EINVAL with the message in @why, or -ENOMEM.
 * For maps, @mkey NULL means @s is "KEY=VALUE".
 */
int cfg_value_add(struct cfg_value *v, const char *mkey, const char *s, char *why, size_t len);
/*
 * Parse a whole text value: a scalar, or a comma-separated list or map
 * ("a,b", "k=v,k2=v2"; "" is empty; "\," a comma). Same returns.
 */
int cfg_value_parse_text(struct cfg_value *v, const char *s, char *why, size_t len);
void cfg_value_free(struct cfg_value *v);
/*
 * Move @v into @c's field (maps merge, with @origin copied to each entry
 * added); @v is left empty. 0 or -ENOMEM.
 */
int cfg_value_store(struct cfg_value *v, struct agent_config *c, const struct cfg_origin *origin);
/* Free the field of @k in @c and leave it zeroed. */
void cfg_field_free(const struct cfg_key *k, struct agent_config *c);

/*
 * The value of @k in @c as YAML, flow style for lists and maps (strings
 * double-quoted). @redact_values prints map values as "<redacted>".
 */
void cfg_field_format(const struct cfg_key *k, const struct agent_config *c, bool redact_values,
		      FILE *f);
/* @s as a YAML double-quoted scalar. */
void cfg_quote(const char *s, FILE *f);

#endif /* SONDE_CONFIG_SCHEMA_H */

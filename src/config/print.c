// SPDX-License-Identifier: MIT
/* The effective configuration as YAML with origins, and reload diffs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/outfile.h"
#include "config/schema.h"

/* Values start at this column; origins follow at ORIGIN_COL. */
#define ORIGIN_COL 48

const struct cfg_origin *agent_config__origin(const struct agent_config *c, const char *key)
{
	const struct cfg_key *k = cfg_key_find(key);

	return k ? &c->origins[cfg_key_index(k)] : NULL;
}

void agent_config__origin_text(const struct agent_config *c, const struct cfg_origin *o, char *buf,
			       size_t len)
{
	switch (o->kind) {
	case CFG_FROM_DEFAULT:
		snprintf(buf, len, "default");
		break;
	case CFG_FROM_BASE:
		snprintf(buf, len, "%s:%u", c->file, o->line);
		break;
	case CFG_FROM_ENV:
		snprintf(buf, len, "%s:%u (environment %s)", c->file, o->line, c->env);
		break;
	case CFG_FROM_ENVVAR:
		snprintf(buf, len, "env %s", o->name);
		break;
	case CFG_FROM_FLAG:
		snprintf(buf, len, "flag %s", o->name);
		break;
	}
}

/* @text padded to the origin column, then "# origin". */
static void line_with_origin(const struct agent_config *c, FILE *f, const char *text,
			     const struct cfg_origin *o)
{
	char origin[512];
	int col = (int)strlen(text);

	agent_config__origin_text(c, o, origin, sizeof(origin));
	fprintf(f, "%s%*s# %s\n", text, col < ORIGIN_COL ? ORIGIN_COL - col : 1, "", origin);
}

/* Length of the first @depth components of @key, with their dots. */
static size_t prefix_len(const char *key, int depth)
{
	const char *p = key;

	for (int i = 0; i < depth; i++) {
		p = strchr(p, '.');
		if (!p)
			return strlen(key);
		p++;
	}
	return (size_t)(p - key);
}

static int depth_of(const char *key)
{
	int depth = 0;

	for (const char *p = key; (p = strchr(p, '.')); p++)
		depth++;
	return depth;
}

/* The section lines ("probes:", "  cpu:") that @key opens after @prev. */
static int open_sections(FILE *f, const char *prev, const char *key)
{
	int depth = depth_of(key), pdepth = prev ? depth_of(prev) : 0, common = 0;

	/* Sections shared with the previous key are open already. */
	while (common < depth && common < pdepth) {
		size_t a = prefix_len(key, common + 1), b = prefix_len(prev, common + 1);

		if (a != b || strncmp(key, prev, a))
			break;
		common++;
	}
	for (int d = common; d < depth; d++) {
		size_t from = prefix_len(key, d), to = prefix_len(key, d + 1) - 1;

		fprintf(f, "%*s%.*s:\n", 2 * d, "", (int)(to - from), key + from);
	}
	return depth;
}

int agent_config__print(const struct agent_config *c, FILE *f)
{
	const char *prev = NULL;

	fprintf(f, "# sonde agent: effective configuration\n");
	fprintf(f, "# file: %s\n", c->file ? c->file : "none");
	fprintf(f, "# environment: %s\n", c->env ? c->env : "none (base only)");
	for (size_t i = 0; i < cfg_nkeys; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		const char *leaf = strrchr(k->key, '.');
		int depth = open_sections(f, prev, k->key);
		bool redact = !strcmp(k->key, "exporters.otlp.headers");
		char *text = NULL;
		size_t len = 0;
		FILE *m;

		leaf = leaf ? leaf + 1 : k->key;
		prev = k->key;
		m = open_memstream(&text, &len);
		if (!m)
			return -ENOMEM;
		fprintf(m, "%*s%s:", 2 * depth, "", leaf);
		if (k->type == CFG_MAP && ((const struct cfg_map *)cfg_cfield(k, c))->n) {
			const struct cfg_map *map = cfg_cfield(k, c);

			fclose(m);
			line_with_origin(c, f, text, &c->origins[i]);
			for (size_t j = 0; j < map->n; j++) {
				free(text);
				text = NULL;
				m = open_memstream(&text, &len);
				if (!m) {
					free(text);
					return -ENOMEM;
				}
				fprintf(m, "%*s", 2 * depth + 2, "");
				cfg_quote(map->v[j].key, m);
				fputs(": ", m);
				cfg_quote(redact ? "<redacted>" : map->v[j].value, m);
				fclose(m);
				line_with_origin(c, f, text, &map->v[j].origin);
			}
			free(text);
			continue;
		}
		fputc(' ', m);
		cfg_field_format(k, c, redact, m);
		fclose(m);
		line_with_origin(c, f, text, &c->origins[i]);
		free(text);
	}
	return stream_flush_error(f);
}

/* @k's value in @c as text (malloc'd), for comparing. */
static char *value_text(const struct cfg_key *k, const struct agent_config *c)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);

	if (!m)
		return NULL;
	cfg_field_format(k, c, false, m);
	fclose(m);
	return text;
}

size_t agent_config__diff(const struct agent_config *a, const struct agent_config *b,
			  const char **keys, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < cfg_nkeys; i++) {
		char *ta = value_text(&cfg_keys[i], a), *tb = value_text(&cfg_keys[i], b);

		/* Out of memory counts as a change: the caller then redoes more, not less. */
		if (!ta || !tb || strcmp(ta, tb)) {
			if (n < max)
				keys[n] = cfg_keys[i].key;
			n++;
		}
		free(ta);
		free(tb);
	}
	return n;
}

// SPDX-License-Identifier: MIT
/*
 * agent_config__load(): defaults, then the file's base section, its chosen
 * environment section, SONDE_* variables and flags, each level over the
 * one before; then the checks that span keys. The YAML is read with
 * libyaml's document loader, whose nodes carry the marks (lines) that
 * origins and messages name.
 */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "base/log.h"
#include "base/suggest.h"
#include "config/schema.h"

extern char **environ;

#define KEY_MAX 256
#define WHY_MAX 512

struct loader {
	const struct agent_config_input *in;
	const char *file; /* for messages */
	const char *env;  /* the environment asked for, or NULL */
	int nerr;
	bool stopped; /* too many errors: stop looking */
};

static void emit(struct loader *L, const char *line)
{
	if (L->in->errors)
		fprintf(L->in->errors, "%s\n", line);
	else
		log_err("%s", line);
}

/* One error line: "config: WHERE: KEY: message" (WHERE or KEY may be NULL). */
static void report(struct loader *L, const char *where, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void report(struct loader *L, const char *where, const char *key, const char *fmt, ...)
{
	char line[1024];
	size_t n;
	va_list ap;

	if (L->stopped)
		return;
	n = (size_t)snprintf(line, sizeof(line), "config: %s%s%s%s", where ? where : "",
			     where ? ": " : "", key ? key : "", key ? ": " : "");
	if (n < sizeof(line)) {
		va_start(ap, fmt);
		vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		va_end(ap);
	}
	emit(L, line);
	if (++L->nerr == AGENT_CONFIG_MAX_ERRORS) {
		L->stopped = true;
		snprintf(line, sizeof(line), "config: stopped after %d errors",
			 AGENT_CONFIG_MAX_ERRORS);
		emit(L, line);
	}
}

/* Defaults */

static int set_origin(struct agent_config *c, const struct cfg_key *k, enum cfg_origin_kind kind,
		      unsigned int line, const char *name)
{
	struct cfg_origin *o = &c->origins[cfg_key_index(k)];
	char *copy = name ? strdup(name) : NULL;

	if (name && !copy)
		return -ENOMEM;
	free(o->name);
	*o = (struct cfg_origin){kind, line, copy};
	return 0;
}

/* Reset @k to its default (a null in YAML, and the first fill). */
static int set_default(struct agent_config *c, const struct cfg_key *k)
{
	static const struct cfg_origin none = {CFG_FROM_DEFAULT, 0, NULL};
	struct cfg_value v;
	char why[WHY_MAX];
	int err;

	cfg_field_free(k, c);
	cfg_value_init(&v, k);
	err = cfg_value_parse_text(&v, k->def, why, sizeof(why));
	if (!err)
		err = cfg_value_store(&v, c, &none);
	cfg_value_free(&v);
	if (err == -EINVAL)
		log_err("config: bad default of %s: %s", k->key, why);
	return err;
}

static int config_new(struct agent_config **out)
{
	struct agent_config *c = calloc(1, sizeof(*c));
	int err = -ENOMEM;

	if (!c)
		return -ENOMEM;
	c->origins = calloc(cfg_nkeys, sizeof(*c->origins));
	if (!c->origins)
		goto err_free;
	for (size_t i = 0; i < cfg_nkeys; i++) {
		err = set_default(c, &cfg_keys[i]);
		if (err)
			goto err_free;
	}
	*out = c;
	return 0;

err_free:
	agent_config__free(c);
	return err;
}

void agent_config__free(struct agent_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < cfg_nkeys; i++)
		cfg_field_free(&cfg_keys[i], c);
	if (c->origins)
		for (size_t i = 0; i < cfg_nkeys; i++)
			free(c->origins[i].name);
	free(c->origins);
	free(c->file);
	free(c->env);
	free(c);
}

/* The file */

static int read_file(struct loader *L, char **text, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	ssize_t n = 0;
	int fd, err = 0;

	fd = open(L->in->file, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		err = -errno;
		log_err("config: failed to read %s: %s", L->file, strerror(-err));
		goto out_close;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > AGENT_CONFIG_MAX_FILE) {
		if (S_ISREG(st.st_mode))
			report(L, L->file, NULL, "too large (at most %d bytes)",
			       AGENT_CONFIG_MAX_FILE);
		else
			report(L, L->file, NULL, "not a regular file");
		err = -EINVAL;
		goto out_close;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		err = -ENOMEM;
		goto out_close;
	}
	/* One read of the whole file: a ConfigMap update swaps it atomically. */
	n = read(fd, buf, (size_t)st.st_size + 1);
	if (n < 0 || n > st.st_size) {
		err = n < 0 ? -errno : -EAGAIN;
		log_err("config: failed to read %s: %s", L->file,
			n < 0 ? strerror(-err) : "it grew while being read");
		free(buf);
		goto out_close;
	}
	buf[n] = '\0';
	*text = buf;
	*len = (size_t)n;
out_close:
	if (fd >= 0)
		close(fd);
	return err;
}

/* The line of @offset in @text, 1-based. */
static unsigned int line_of(const char *text, size_t len, size_t offset)
{
	unsigned int line = 1;

	for (size_t i = 0; i < offset && i < len; i++)
		line += text[i] == '\n';
	return line;
}

static void report_syntax(struct loader *L, yaml_parser_t *p, const char *text, size_t len)
{
	char where[KEY_MAX + 32];
	unsigned int line;

	if (p->error == YAML_MEMORY_ERROR) {
		report(L, L->file, NULL, "out of memory reading the YAML");
		return;
	}
	line = p->error == YAML_READER_ERROR ? line_of(text, len, p->problem_offset)
					     : (unsigned int)p->problem_mark.line + 1;
	snprintf(where, sizeof(where), "%s:%u", L->file, line);
	if (p->context)
		report(L, where, NULL, "YAML syntax error: %s, column %zu (%s at line %zu)",
		       p->problem ? p->problem : "unknown", p->problem_mark.column + 1, p->context,
		       p->context_mark.line + 1);
	else if (p->error == YAML_READER_ERROR)
		report(L, where, NULL, "YAML syntax error: %s",
		       p->problem ? p->problem : "unknown");
	else
		report(L, where, NULL, "YAML syntax error: %s, column %zu",
		       p->problem ? p->problem : "unknown", p->problem_mark.column + 1);
}

/* The walk over the document */

struct walk {
	struct loader *L;
	yaml_document_t *doc;
	struct agent_config *c;
	enum cfg_origin_kind kind; /* CFG_FROM_BASE or CFG_FROM_ENV */
};

static unsigned int node_line(const yaml_node_t *n)
{
	return (unsigned int)n->start_mark.line + 1;
}

static void where_at(const struct walk *w, const yaml_node_t *n, char *buf, size_t len)
{
	snprintf(buf, len, "%s:%u", w->L->file, node_line(n));
}

static const char *scalar(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

/* A scalar with a NUL inside cannot be a C string. */
static bool has_nul(const yaml_node_t *n)
{
	return strlen(scalar(n)) != n->data.scalar.length;
}

/* YAML's null: an empty plain scalar, ~, null. */
static bool is_null(const yaml_node_t *n)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
		if (!strcmp(scalar(n), nulls[i]))
			return true;
	return false;
}

static const char *node_kind(const yaml_node_t *n)
{
	return n->type == YAML_SEQUENCE_NODE  ? "a list"
	       : n->type == YAML_MAPPING_NODE ? "a mapping"
					      : "a scalar";
}

/* One scalar into @v; false after reporting why not. */
static bool add_scalar(struct walk *w, struct cfg_value *v, const yaml_node_t *n, const char *mkey,
		       const char *key, int *err)
{
	char where[KEY_MAX + 32], why[WHY_MAX];

	where_at(w, n, where, sizeof(where));
	if (has_nul(n)) {
		report(w->L, where, key, "contains a NUL character");
		return false;
	}
	*err = cfg_value_add(v, mkey, scalar(n), why, sizeof(why));
	if (*err == -EINVAL)
		report(w->L, where, key, "%s", why);
	return !*err;
}

/* A map's entries, each stored with its own line. */
static int apply_map(struct walk *w, const struct cfg_key *k, yaml_node_t *n)
{
	char where[KEY_MAX + 32], key[KEY_MAX + 64];
	int err = 0;

	if (n->data.mapping.pairs.top - n->data.mapping.pairs.start > CFG_LIST_MAX) {
		where_at(w, n, where, sizeof(where));
		report(w->L, where, k->key, "more than %d entries", CFG_LIST_MAX);
		return 0;
	}
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
	     p < n->data.mapping.pairs.top && !w->L->stopped; p++) {
		yaml_node_t *kn = yaml_document_get_node(w->doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(w->doc, p->value);
		struct cfg_origin o = {w->kind, node_line(kn), NULL};
		struct cfg_value v;
		bool dup = false;

		where_at(w, kn, where, sizeof(where));
		if (kn->type != YAML_SCALAR_NODE || has_nul(kn)) {
			report(w->L, where, k->key, "keys must be strings");
			continue;
		}
		snprintf(key, sizeof(key), "%s.%s", k->key, scalar(kn));
		for (yaml_node_pair_t *q = n->data.mapping.pairs.start; q < p && !dup; q++) {
			yaml_node_t *prev = yaml_document_get_node(w->doc, q->key);

			dup = prev->type == YAML_SCALAR_NODE && !strcmp(scalar(prev), scalar(kn));
			if (dup)
				report(w->L, where, key, "duplicate key (first at line %u)",
				       node_line(prev));
		}
		if (dup)
			continue;
		if (vn->type != YAML_SCALAR_NODE || is_null(vn)) {
			report(w->L, where, key, "expected a string, got %s",
			       is_null(vn) ? "nothing" : node_kind(vn));
			continue;
		}
		cfg_value_init(&v, k);
		if (add_scalar(w, &v, vn, scalar(kn), key, &err))
			err = cfg_value_store(&v, w->c, &o);
		cfg_value_free(&v);
		if (err == -ENOMEM)
			return err;
	}
	return 0;
}

/* The value node @n of key @k: store it, or report why not. */
static int apply_key(struct walk *w, const struct cfg_key *k, yaml_node_t *kn, yaml_node_t *n)
{
	char where[KEY_MAX + 32], desc[160], key[KEY_MAX + 32];
	struct cfg_value v;
	int err = 0, bad = 0;

	where_at(w, n, where, sizeof(where));
	if (is_null(n)) {
		err = set_default(w->c, k);
		goto out_origin;
	}
	if (k->type == CFG_MAP) {
		if (n->type != YAML_MAPPING_NODE) {
			report(w->L, where, k->key, "expected a mapping (KEY: VALUE), got %s",
			       node_kind(n));
			return 0;
		}
		err = apply_map(w, k, n);
		goto out_origin;
	}
	cfg_value_init(&v, k);
	if (n->type == YAML_SCALAR_NODE) {
		bad = !add_scalar(w, &v, n, NULL, k->key, &err);
	} else if (n->type == YAML_SEQUENCE_NODE && k->type >= CFG_STRLIST) {
		for (yaml_node_item_t *i = n->data.sequence.items.start;
		     i < n->data.sequence.items.top && !w->L->stopped && err != -ENOMEM; i++) {
			yaml_node_t *item = yaml_document_get_node(w->doc, *i);

			snprintf(key, sizeof(key), "%s[%zu]", k->key,
				 (size_t)(i - n->data.sequence.items.start));
			if (item->type != YAML_SCALAR_NODE || is_null(item)) {
				where_at(w, item, where, sizeof(where));
				report(w->L, where, key, "expected a list item, got %s",
				       is_null(item) ? "nothing" : node_kind(item));
				bad = 1;
				continue;
			}
			bad |= !add_scalar(w, &v, item, NULL, key, &err);
		}
	} else {
		cfg_describe(k, desc, sizeof(desc));
		report(w->L, where, k->key, "expected %s, got %s", desc, node_kind(n));
		bad = 1;
	}
	if (!bad && !err)
		err = cfg_value_store(&v, w->c, NULL);
	cfg_value_free(&v);
	if (bad || err)
		return err == -ENOMEM ? err : 0;
out_origin:
	if (err)
		return err;
	return set_origin(w->c, k, w->kind, node_line(kn), NULL);
}

/*
 * The name @q was probably meant as: one it begins ("freq" for
 * "frequency"), else the closest by edit distance; NULL when none is close.
 */
static const char *closest(const char *const *names, size_t n, const char *q)
{
	const char *best[1];

	for (size_t i = 0; i < n && strlen(q) >= 3; i++)
		if (!strncmp(names[i], q, strlen(q)))
			return names[i];
	return suggest_closest(names, n, q, best, 1) ? best[0] : NULL;
}

/* "did you mean" for @name under @prefix: a sibling, or a key elsewhere. */
static void report_unknown(struct walk *w, const yaml_node_t *kn, const char *prefix,
			   const char *name, const char *full)
{
	const char *names[64], *best;
	char where[KEY_MAX + 32], valid[512];
	size_t n = cfg_children(prefix, names, 64), len = 0;

	where_at(w, kn, where, sizeof(where));
	best = closest(names, n, name);
	if (best) {
		report(w->L, where, full, "unknown key; did you mean '%s'?", best);
		return;
	}
	/* The right name in the wrong section ("frequency" under probes). */
	for (size_t i = 0; i < cfg_nkeys; i++) {
		const char *dot = strrchr(cfg_keys[i].key, '.');

		if (dot && !strcmp(dot + 1, name)) {
			report(w->L, where, full, "unknown key; did you mean %s?", cfg_keys[i].key);
			return;
		}
	}
	valid[0] = '\0';
	for (size_t i = 0; i < n && len < sizeof(valid); i++)
		len += (size_t)snprintf(valid + len, sizeof(valid) - len, "%s%s", i ? ", " : "",
					names[i]);
	report(w->L, where, full, "unknown key; valid here: %s", valid);
}

static int walk_mapping(struct walk *w, yaml_node_t *map, const char *prefix);

/* One pair of a section's mapping. */
static int walk_pair(struct walk *w, yaml_node_t *map, yaml_node_pair_t *p, const char *prefix)
{
	yaml_node_t *kn = yaml_document_get_node(w->doc, p->key);
	yaml_node_t *vn = yaml_document_get_node(w->doc, p->value);
	char where[KEY_MAX + 32], full[KEY_MAX];
	const struct cfg_key *k;
	const char *name;

	where_at(w, kn, where, sizeof(where));
	if (kn->type != YAML_SCALAR_NODE || has_nul(kn)) {
		report(w->L, where, *prefix ? prefix : NULL, "keys must be strings");
		return 0;
	}
	name = scalar(kn);
	if (!*prefix && !strcmp(name, "environments")) {
		if (w->kind == CFG_FROM_ENV)
			report(w->L, where, "environments", "environments cannot be nested");
		return 0;
	}
	if ((size_t)snprintf(full, sizeof(full), "%s%s%s", prefix, *prefix ? "." : "", name) >=
	    sizeof(full)) {
		report(w->L, where, NULL, "key too long");
		return 0;
	}
	/* A duplicate shadows the first in YAML parsers that allow it: refuse. */
	for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
		yaml_node_t *prev = yaml_document_get_node(w->doc, q->key);

		if (prev->type == YAML_SCALAR_NODE && !strcmp(scalar(prev), name)) {
			report(w->L, where, full, "duplicate key (first at line %u)",
			       node_line(prev));
			return 0;
		}
	}
	k = cfg_key_find(full);
	if (k)
		return apply_key(w, k, kn, vn);
	if (!cfg_is_section(full)) {
		report_unknown(w, kn, prefix, name, full);
		return 0;
	}
	if (vn->type == YAML_MAPPING_NODE)
		return walk_mapping(w, vn, full);
	if (!is_null(vn)) {
		where_at(w, vn, where, sizeof(where));
		report(w->L, where, full, "expected a mapping of keys, got %s", node_kind(vn));
	}
	return 0;
}

static int walk_mapping(struct walk *w, yaml_node_t *map, const char *prefix)
{
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top && !w->L->stopped; p++) {
		int err = walk_pair(w, map, p, prefix);

		if (err)
			return err;
	}
	return 0;
}

/* Environment names are words: they travel through --env and SONDE_ENV. */
static bool env_name_ok(const char *s)
{
	static const char ok[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";

	return *s && strspn(s, ok) == strlen(s);
}

/*
 * The environments section: apply the one asked for, and check every
 * other one too (in @scratch), so a typo in production's section fails
 * the check of dev's.
 */
static int walk_environments(struct walk *w, yaml_node_t *root, struct agent_config *scratch)
{
	yaml_node_t *kn = NULL, *envs = NULL;
	char where[KEY_MAX + 32];
	const char *names[64], *best[1];
	size_t nnames = 0;
	bool found = false;
	int err = 0;

	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(w->doc, p->key);

		if (k->type == YAML_SCALAR_NODE && !strcmp(scalar(k), "environments")) {
			kn = k;
			envs = yaml_document_get_node(w->doc, p->value);
			break;
		}
	}
	if (envs && !is_null(envs) && envs->type != YAML_MAPPING_NODE) {
		where_at(w, envs, where, sizeof(where));
		report(w->L, where, "environments",
		       "expected a mapping of environment names, got %s", node_kind(envs));
		envs = NULL;
	}
	if (envs && envs->type == YAML_MAPPING_NODE) {
		for (yaml_node_pair_t *p = envs->data.mapping.pairs.start;
		     p < envs->data.mapping.pairs.top && !w->L->stopped && !err; p++) {
			yaml_node_t *ek = yaml_document_get_node(w->doc, p->key);
			yaml_node_t *ev = yaml_document_get_node(w->doc, p->value);
			struct walk sub = *w;
			char key[KEY_MAX];
			bool dup = false;

			where_at(w, ek, where, sizeof(where));
			if (ek->type != YAML_SCALAR_NODE || has_nul(ek) ||
			    !env_name_ok(scalar(ek))) {
				report(w->L, where, "environments",
				       "environment names are words of letters, digits, '_', '.', "
				       "'-'");
				continue;
			}
			snprintf(key, sizeof(key), "environments.%s", scalar(ek));
			for (size_t i = 0; i < nnames && !dup; i++)
				dup = !strcmp(names[i], scalar(ek));
			if (dup) {
				report(w->L, where, key, "duplicate environment");
				continue;
			}
			if (nnames < 64)
				names[nnames++] = scalar(ek);
			if (is_null(ev))
				ev = NULL;
			else if (ev->type != YAML_MAPPING_NODE) {
				report(w->L, where, key, "expected a mapping of keys, got %s",
				       node_kind(ev));
				continue;
			}
			if (w->L->env && !strcmp(w->L->env, scalar(ek)))
				found = true;
			else
				sub.c = scratch;
			if (ev)
				err = walk_mapping(&sub, ev, "");
		}
	}
	if (!w->L->env || found || err)
		return err;
	snprintf(where, sizeof(where), "%s:%u", w->L->file, kn ? node_line(kn) : 1);
	if (!nnames)
		report(w->L, where, "environments",
		       "unknown environment '%s' (from %s): the file defines none", w->L->env,
		       w->L->in->env ? "--env" : "SONDE_ENV");
	else if (suggest_closest(names, nnames, w->L->env, best, 1))
		report(w->L, where, "environments",
		       "unknown environment '%s' (from %s); did you mean '%s'?", w->L->env,
		       w->L->in->env ? "--env" : "SONDE_ENV", best[0]);
	else {
		char list[512];
		size_t len = 0;

		list[0] = '\0';
		for (size_t i = 0; i < nnames && len < sizeof(list); i++)
			len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
						i ? ", " : "", names[i]);
		report(w->L, where, "environments",
		       "unknown environment '%s' (from %s); the file defines %s", w->L->env,
		       w->L->in->env ? "--env" : "SONDE_ENV", list);
	}
	return 0;
}

static int load_yaml(struct loader *L, const char *text, size_t len, struct agent_config *c)
{
	yaml_parser_t parser;
	yaml_document_t doc, next;
	struct agent_config *scratch = NULL;
	struct walk w = {L, &doc, c, CFG_FROM_BASE};
	yaml_node_t *root;
	char where[KEY_MAX + 32];
	int err = 0;

	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		report_syntax(L, &parser, text, len);
		yaml_parser_delete(&parser);
		return 0;
	}
	root = yaml_document_get_root_node(&doc);
	/* A second document would be ignored by us and read by others: refuse it. */
	if (root) {
		if (!yaml_parser_load(&parser, &next)) {
			report_syntax(L, &parser, text, len);
		} else {
			yaml_node_t *r2 = yaml_document_get_root_node(&next);

			if (r2) {
				snprintf(where, sizeof(where), "%s:%zu", L->file,
					 next.start_mark.line + 1);
				report(L, where, NULL,
				       "a second YAML document: put everything in one");
			}
			yaml_document_delete(&next);
		}
	}
	if (!root || is_null(root) || L->nerr)
		goto out;
	if (root->type != YAML_MAPPING_NODE) {
		where_at(&w, root, where, sizeof(where));
		report(L, where, NULL, "expected a mapping of keys at the top, got %s",
		       node_kind(root));
		goto out;
	}
	err = walk_mapping(&w, root, "");
	if (err)
		goto out;
	err = config_new(&scratch);
	if (err)
		goto out;
	w.kind = CFG_FROM_ENV;
	err = walk_environments(&w, root, scratch);
out:
	agent_config__free(scratch);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return err;
}

/* Variables and flags */

void agent_config__env_name(const char *key, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "SONDE_");

	for (; *key && n + 1 < len; key++)
		buf[n++] =
			*key == '.' ? '_' : (char)(*key >= 'a' && *key <= 'z' ? *key - 32 : *key);
	if (n < len)
		buf[n] = '\0';
}

/* One text value (variable or flag) for @k: parse, store, origin. */
static int apply_text(struct loader *L, struct agent_config *c, const struct cfg_key *k,
		      struct cfg_value *v, enum cfg_origin_kind kind, const char *name)
{
	int err = cfg_value_store(v, c, &(struct cfg_origin){kind, 0, (char *)name});

	return err ? err : set_origin(c, k, kind, 0, name);
}

/* SONDE_* variables that are neither keys nor known names look like typos. */
static bool looks_like_key(const char *var, size_t len)
{
	const char *names[64];
	size_t n = cfg_children("", names, 64);

	for (size_t i = 0; i < n; i++) {
		char env[64];

		agent_config__env_name(names[i], env, sizeof(env));
		if (len > strlen(env) && !strncmp(var, env, strlen(env)))
			return true;
	}
	return false;
}

static void report_unknown_var(struct loader *L, const char *var)
{
	static char envs[128][KEY_MAX];
	const char *names[128], *best;
	char where[KEY_MAX + 16];
	size_t n = 0;

	for (size_t i = 0; i < cfg_nkeys && n < 128; i++) {
		agent_config__env_name(cfg_keys[i].key, envs[n], sizeof(envs[n]));
		names[n] = envs[n];
		n++;
	}
	snprintf(where, sizeof(where), "env %s", var);
	best = closest(names, n, var);
	if (best)
		report(L, where, NULL, "unknown variable; did you mean %s?", best);
	else
		report(L, where, NULL, "unknown variable (see docs/agent-config.md)");
}

static int load_environ(struct loader *L, struct agent_config *c)
{
	char *const *env = L->in->environ ? L->in->environ : environ;
	char var[KEY_MAX], why[WHY_MAX], name[KEY_MAX];
	int err = 0;

	for (; env && *env && !err && !L->stopped; env++) {
		const char *eq = strchr(*env, '=');
		const struct cfg_key *k = NULL;
		size_t len = eq ? (size_t)(eq - *env) : 0;
		struct cfg_value v;

		if (!eq || strncmp(*env, "SONDE_", 6) || len >= sizeof(var))
			continue;
		memcpy(var, *env, len);
		var[len] = '\0';
		for (size_t i = 0; i < cfg_nkeys && !k; i++) {
			agent_config__env_name(cfg_keys[i].key, name, sizeof(name));
			if (!strcmp(name, var))
				k = &cfg_keys[i];
		}
		if (!k) {
			if (looks_like_key(var, len))
				report_unknown_var(L, var);
			continue;
		}
		cfg_value_init(&v, k);
		err = cfg_value_parse_text(&v, eq + 1, why, sizeof(why));
		if (!err)
			err = apply_text(L, c, k, &v, CFG_FROM_ENVVAR, var);
		cfg_value_free(&v);
		if (err == -EINVAL) {
			char where[KEY_MAX + 16];

			snprintf(where, sizeof(where), "env %s", var);
			report(L, where, k->key, "%s", why);
			err = 0;
		}
	}
	return err;
}

/*
 * Flags: all the occurrences of one key make one value (lists append,
 * scalars take the last), stored over everything else.
 */
static int load_flags(struct loader *L, struct agent_config *c)
{
	const struct agent_config_flag *f = L->in->flags;
	char where[KEY_MAX + 16], why[WHY_MAX];
	int err = 0;

	for (size_t i = 0; i < L->in->nflags && !err && !L->stopped; i++) {
		const struct cfg_key *k = cfg_key_find(f[i].key);
		struct cfg_value v;
		bool seen = false, bad = false;

		for (size_t j = 0; j < i && !seen; j++)
			seen = !strcmp(f[j].key, f[i].key);
		if (seen)
			continue;
		snprintf(where, sizeof(where), "flag %s", f[i].flag);
		if (!k) {
			report(L, where, f[i].key, "unknown key");
			continue;
		}
		cfg_value_init(&v, k);
		for (size_t j = i; j < L->in->nflags && !err; j++) {
			if (strcmp(f[j].key, f[i].key))
				continue;
			err = cfg_value_parse_text(&v, f[j].value, why, sizeof(why));
			if (err == -EINVAL) {
				snprintf(where, sizeof(where), "flag %s", f[j].flag);
				report(L, where, k->key, "%s", why);
				bad = true;
				err = 0;
			}
		}
		if (!bad && !err)
			err = apply_text(L, c, k, &v, CFG_FROM_FLAG, f[i].flag);
		cfg_value_free(&v);
	}
	return err;
}

/* Checks across keys */

/* Where @key was set, for a message ("FILE:LINE", "env VAR", "flag F"), or NULL. */
static const char *where_set(struct loader *L, const struct agent_config *c, const char *key,
			     char *buf, size_t len)
{
	const struct cfg_origin *o = agent_config__origin(c, key);

	if (!o || o->kind == CFG_FROM_DEFAULT)
		return L->in->file ? L->in->file : NULL;
	if (o->kind == CFG_FROM_ENVVAR || o->kind == CFG_FROM_FLAG)
		snprintf(buf, len, "%s %s", o->kind == CFG_FROM_FLAG ? "flag" : "env", o->name);
	else
		snprintf(buf, len, "%s:%u", L->file, o->line);
	return buf;
}

static void check_needs(struct loader *L, const struct agent_config *c, bool enabled,
			const char *enabled_key, bool has, const char *needed_key, const char *what)
{
	char where[KEY_MAX + 32];

	if (enabled && !has)
		report(L, where_set(L, c, enabled_key, where, sizeof(where)), enabled_key,
		       "true needs %s (%s)", needed_key, what);
}

/*
 * An exporter whose destination was given (--pyroscope URL, --listen
 * ADDR, SONDE_EXPORTERS_FILES_DIRECTORY, a file's url: ...) is on, unless
 * its enabled key was set too: "enabled" takes the destination's origin.
 */
static int imply_enabled(struct agent_config *c)
{
	static const struct {
		const char *dest, *enabled;
		size_t off;
	} implied[] = {
		{"exporters.listen.address", "exporters.listen.enabled",
		 offsetof(struct agent_config, exporters.listen.enabled)},
		{"exporters.otlp.endpoint", "exporters.otlp.enabled",
		 offsetof(struct agent_config, exporters.otlp.enabled)},
		{"exporters.pyroscope.url", "exporters.pyroscope.enabled",
		 offsetof(struct agent_config, exporters.pyroscope.enabled)},
		{"exporters.statsd.address", "exporters.statsd.enabled",
		 offsetof(struct agent_config, exporters.statsd.enabled)},
		{"exporters.files.directory", "exporters.files.enabled",
		 offsetof(struct agent_config, exporters.files.enabled)},
		{"probes.uprobe.functions", "probes.uprobe.enabled",
		 offsetof(struct agent_config, probes.uprobe.enabled)},
	};

	for (size_t i = 0; i < sizeof(implied) / sizeof(implied[0]); i++) {
		const struct cfg_key *dk = cfg_key_find(implied[i].dest);
		const struct cfg_key *ek = cfg_key_find(implied[i].enabled);
		const struct cfg_origin *d = &c->origins[cfg_key_index(dk)];
		int err;

		if (d->kind == CFG_FROM_DEFAULT ||
		    c->origins[cfg_key_index(ek)].kind != CFG_FROM_DEFAULT)
			continue;
		*(bool *)((char *)c + implied[i].off) = true;
		err = set_origin(c, ek, d->kind, d->line, d->name);
		if (err)
			return err;
	}
	return 0;
}

static void check_config(struct loader *L, const struct agent_config *c)
{
	const struct agent_config *x = c;
	char where[KEY_MAX + 32];

	if (x->probes.cpu.stack_size % 8)
		report(L, where_set(L, c, "probes.cpu.stack_size", where, sizeof(where)),
		       "probes.cpu.stack_size", "%llu bytes is not a multiple of 8",
		       (unsigned long long)x->probes.cpu.stack_size);
	check_needs(L, c, x->probes.uprobe.enabled, "probes.uprobe.enabled",
		    x->probes.uprobe.functions.n, "probes.uprobe.functions",
		    "TARGET:FUNCTION, e.g. libc:malloc");
	check_needs(L, c, x->exporters.otlp.enabled, "exporters.otlp.enabled",
		    *x->exporters.otlp.endpoint, "exporters.otlp.endpoint",
		    "a URL, e.g. http://collector:4318");
	check_needs(L, c, x->exporters.pyroscope.enabled, "exporters.pyroscope.enabled",
		    *x->exporters.pyroscope.url, "exporters.pyroscope.url",
		    "a URL, e.g. http://pyroscope:4040");
	if (!x->probes.cpu.enabled && !x->probes.offcpu.enabled && !x->probes.alloc.enabled &&
	    !x->probes.faults.enabled && !x->probes.uprobe.enabled && !x->probes.tls.enabled)
		report(L, where_set(L, c, "probes.cpu.enabled", where, sizeof(where)), "probes",
		       "no probe is enabled (set probes.NAME.enabled: true for one of cpu, "
		       "offcpu, alloc, faults, uprobe, tls)");
	if (!x->exporters.listen.enabled && !x->exporters.otlp.enabled &&
	    !x->exporters.pyroscope.enabled && !x->exporters.statsd.enabled &&
	    !x->exporters.files.enabled)
		report(L, L->in->file, "exporters",
		       "no exporter is enabled: the profiles would go nowhere (set "
		       "exporters.NAME.enabled: true for one of listen, otlp, pyroscope, statsd, "
		       "files)");
}

int agent_config__load(const struct agent_config_input *in, struct agent_config **out)
{
	struct loader L = {.in = in, .file = in->file ? in->file : "(no file)"};
	struct agent_config *c = NULL;
	char *text = NULL;
	const char *env = in->env;
	size_t len = 0;
	int err;

	if (!env) {
		const char *e = getenv("SONDE_ENV");

		if (in->environ) {
			e = NULL;
			for (char *const *p = in->environ; *p; p++)
				if (!strncmp(*p, "SONDE_ENV=", 10))
					e = *p + 10;
		}
		env = e && *e ? e : NULL;
	}
	L.env = env;
	err = config_new(&c);
	if (err)
		return err;
	if (in->file) {
		c->file = strdup(in->file);
		if (!c->file) {
			err = -ENOMEM;
			goto err_free;
		}
		if (in->text) {
			err = load_yaml(&L, in->text, in->text_len, c);
		} else {
			err = read_file(&L, &text, &len);
			if (!err)
				err = load_yaml(&L, text, len, c);
		}
		if (err)
			goto err_free;
	} else if (env) {
		report(&L, NULL, "environments",
		       "environment '%s' asked for (%s) but no configuration file given (--config "
		       "FILE)",
		       env, in->env ? "--env" : "SONDE_ENV");
	}
	if (env && !(c->env = strdup(env))) {
		err = -ENOMEM;
		goto err_free;
	}
	err = load_environ(&L, c);
	if (!err)
		err = load_flags(&L, c);
	if (err)
		goto err_free;
	if (!L.nerr)
		err = imply_enabled(c);
	if (err)
		goto err_free;
	if (!L.nerr)
		check_config(&L, c);
	if (L.nerr) {
		err = -EINVAL;
		goto err_free;
	}
	free(text);
	*out = c;
	return 0;

err_free:
	free(text);
	agent_config__free(c);
	return err;
}

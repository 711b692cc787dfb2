// SPDX-License-Identifier: MIT
/* Values of each schema type: parse, store into the config, format, free. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/suggest.h"
#include "base/utf8.h"
#include "config/scalar.h"
#include "config/schema.h"

void cfg_value_init(struct cfg_value *v, const struct cfg_key *k)
{
	memset(v, 0, sizeof(*v));
	v->k = k;
}

static void strlist_free(struct cfg_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static void regexlist_free(struct cfg_regexlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].src);
		regfree(&l->v[i].re);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static void cidrlist_free(struct cfg_cidrlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].src);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static void map_free(struct cfg_map *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].key);
		free(m->v[i].value);
		free(m->v[i].origin.name);
	}
	free(m->v);
	memset(m, 0, sizeof(*m));
}

/* Free what @type keeps at @p (a field or a cfg_value's union). */
static void free_as(enum cfg_type type, void *p)
{
	switch (type) {
	case CFG_STRING:
		free(*(char **)p);
		*(char **)p = NULL;
		break;
	case CFG_STRLIST:
		strlist_free(p);
		break;
	case CFG_UINTLIST:
		free(((struct cfg_uintlist *)p)->v);
		memset(p, 0, sizeof(struct cfg_uintlist));
		break;
	case CFG_REGEXLIST:
		regexlist_free(p);
		break;
	case CFG_CIDRLIST:
		cidrlist_free(p);
		break;
	case CFG_MAP:
		map_free(p);
		break;
	default:
		break;
	}
}

void cfg_value_free(struct cfg_value *v)
{
	free_as(v->k->type, &v->str);
}

void cfg_field_free(const struct cfg_key *k, struct agent_config *c)
{
	free_as(k->type, cfg_field(k, c));
}

/* Make room for one more element of @size in *@v holding @n. */
static int grow(void *vp, size_t n, size_t size)
{
	void **v = vp;
	void *p = realloc(*v, (n + 1) * size);

	if (!p)
		return -ENOMEM;
	*v = p;
	return 0;
}

/* Elements in the value so far (lists, maps). */
static size_t count(const struct cfg_value *v)
{
	switch (v->k->type) {
	case CFG_STRLIST:
		return v->sl.n;
	case CFG_UINTLIST:
		return v->ul.n;
	case CFG_REGEXLIST:
		return v->rl.n;
	case CFG_CIDRLIST:
		return v->cl.n;
	case CFG_MAP:
		return v->map.n;
	default:
		return 0;
	}
}

/* A number in [min, max] of @k's type (integers, durations, sizes). */
static int parse_number(const struct cfg_key *k, const char *s, uint64_t *out, char *why,
			size_t len)
{
	char desc[160];
	int err;

	if (k->type == CFG_DURATION)
		err = scalar_parse_duration(s, out);
	else if (k->type == CFG_SIZE)
		err = scalar_parse_size(s, out);
	else
		err = scalar_parse_u64(s, out);
	if (err) {
		uint64_t ignored;

		if (k->type == CFG_DURATION && !scalar_parse_u64(s, &ignored))
			snprintf(why, len, "'%s' needs a unit (e.g. %ss or %sms)", s, s, s);
		else {
			cfg_describe(k, desc, sizeof(desc));
			snprintf(why, len, "expected %s, got '%s'", desc, s);
		}
		return -EINVAL;
	}
	if (*out < k->min || *out > k->max) {
		char lo[32], hi[32];

		if (k->type == CFG_DURATION) {
			scalar_format_duration(k->min, lo, sizeof(lo));
			scalar_format_duration(k->max, hi, sizeof(hi));
		} else if (k->type == CFG_SIZE) {
			scalar_format_size(k->min, lo, sizeof(lo));
			scalar_format_size(k->max, hi, sizeof(hi));
		} else {
			snprintf(lo, sizeof(lo), "%llu", (unsigned long long)k->min);
			snprintf(hi, sizeof(hi), "%llu", (unsigned long long)k->max);
		}
		snprintf(why, len, "%s is out of range (%s to %s)", s, lo, hi);
		return -EINVAL;
	}
	return 0;
}

static int parse_enum(const struct cfg_key *k, const char *s, int *out, char *why, size_t len)
{
	const char *best[1];
	char desc[160];
	size_t n = 0;

	for (int i = 0; k->names[i]; i++) {
		if (!strcmp(k->names[i], s)) {
			*out = i;
			return 0;
		}
		n++;
	}
	cfg_describe(k, desc, sizeof(desc));
	if (suggest_closest(k->names, n, s, best, 1))
		snprintf(why, len, "expected %s, got '%s' (did you mean '%s'?)", desc, s, best[0]);
	else
		snprintf(why, len, "expected %s, got '%s'", desc, s);
	return -EINVAL;
}

static int add_regex(struct cfg_regexlist *l, const char *s, char *why, size_t len)
{
	struct cfg_regex *r;
	int err;

	if (!*s) {
		snprintf(why, len, "an empty regex matches everything");
		return -EINVAL;
	}
	if (grow(&l->v, l->n, sizeof(*l->v)))
		return -ENOMEM;
	r = &l->v[l->n];
	err = regcomp(&r->re, s, REG_EXTENDED);
	if (err) {
		char msg[128];

		/* glibc's regcomp() frees what it built when it fails. */
		regerror(err, &r->re, msg, sizeof(msg));
		snprintf(why, len, "bad regex '%s': %s", s, msg);
		return -EINVAL;
	}
	r->src = strdup(s);
	if (!r->src) {
		regfree(&r->re);
		return -ENOMEM;
	}
	l->n++;
	return 0;
}

static int add_cidr(struct cfg_cidrlist *l, const char *s, char *why, size_t len)
{
	struct cfg_cidr c;
	char hint[64] = "";

	if (scalar_parse_cidr(s, &c, hint, sizeof(hint))) {
		if (*hint)
			snprintf(why, len, "'%s' has host bits set: did you mean '%s'?", s, hint);
		else
			snprintf(why, len,
				 "expected a CIDR block (e.g. 10.0.0.0/8, ::1/128), got '%s'", s);
		return -EINVAL;
	}
	if (grow(&l->v, l->n, sizeof(*l->v)))
		return -ENOMEM;
	c.src = strdup(s);
	if (!c.src)
		return -ENOMEM;
	l->v[l->n++] = c;
	return 0;
}

/* Set @key to @val in @m, replacing an entry of that key. */
static int map_set(struct cfg_map *m, const char *key, const char *val)
{
	char *k = strdup(key), *v = strdup(val);
	size_t i;

	if (!k || !v)
		goto err_free;
	for (i = 0; i < m->n && strcmp(m->v[i].key, key); i++)
		;
	if (i == m->n) {
		if (grow(&m->v, m->n, sizeof(*m->v)))
			goto err_free;
		memset(&m->v[m->n++], 0, sizeof(m->v[0]));
	}
	free(m->v[i].key);
	free(m->v[i].value);
	m->v[i].key = k;
	m->v[i].value = v;
	return 0;

err_free:
	free(k);
	free(v);
	return -ENOMEM;
}

int cfg_value_add(struct cfg_value *v, const char *mkey, const char *s, char *why, size_t len)
{
	const struct cfg_key *k = v->k;
	uint64_t num;
	char *copy;
	int err;

	why[0] = '\0';
	/*
	 * YAML, OTLP and pprof strings are UTF-8: a flag's or a variable's
	 * bytes that are not would not load back or export.
	 */
	if (!utf8_valid(s) || (mkey && !utf8_valid(mkey))) {
		snprintf(why, len, "not valid UTF-8");
		return -EINVAL;
	}
	if (count(v) >= CFG_LIST_MAX) {
		snprintf(why, len, "more than %d entries", CFG_LIST_MAX);
		return -EINVAL;
	}
	switch (k->type) {
	case CFG_STRING:
		if (k->check && k->check(s, why, len))
			return -EINVAL;
		copy = strdup(s);
		if (!copy)
			return -ENOMEM;
		free(v->str);
		v->str = copy;
		return 0;
	case CFG_BOOL:
		if (scalar_parse_bool(s, &v->b)) {
			snprintf(why, len, "expected true or false, got '%s'", s);
			return -EINVAL;
		}
		return 0;
	case CFG_UINT:
	case CFG_DURATION:
	case CFG_SIZE:
		err = parse_number(k, s, &num, why, len);
		if (err)
			return err;
		if (k->type == CFG_UINT)
			v->u = (unsigned int)num;
		else
			v->u64 = num;
		return 0;
	case CFG_ENUM:
		return parse_enum(k, s, &v->e, why, len);
	case CFG_STRLIST:
		if (k->check && k->check(s, why, len))
			return -EINVAL;
		if (grow(&v->sl.v, v->sl.n, sizeof(char *)))
			return -ENOMEM;
		v->sl.v[v->sl.n] = strdup(s);
		if (!v->sl.v[v->sl.n])
			return -ENOMEM;
		v->sl.n++;
		return 0;
	case CFG_UINTLIST:
		err = parse_number(k, s, &num, why, len);
		if (err)
			return err;
		if (grow(&v->ul.v, v->ul.n, sizeof(unsigned int)))
			return -ENOMEM;
		v->ul.v[v->ul.n++] = (unsigned int)num;
		return 0;
	case CFG_REGEXLIST:
		return add_regex(&v->rl, s, why, len);
	case CFG_CIDRLIST:
		return add_cidr(&v->cl, s, why, len);
	case CFG_MAP:
		if (!mkey) {
			const char *eq = strchr(s, '=');
			char *key;

			if (!eq || eq == s) {
				snprintf(why, len, "expected KEY=VALUE, got '%s'", s);
				return -EINVAL;
			}
			key = strndup(s, (size_t)(eq - s));
			if (!key)
				return -ENOMEM;
			err = cfg_value_add(v, key, eq + 1, why, len);
			free(key);
			return err;
		}
		if (k->check && k->check(mkey, why, len))
			return -EINVAL;
		return map_set(&v->map, mkey, s);
	}
	return -EINVAL;
}

static bool is_list(enum cfg_type t)
{
	return t == CFG_STRLIST || t == CFG_UINTLIST || t == CFG_REGEXLIST || t == CFG_CIDRLIST ||
	       t == CFG_MAP;
}

int cfg_value_parse_text(struct cfg_value *v, const char *s, char *why, size_t len)
{
	char *item;
	size_t n = 0;
	int err = 0;

	if (!is_list(v->k->type))
		return cfg_value_add(v, NULL, s, why, len);
	if (!*s)
		return 0;
	item = malloc(strlen(s) + 1);
	if (!item)
		return -ENOMEM;
	/* Items at unescaped commas; "\," is a comma, "\\" a backslash. */
	for (const char *p = s;; p++) {
		if (*p == '\\' && (p[1] == ',' || p[1] == '\\')) {
			item[n++] = *++p;
			continue;
		}
		if (*p && *p != ',') {
			item[n++] = *p;
			continue;
		}
		item[n] = '\0';
		err = cfg_value_add(v, NULL, item, why, len);
		n = 0;
		if (err || !*p)
			break;
	}
	free(item);
	return err;
}

static int copy_origin(struct cfg_origin *dst, const struct cfg_origin *src)
{
	char *name = src->name ? strdup(src->name) : NULL;

	if (src->name && !name)
		return -ENOMEM;
	free(dst->name);
	*dst = *src;
	dst->name = name;
	return 0;
}

/* The size of a field of @t in struct agent_config (and in a cfg_value). */
static size_t field_size(enum cfg_type t)
{
	switch (t) {
	case CFG_BOOL:
		return sizeof(bool);
	case CFG_UINT:
		return sizeof(unsigned int);
	case CFG_DURATION:
	case CFG_SIZE:
		return sizeof(uint64_t);
	case CFG_ENUM:
		return sizeof(int);
	case CFG_STRING:
		return sizeof(char *);
	case CFG_STRLIST:
		return sizeof(struct cfg_strlist);
	case CFG_UINTLIST:
		return sizeof(struct cfg_uintlist);
	case CFG_REGEXLIST:
		return sizeof(struct cfg_regexlist);
	case CFG_CIDRLIST:
		return sizeof(struct cfg_cidrlist);
	case CFG_MAP:
		return sizeof(struct cfg_map);
	}
	return 0;
}

int cfg_value_store(struct cfg_value *v, struct agent_config *c, const struct cfg_origin *origin)
{
	const struct cfg_key *k = v->k;
	void *field = cfg_field(k, c);
	struct cfg_map *dst = field;
	int err;

	if (k->type != CFG_MAP) {
		/* Replace: the field's old value goes, the new one moves in. */
		free_as(k->type, field);
		memcpy(field, &v->str, field_size(k->type));
		memset(&v->str, 0, sizeof(*v) - offsetof(struct cfg_value, str));
		return 0;
	}
	/* Maps merge: each entry replaces the same key, or is added. */
	for (size_t i = 0; i < v->map.n; i++) {
		size_t j;

		err = map_set(dst, v->map.v[i].key, v->map.v[i].value);
		if (err)
			return err;
		for (j = 0; strcmp(dst->v[j].key, v->map.v[i].key); j++)
			;
		err = copy_origin(&dst->v[j].origin, origin);
		if (err)
			return err;
	}
	cfg_value_free(v);
	return 0;
}

/*
 * Characters YAML would read back as something else (line breaks, a BOM)
 * or not at all (the non-characters; the C1 controls are cfg_quote()'s).
 */
static const struct {
	const char *utf8, *escape;
} yaml_specials[] = {
	{"\xc2\x85", "\\N"},	     {"\xe2\x80\xa8", "\\L"},	  {"\xe2\x80\xa9", "\\P"},
	{"\xef\xbb\xbf", "\\uFEFF"}, {"\xef\xbf\xbe", "\\uFFFE"}, {"\xef\xbf\xbf", "\\uFFFF"},
};

/* The length of a special sequence at @s, its escape in *@escape; or 0. */
static size_t yaml_special(const char *s, const char **escape)
{
	for (size_t i = 0; i < sizeof(yaml_specials) / sizeof(yaml_specials[0]); i++) {
		size_t n = strlen(yaml_specials[i].utf8);

		if (!strncmp(s, yaml_specials[i].utf8, n)) {
			*escape = yaml_specials[i].escape;
			return n;
		}
	}
	return 0;
}

void cfg_quote(const char *s, FILE *f)
{
	fputc('"', f);
	while (*s) {
		unsigned char ch = (unsigned char)*s;
		const char *escape;
		size_t n = yaml_special(s, &escape);

		if (n) {
			fputs(escape, f);
			s += n;
			continue;
		}
		/* U+0080-U+009F: YAML allows no C1 control in a stream. */
		if (ch == 0xc2 && (unsigned char)s[1] >= 0x80 && (unsigned char)s[1] <= 0x9f) {
			fprintf(f, "\\x%02x", (unsigned char)s[1]);
			s += 2;
			continue;
		}
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch == '\n')
			fputs("\\n", f);
		else if (ch == '\t')
			fputs("\\t", f);
		else if (ch < 0x20 || ch == 0x7f)
			fprintf(f, "\\x%02x", ch);
		else
			fputc(ch, f);
		s++;
	}
	fputc('"', f);
}

void cfg_field_format(const struct cfg_key *k, const struct agent_config *c, bool redact_values,
		      FILE *f)
{
	const void *field = cfg_cfield(k, c);
	char buf[32];
	size_t n = 0;

	switch (k->type) {
	case CFG_STRING:
		cfg_quote(*(char *const *)field ? *(char *const *)field : "", f);
		return;
	case CFG_BOOL:
		fputs(*(const bool *)field ? "true" : "false", f);
		return;
	case CFG_UINT:
		fprintf(f, "%u", *(const unsigned int *)field);
		return;
	case CFG_DURATION:
		scalar_format_duration(*(const uint64_t *)field, buf, sizeof(buf));
		fputs(buf, f);
		return;
	case CFG_SIZE:
		scalar_format_size(*(const uint64_t *)field, buf, sizeof(buf));
		fputs(buf, f);
		return;
	case CFG_ENUM:
		fputs(k->names[*(const int *)field], f);
		return;
	case CFG_MAP: {
		const struct cfg_map *m = field;

		fputc('{', f);
		for (size_t i = 0; i < m->n; i++) {
			fputs(i ? ", " : "", f);
			cfg_quote(m->v[i].key, f);
			fputs(": ", f);
			cfg_quote(redact_values ? "<redacted>" : m->v[i].value, f);
		}
		fputc('}', f);
		return;
	}
	case CFG_STRLIST:
		n = ((const struct cfg_strlist *)field)->n;
		break;
	case CFG_UINTLIST:
		n = ((const struct cfg_uintlist *)field)->n;
		break;
	case CFG_REGEXLIST:
		n = ((const struct cfg_regexlist *)field)->n;
		break;
	case CFG_CIDRLIST:
		n = ((const struct cfg_cidrlist *)field)->n;
		break;
	}
	fputc('[', f);
	for (size_t i = 0; i < n; i++) {
		fputs(i ? ", " : "", f);
		if (k->type == CFG_STRLIST)
			cfg_quote(((const struct cfg_strlist *)field)->v[i], f);
		else if (k->type == CFG_UINTLIST)
			fprintf(f, "%u", ((const struct cfg_uintlist *)field)->v[i]);
		else if (k->type == CFG_REGEXLIST)
			cfg_quote(((const struct cfg_regexlist *)field)->v[i].src, f);
		else
			cfg_quote(((const struct cfg_cidrlist *)field)->v[i].src, f);
	}
	fputc(']', f);
}

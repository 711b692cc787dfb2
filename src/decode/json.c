// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "decode/json.h"

struct jsonx {
	struct dmem *mem;
	yajl_alloc_funcs afs;
	yajl_handle h;
	const struct jsonx_ops *ops;
	void *ctx;
	size_t max_string;
	struct json_path path;
	unsigned int real_depth; /* nesting seen by yajl, beyond JSON_DEPTH_MAX too */
	bool failed;
	/* The filter in front of yajl. */
	bool in_str;
	bool dropping;
	bool cut; /* the string being lexed was cut */
	unsigned int esc_rem;
	size_t str_len;
	unsigned int nest;
	unsigned int scalar_run;
	uint64_t truncated;
};

static void emit(struct jsonx *j, const struct json_value *v)
{
	if (j->ops->value)
		j->ops->value(j->ctx, &j->path, v);
}

/* After a complete value: advance the array index, or end the document. */
static void value_done(struct jsonx *j)
{
	if (j->real_depth == 0) {
		if (j->ops->doc_end)
			j->ops->doc_end(j->ctx);
		return;
	}
	if (j->real_depth <= JSON_DEPTH_MAX && j->path.f[j->path.depth - 1].array)
		j->path.f[j->path.depth - 1].index++;
}

static int scalar(struct jsonx *j, struct json_value *v)
{
	emit(j, v);
	value_done(j);
	return 1;
}

static int cb_null(void *ctx)
{
	struct json_value v = {.type = JSON_NULL};

	return scalar(ctx, &v);
}

static int cb_bool(void *ctx, int b)
{
	struct json_value v = {.type = JSON_BOOL, .b = b};

	return scalar(ctx, &v);
}

static int cb_number(void *ctx, const char *s, size_t len)
{
	struct json_value v = {.type = JSON_NUMBER};
	char tmp[JSON_SCALAR_MAX + 1];
	char *end;

	/* The filter keeps numbers short: a token is at most JSON_SCALAR_MAX. */
	if (len > JSON_SCALAR_MAX)
		len = JSON_SCALAR_MAX;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	errno = 0;
	v.i = strtoll(tmp, &end, 10);
	v.is_int = !*end && !errno;
	v.d = strtod(tmp, NULL);
	/* Out of int64's range (or NaN): saturate, converting would be undefined. */
	if (!v.is_int)
		v.i = v.d >= 9.2e18 ? INT64_MAX : v.d > -9.2e18 ? (int64_t)v.d : INT64_MIN;
	v.s = s;
	v.len = len;
	return scalar(ctx, &v);
}

static int cb_string(void *ctx, const unsigned char *s, size_t len)
{
	struct jsonx *j = ctx;
	struct json_value v = {.type = JSON_STRING, .s = (const char *)s, .len = len};

	v.truncated = j->cut;
	j->cut = false;
	return scalar(j, &v);
}

static int cb_key(void *ctx, const unsigned char *s, size_t len)
{
	struct jsonx *j = ctx;
	struct json_frame *f;

	j->cut = false;
	if (j->real_depth > JSON_DEPTH_MAX || !j->path.depth)
		return 1;
	f = &j->path.f[j->path.depth - 1];
	if (len >= JSON_KEY_MAX)
		len = JSON_KEY_MAX - 1;
	memcpy(f->key, s, len);
	f->key[len] = '\0';
	f->keylen = (uint8_t)len;
	return 1;
}

static int open_container(struct jsonx *j, bool array)
{
	struct json_value v = {.type = array ? JSON_ARRAY_START : JSON_OBJECT_START};

	emit(j, &v);
	j->real_depth++;
	if (j->real_depth > JSON_DEPTH_MAX) {
		j->path.overflow = true;
		return 1;
	}
	j->path.f[j->path.depth++] = (struct json_frame){.array = array};
	return 1;
}

static int close_container(struct jsonx *j, bool array)
{
	struct json_value v = {.type = array ? JSON_ARRAY_END : JSON_OBJECT_END};

	if (j->real_depth <= JSON_DEPTH_MAX && j->path.depth)
		j->path.depth--;
	if (j->real_depth)
		j->real_depth--;
	if (j->real_depth <= JSON_DEPTH_MAX)
		j->path.overflow = false;
	emit(j, &v);
	value_done(j);
	return 1;
}

static int cb_start_map(void *ctx)
{
	return open_container(ctx, false);
}

static int cb_end_map(void *ctx)
{
	return close_container(ctx, false);
}

static int cb_start_array(void *ctx)
{
	return open_container(ctx, true);
}

static int cb_end_array(void *ctx)
{
	return close_container(ctx, true);
}

static const yajl_callbacks callbacks = {
	.yajl_null = cb_null,
	.yajl_boolean = cb_bool,
	.yajl_number = cb_number,
	.yajl_string = cb_string,
	.yajl_start_map = cb_start_map,
	.yajl_map_key = cb_key,
	.yajl_end_map = cb_end_map,
	.yajl_start_array = cb_start_array,
	.yajl_end_array = cb_end_array,
};

static int open_handle(struct jsonx *j)
{
	j->h = yajl_alloc(&callbacks, &j->afs, j);
	if (!j->h)
		return -ENOMEM;
	yajl_config(j->h, yajl_allow_multiple_values, 1);
	/* Providers send UTF-8; checking it costs time and buys nothing here. */
	yajl_config(j->h, yajl_dont_validate_strings, 1);
	return 0;
}

struct jsonx *jsonx__new(struct dmem *m, const struct jsonx_ops *ops, void *ctx, size_t max_string)
{
	struct jsonx *j = dmem_calloc(m, 1, sizeof(*j));

	if (!j)
		return NULL;
	j->mem = m;
	j->ops = ops;
	j->ctx = ctx;
	j->max_string = max_string ? max_string : 4096;
	dmem_yajl_funcs(m, &j->afs);
	if (open_handle(j)) {
		dmem_free(m, j);
		return NULL;
	}
	return j;
}

void jsonx__free(struct jsonx *j)
{
	if (!j)
		return;
	if (j->h)
		yajl_free(j->h);
	dmem_free(j->mem, j);
}

static void reset_filter(struct jsonx *j)
{
	j->in_str = false;
	j->dropping = false;
	j->cut = false;
	j->esc_rem = 0;
	j->str_len = 0;
	j->nest = 0;
	j->scalar_run = 0;
	j->real_depth = 0;
	memset(&j->path, 0, sizeof(j->path));
}

int jsonx__reset(struct jsonx *j)
{
	yajl_free(j->h);
	j->h = NULL;
	reset_filter(j);
	j->failed = false;
	return open_handle(j);
}

bool jsonx__failed(const struct jsonx *j)
{
	return j->failed || !j->h;
}

bool jsonx__in_value(const struct jsonx *j)
{
	return j->nest || j->in_str || j->scalar_run;
}

uint64_t jsonx__truncated(const struct jsonx *j)
{
	return j->truncated;
}

static int pass(struct jsonx *j, const unsigned char *p, size_t n)
{
	if (!n || j->failed)
		return j->failed ? -EBADMSG : 0;
	if (yajl_parse(j->h, p, n) != yajl_status_ok) {
		j->failed = true;
		return -EBADMSG;
	}
	return 0;
}

/*
 * The filter: find the runs of bytes yajl may see. Inside a string past
 * max_string, bytes are skipped up to the closing quote; escapes are
 * followed so an escaped quote does not end the skip.
 */
int jsonx__feed(struct jsonx *j, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	size_t i, start = 0;

	if (jsonx__failed(j))
		return -EBADMSG;
	for (i = 0; i < len; i++) {
		unsigned char c = p[i];

		if (j->in_str) {
			if (j->esc_rem) {
				j->esc_rem = (j->esc_rem == 1 && c == 'u') ? 4 : j->esc_rem - 1;
				j->str_len++;
				continue;
			}
			if (c == '"') {
				j->in_str = false;
				if (j->dropping) {
					j->dropping = false;
					start = i;
				}
				continue;
			}
			/* Cut at a character start, or anywhere in a run of stray continuation
			 * bytes. */
			if (!j->dropping && j->str_len >= j->max_string &&
			    ((c & 0xc0) != 0x80 || j->str_len >= j->max_string + 4)) {
				if (pass(j, p + start, i - start))
					return -EBADMSG;
				j->dropping = true;
				j->cut = true;
				j->truncated++;
			}
			if (c == '\\')
				j->esc_rem = 1;
			j->str_len++;
			continue;
		}
		switch (c) {
		case '"':
			j->in_str = true;
			j->str_len = 0;
			j->scalar_run = 0;
			break;
		case '{':
		case '[':
			if (++j->nest > JSON_NEST_MAX) {
				j->failed = true;
				return -EBADMSG;
			}
			j->scalar_run = 0;
			break;
		case '}':
		case ']':
			if (j->nest)
				j->nest--;
			j->scalar_run = 0;
			break;
		case ' ':
		case '\t':
		case '\r':
		case '\n':
		case ',':
		case ':':
			j->scalar_run = 0;
			break;
		default:
			if (++j->scalar_run > JSON_SCALAR_MAX) {
				j->failed = true;
				return -EBADMSG;
			}
		}
	}
	if (!j->dropping)
		return pass(j, p + start, len - start);
	return pass(j, p + start, 0);
}

int jsonx__finish(struct jsonx *j)
{
	if (jsonx__failed(j))
		return -EBADMSG;
	/* A top-level number only ends at the end of input. */
	if (j->scalar_run && !j->nest) {
		if (yajl_complete_parse(j->h) != yajl_status_ok)
			j->failed = true;
		j->scalar_run = 0;
	}
	return j->failed || jsonx__in_value(j) ? -EBADMSG : 0;
}

bool json_path_is(const struct json_path *p, const char *pat)
{
	return json_path_is_from(p, 0, pat);
}

bool json_path_is_from(const struct json_path *p, unsigned int from, const char *pat)
{
	unsigned int d = from;

	if (p->overflow)
		return false;
	while (*pat) {
		if (*pat == '.')
			pat++;
		if (d >= p->depth)
			return false;
		if (pat[0] == '[' && pat[1] == ']') {
			if (!p->f[d].array)
				return false;
			pat += 2;
		} else {
			size_t n = strcspn(pat, ".[");

			if (p->f[d].array || p->f[d].keylen != n || memcmp(p->f[d].key, pat, n))
				return false;
			pat += n;
		}
		d++;
	}
	return d == p->depth;
}

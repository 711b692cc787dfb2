// SPDX-License-Identifier: MIT
/*
 * Incremental JSON extraction: paths, every split point, several
 * documents, strings cut at the bound (escapes and UTF-8 respected),
 * nesting and token bounds, and flat memory on long strings.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "decode/json.h"

struct rec {
	char s[8192];
	size_t n;
	unsigned int docs;
};

static void path_text(const struct json_path *p, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; i < p->depth; i++) {
		if (p->f[i].array)
			n += (size_t)snprintf(buf + n, len - n, "[%u]", p->f[i].index);
		else
			n += (size_t)snprintf(buf + n, len - n, ".%s", p->f[i].key);
	}
}

static void on_value(void *ctx, const struct json_path *p, const struct json_value *v)
{
	struct rec *r = ctx;
	char path[256];

	path_text(p, path, sizeof(path));
	switch (v->type) {
	case JSON_STRING:
		r->n += (size_t)snprintf(r->s + r->n, sizeof(r->s) - r->n, "%s=\"%.*s\"%s ", path,
					 (int)v->len, v->s, v->truncated ? "(cut)" : "");
		break;
	case JSON_NUMBER:
		r->n += (size_t)snprintf(r->s + r->n, sizeof(r->s) - r->n, "%s=%lld%s ", path,
					 (long long)v->i, v->is_int ? "" : "~");
		break;
	case JSON_BOOL:
		r->n += (size_t)snprintf(r->s + r->n, sizeof(r->s) - r->n, "%s=%s ", path,
					 v->b ? "true" : "false");
		break;
	case JSON_NULL:
		r->n += (size_t)snprintf(r->s + r->n, sizeof(r->s) - r->n, "%s=null ", path);
		break;
	case JSON_OBJECT_START:
	case JSON_ARRAY_START:
		r->n += (size_t)snprintf(r->s + r->n, sizeof(r->s) - r->n, "%s%c ", path,
					 v->type == JSON_OBJECT_START ? '{' : '[');
		break;
	case JSON_OBJECT_END:
	case JSON_ARRAY_END:
		r->n += (size_t)snprintf(r->s + r->n, sizeof(r->s) - r->n, "%s%c ", path,
					 v->type == JSON_OBJECT_END ? '}' : ']');
		break;
	}
}

static void on_doc(void *ctx)
{
	struct rec *r = ctx;

	r->docs++;
	r->n += (size_t)snprintf(r->s + r->n, sizeof(r->s) - r->n, "| ");
}

static const struct jsonx_ops ops = {.value = on_value, .doc_end = on_doc};

static int parse(const char *in, size_t k, size_t max_string, struct rec *r)
{
	struct jsonx *j = jsonx__new(NULL, &ops, r, max_string);
	int rc;

	memset(r, 0, sizeof(*r));
	cr_assert_not_null(j);
	jsonx__feed(j, in, k);
	jsonx__feed(j, in + k, strlen(in) - k);
	rc = jsonx__finish(j);
	jsonx__free(j);
	return rc;
}

static const char DOCS[] =
	"{\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"h\\u00e9 "
	"\\\"q\\\"\"},\"finish_reason\":null},{\"index\":1}],\"usage\":{\"prompt_tokens\":9,"
	"\"big\":12345678901234567890,\"f\":1.5e3,\"ok\":true}}\n"
	"{\"a\":[[1,2],[]]}  7";

Test(json, paths_and_every_split)
{
	struct rec ref, r;

	cr_assert_eq(parse(DOCS, 0, 0, &ref), 0);
	cr_assert_str_eq(
		ref.s,
		"{ .id=\"chatcmpl-1\" .choices[ .choices[0]{ .choices[0].index=0 "
		".choices[0].delta{ .choices[0].delta.content=\"h\xc3\xa9 \"q\"\" "
		".choices[0].delta} .choices[0].finish_reason=null .choices[0]} .choices[1]{ "
		".choices[1].index=1 .choices[1]} .choices] .usage{ .usage.prompt_tokens=9 "
		".usage.big=9223372036854775807~ .usage.f=1500~ .usage.ok=true .usage} } | "
		"{ .a[ .a[0][ .a[0][0]=1 .a[0][1]=2 .a[0]] .a[1][ .a[1]] .a] } | =7 | ");
	cr_assert_eq(ref.docs, 3);
	for (size_t k = 1; k < strlen(DOCS); k++) {
		cr_assert_eq(parse(DOCS, k, 0, &r), 0, "split at %zu", k);
		cr_assert_str_eq(r.s, ref.s, "split at %zu", k);
	}
}

Test(json, path_patterns)
{
	struct json_path p = {.depth = 4};

	strcpy(p.f[0].key, "choices");
	p.f[0].keylen = 7;
	p.f[1].array = true;
	p.f[1].index = 3;
	strcpy(p.f[2].key, "delta");
	p.f[2].keylen = 5;
	strcpy(p.f[3].key, "content");
	p.f[3].keylen = 7;
	cr_assert(json_path_is(&p, "choices[].delta.content"));
	cr_assert_not(json_path_is(&p, "choices[].delta"));
	cr_assert_not(json_path_is(&p, "choices.delta.content"));
	cr_assert_not(json_path_is(&p, "choices[].delta.contents"));
	cr_assert(json_path_is_from(&p, 2, "delta.content"));
	p.overflow = true;
	cr_assert_not(json_path_is(&p, "choices[].delta.content"));
}

Test(json, strings_cut_at_bound)
{
	struct rec ref, r;
	/* The cut falls in an escape and inside a 3-byte character: both kept whole. */
	const char in[] = "{\"k\":\"abcdefg\\u00e9\\\"xyz\\\\\",\"e\":\"\xe2\x82\xac\xe2\x82\xac\","
			  "\"next\":1}";

	cr_assert_eq(parse(in, 0, 8, &ref), 0);
	cr_assert_str_eq(ref.s, "{ .k=\"abcdefg\xc3\xa9\"(cut) .e=\"\xe2\x82\xac\xe2\x82\xac\" "
				".next=1 } | ");
	for (size_t k = 1; k < strlen(in); k++) {
		parse(in, k, 8, &r);
		cr_assert_str_eq(r.s, ref.s, "split at %zu", k);
	}
	cr_assert_eq(parse("{\"k\":\"0123456789\"}", 0, 4, &r), 0);
	cr_assert_str_eq(r.s, "{ .k=\"0123\"(cut) } | ");
	/* Stray continuation bytes (found by the fuzzer) are cut too, 4 bytes late at most. */
	cr_assert_eq(
		parse("{\"k\":\"\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa\"}", 0, 4, &r), 0);
	cr_assert_str_eq(r.s, "{ .k=\"\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa\"(cut) } | ");
}

Test(json, bounds_are_errors)
{
	struct rec r;
	char deep[200], num[100];

	memset(deep, '[', sizeof(deep) - 1);
	deep[sizeof(deep) - 1] = '\0';
	cr_assert_eq(parse(deep, 0, 0, &r), -EBADMSG);
	snprintf(num, sizeof(num), "{\"n\":%070d}", 1);
	cr_assert_eq(parse(num, 0, 0, &r), -EBADMSG);
	cr_assert_eq(parse("{\"a\":tru}", 0, 0, &r), -EBADMSG);
	cr_assert_eq(parse("{\"a\":1", 0, 0, &r), -EBADMSG);
	cr_assert_eq(parse("", 0, 0, &r), 0);
}

Test(json, reset_after_error)
{
	struct rec r = {0};
	struct jsonx *j = jsonx__new(NULL, &ops, &r, 0);

	cr_assert_eq(jsonx__feed(j, "{\"a\":x", 6), -EBADMSG);
	cr_assert(jsonx__failed(j));
	cr_assert_eq(jsonx__feed(j, "{}", 2), -EBADMSG);
	cr_assert_eq(jsonx__reset(j), 0);
	r.n = 0;
	r.s[0] = '\0';
	cr_assert_eq(jsonx__feed(j, "{\"b\":2}", 7), 0);
	cr_assert_str_eq(r.s, "{ .b=2 } | ");
	jsonx__free(j);
}

/* A 1 MiB string costs max_string, not 1 MiB. */
Test(json, long_string_flat_memory)
{
	struct dmem m = {0};
	struct rec r = {0};
	struct jsonx *j = jsonx__new(&m, &ops, &r, 256);
	char chunk[4096];

	memset(chunk, 'x', sizeof(chunk));
	cr_assert_eq(jsonx__feed(j, "{\"big\":\"", 8), 0);
	for (int i = 0; i < 256; i++)
		cr_assert_eq(jsonx__feed(j, chunk, sizeof(chunk)), 0);
	cr_assert_eq(jsonx__feed(j, "\",\"after\":42}", 13), 0);
	cr_assert_eq(jsonx__finish(j), 0);
	cr_assert(strstr(r.s, ".after=42"), "%s", r.s);
	cr_assert_eq(jsonx__truncated(j), 1);
	cr_assert_lt(m.peak, 8192, "peak %zu", m.peak);
	jsonx__free(j);
	cr_assert_eq(m.used, 0);
}

// SPDX-License-Identifier: MIT
/* Server-Sent Events: line endings, comments, fields, every split point, gaps. */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "decode/sse.h"

struct rec {
	char s[4096];
	size_t n;
};

static void on_data(void *ctx, const char *buf, size_t len)
{
	struct rec *r = ctx;

	r->n += (size_t)snprintf(r->s + r->n, sizeof(r->s) - r->n, "%.*s", (int)len, buf);
}

static void on_event(void *ctx, const char *type, bool had_data, bool spoiled)
{
	struct rec *r = ctx;

	r->n += (size_t)snprintf(r->s + r->n, sizeof(r->s) - r->n, "<%s%s%s>", type,
				 had_data ? "" : " nodata", spoiled ? " spoiled" : "");
}

static const struct sse_ops ops = {.data = on_data, .event = on_event};

static void parse(const char *in, size_t k, struct rec *r)
{
	struct sse s;

	memset(r, 0, sizeof(*r));
	sse_init(&s, &ops, r);
	sse_feed(&s, in, k);
	sse_feed(&s, in + k, strlen(in) - k);
	sse_finish(&s);
}

static const char STREAM[] = ": keep-alive comment\r\n"
			     "event: message_start\r\n"
			     "data: {\"a\":1}\r\n\r\n"
			     "id: 7\nretry: 100\ndata:{\"b\":\n"
			     "data:  2}\n\n"
			     "event: ping\rdata\r\r"
			     "eventually: ignored\n"
			     "data: [DONE]\n\n"
			     "data: no blank line at the end";

/* The last line never ends: its bytes came, its "\n" and its event do not. */
static const char WANT[] = "{\"a\":1}\n<message_start>{\"b\":\n 2}\n<>\n<ping>[DONE]\n<>"
			   "no blank line at the end";

Test(sse, fields_and_every_split)
{
	struct rec ref, r;

	parse(STREAM, 0, &ref);
	cr_assert_str_eq(ref.s, WANT);
	for (size_t k = 1; k < strlen(STREAM); k++) {
		parse(STREAM, k, &r);
		cr_assert_str_eq(r.s, ref.s, "split at %zu", k);
	}
}

Test(sse, gap_spoils_one_event)
{
	struct sse s;
	struct rec r = {0};

	sse_init(&s, &ops, &r);
	sse_feed(&s, "data: {\"a\":", 11);
	sse_gap(&s);
	sse_feed(&s, "lost rest\n\ndata: {\"b\":2}\n\n", 26);
	/* The spoiled event's data line never ended: no data counted for it. */
	cr_assert_str_eq(r.s, "{\"a\":< nodata spoiled>{\"b\":2}\n<>");
	cr_assert_eq(s.events, 2);
	cr_assert_eq(s.spoiled_events, 1);
}

Test(sse, long_event_type_is_cut)
{
	struct sse s;
	struct rec r = {0};
	char in[200];

	snprintf(in, sizeof(in), "event: %0100d\ndata: x\n\n", 0);
	sse_init(&s, &ops, &r);
	sse_feed(&s, in, strlen(in));
	/* "x\n" then the type cut to 63 bytes in <>. */
	cr_assert_eq(strlen(r.s), 2 + 63 + 2, "%s", r.s);
}

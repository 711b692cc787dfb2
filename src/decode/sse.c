// SPDX-License-Identifier: MIT
#include <string.h>

#include "decode/sse.h"

enum {
	SSE_LINE_START,
	SSE_NAME,
	SSE_VALUE_START,
	SSE_VALUE,
	SSE_SKIP_LINE, /* a comment, an unknown field, or the line after a gap */
};

void sse_init(struct sse *s, const struct sse_ops *ops, void *ctx)
{
	memset(s, 0, sizeof(*s));
	s->ops = ops;
	s->ctx = ctx;
}

static void dispatch(struct sse *s)
{
	s->type[s->typelen] = '\0';
	if (s->had_data || s->typelen || s->spoiled) {
		s->events++;
		if (s->spoiled)
			s->spoiled_events++;
		if (s->ops->event)
			s->ops->event(s->ctx, s->type, s->had_data, s->spoiled);
	}
	s->had_data = false;
	s->spoiled = false;
	s->typelen = 0;
}

static void data(struct sse *s, const char *p, size_t n)
{
	if (n && s->ops->data)
		s->ops->data(s->ctx, p, n);
}

static void field_begin(struct sse *s)
{
	s->is_data = s->namelen == 4 && !memcmp(s->name, "data", 4);
	s->is_event = s->namelen == 5 && !memcmp(s->name, "event", 5);
	if (s->is_event)
		s->typelen = 0;
}

/* End of a line in the given state. */
static void line_end(struct sse *s)
{
	switch (s->state) {
	case SSE_LINE_START:
		dispatch(s);
		break;
	case SSE_NAME:
		/* "data" alone on a line: an empty data line. */
		field_begin(s);
		/* fall through */
	case SSE_VALUE_START:
	case SSE_VALUE:
		if (s->is_data && !s->spoiled) {
			data(s, "\n", 1);
			s->had_data = true;
		}
		break;
	}
	s->state = SSE_LINE_START;
	s->is_data = s->is_event = false;
}

void sse_feed(struct sse *s, const char *buf, size_t len)
{
	size_t i = 0;

	while (i < len) {
		char c = buf[i];

		if (s->cr) {
			s->cr = false;
			if (c == '\n') {
				i++;
				continue;
			}
		}
		if (c == '\r' || c == '\n') {
			s->cr = c == '\r';
			line_end(s);
			i++;
			continue;
		}
		switch (s->state) {
		case SSE_LINE_START:
			s->namelen = 0;
			if (c == ':') {
				s->state = SSE_SKIP_LINE;
				break;
			}
			s->state = SSE_NAME;
			/* fall through */
		case SSE_NAME:
			if (c == ':') {
				field_begin(s);
				s->state = SSE_VALUE_START;
			} else if (s->namelen < sizeof(s->name)) {
				/* Longer names stay cut at 8 and match no field. */
				s->name[s->namelen++] = c;
			}
			break;
		case SSE_VALUE_START:
			s->state = SSE_VALUE;
			if (c == ' ')
				break;
			/* fall through */
		case SSE_VALUE: {
			/* The rest of the line at once. */
			size_t j = i;

			while (j < len && buf[j] != '\n' && buf[j] != '\r')
				j++;
			if (s->is_data && !s->spoiled) {
				data(s, buf + i, j - i);
			} else if (s->is_event) {
				size_t n = j - i;

				if (n > SSE_TYPE_MAX - 1u - s->typelen)
					n = SSE_TYPE_MAX - 1u - s->typelen;
				memcpy(s->type + s->typelen, buf + i, n);
				s->typelen += (uint8_t)n;
			}
			i = j;
			continue;
		}
		case SSE_SKIP_LINE:
			break;
		}
		i++;
	}
}

void sse_gap(struct sse *s)
{
	s->spoiled = true;
	s->cr = false;
	s->state = SSE_SKIP_LINE;
	s->is_data = s->is_event = false;
}

void sse_finish(struct sse *s)
{
	/* An event without its blank line is not dispatched (the spec's rule). */
	s->state = SSE_LINE_START;
	s->had_data = s->spoiled = false;
	s->typelen = 0;
	s->cr = false;
}

// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode/content.h"
#include "base/jsonstr.h"

void content_init(struct content *c, struct dmem *m, const struct redactor *r, size_t msg_cap,
		  size_t total_cap)
{
	memset(c, 0, sizeof(*c));
	c->mem = m;
	c->redactor = r;
	c->msg_cap = msg_cap;
	c->total_cap = total_cap;
	c->json.mem = m;
	for (unsigned int i = 0; i < CONTENT_SLOTS; i++) {
		c->slot[i].text.mem = m;
		c->slot[i].text.limit = msg_cap;
	}
}

void content_free(struct content *c)
{
	dbuf_free(&c->json);
	for (unsigned int i = 0; i < CONTENT_SLOTS; i++)
		dbuf_free(&c->slot[i].text);
}

static struct content_slot *open_slot(struct content *c, unsigned int slot, const char *role)
{
	struct content_slot *s;

	if (slot >= CONTENT_SLOTS)
		return NULL;
	s = &c->slot[slot];
	if (!s->open) {
		s->open = true;
		s->cut = false;
		s->finish[0] = '\0';
		snprintf(s->role, sizeof(s->role), "%s", role ? role : "");
	}
	return s;
}

void content_role(struct content *c, unsigned int slot, const char *s, size_t len)
{
	struct content_slot *sl = open_slot(c, slot, NULL);

	if (!sl)
		return;
	if (len >= sizeof(sl->role))
		len = sizeof(sl->role) - 1;
	memcpy(sl->role, s, len);
	sl->role[len] = '\0';
}

void content_text(struct content *c, unsigned int slot, const char *role, const char *s, size_t len,
		  bool cut)
{
	struct content_slot *sl = open_slot(c, slot, role);

	if (!sl)
		return;
	if (cut)
		sl->cut = true;
	dbuf_append(&sl->text, s, len);
	if (sl->text.cut)
		sl->cut = true;
}

void content_finish(struct content *c, unsigned int slot, const char *s, size_t len)
{
	struct content_slot *sl = open_slot(c, slot, "assistant");

	if (!sl)
		return;
	if (len >= sizeof(sl->finish))
		len = sizeof(sl->finish) - 1;
	memcpy(sl->finish, s, len);
	sl->finish[len] = '\0';
}

static int dbuf_sink(void *ctx, const char *p, size_t n)
{
	return dbuf_append(ctx, p, n) ? -ENOMEM : 0;
}

int json_escape_append(struct dbuf *b, const char *s, size_t len)
{
	return json_escape(s, len, dbuf_sink, b);
}

void content_end(struct content *c, unsigned int slot)
{
	struct dbuf red = {.mem = c->mem}, msg = {.mem = c->mem};
	struct content_slot *sl;
	const char *text;
	size_t tlen;
	int n;

	if (slot >= CONTENT_SLOTS || !c->slot[slot].open)
		return;
	sl = &c->slot[slot];
	if (sl->cut)
		c->truncated++;
	text = sl->text.p ? sl->text.p : "";
	tlen = sl->text.len;
	if (c->redactor && tlen) {
		n = redactor__apply(c->redactor, text, tlen, &red);
		if (n < 0)
			goto out;
		c->redactions += (uint32_t)n;
		text = red.p ? red.p : "";
		tlen = red.len;
	}
	if (dbuf_append(&msg, c->nmsgs ? ",{\"role\":\"" : "{\"role\":\"", c->nmsgs ? 10 : 9) ||
	    json_escape_append(&msg, sl->role, strlen(sl->role)) ||
	    dbuf_append(&msg, "\",\"parts\":[{\"type\":\"text\",\"content\":\"", 37) ||
	    json_escape_append(&msg, text, tlen) || dbuf_append(&msg, "\"}]", 3))
		goto out;
	if (sl->finish[0] && (dbuf_append(&msg, ",\"finish_reason\":\"", 18) ||
			      json_escape_append(&msg, sl->finish, strlen(sl->finish)) ||
			      dbuf_append(&msg, "\"", 1)))
		goto out;
	if (dbuf_append(&msg, "}", 1))
		goto out;
	/* Room for the brackets too, or the message is dropped. */
	if (c->total_cap && c->json.len + msg.len + 2 > c->total_cap) {
		c->truncated++;
		goto out;
	}
	if (!dbuf_append(&c->json, msg.p, msg.len))
		c->nmsgs++;
out:
	dbuf_free(&red);
	dbuf_free(&msg);
	dbuf_free(&sl->text);
	sl->open = false;
	sl->cut = false;
}

void content_end_all(struct content *c)
{
	for (unsigned int i = 0; i < CONTENT_SLOTS; i++)
		content_end(c, i);
}

char *content_take(struct content *c)
{
	char *s;

	if (!c->nmsgs)
		return NULL;
	s = malloc(c->json.len + 3);
	if (!s)
		return NULL;
	s[0] = '[';
	memcpy(s + 1, c->json.p, c->json.len);
	s[c->json.len + 1] = ']';
	s[c->json.len + 2] = '\0';
	dbuf_free(&c->json);
	c->nmsgs = 0;
	return s;
}

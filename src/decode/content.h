/* SPDX-License-Identifier: MIT */
/*
 * Captured message content (only with capture on), built as the
 * conventions' gen_ai.input.messages / gen_ai.output.messages JSON:
 * [{"role":"user","parts":[{"type":"text","content":"..."}]},...],
 * output messages with "finish_reason". Text is gathered per message in
 * a slot (several output choices stream interleaved, CONTENT_SLOTS of
 * them), redacted when the message ends, then escaped into the array.
 * Bounds: a message's text is cut at msg_cap bytes, and a message that
 * would take the array past total_cap is dropped; both are counted in
 * content.truncated.
 */
#ifndef SONDE_DECODE_CONTENT_H
#define SONDE_DECODE_CONTENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode/dmem.h"
#include "decode/redact.h"

#define CONTENT_SLOTS 4

struct content_slot {
	bool open;
	bool cut;
	char role[24];
	char finish[32];
	struct dbuf text;
};

struct content {
	struct dmem *mem;
	const struct redactor *redactor; /* NULL: no redaction */
	size_t msg_cap, total_cap;
	struct dbuf json;
	unsigned int nmsgs;
	struct content_slot slot[CONTENT_SLOTS];
	uint32_t truncated;
	uint32_t redactions;
};

void content_init(struct content *c, struct dmem *m, const struct redactor *r, size_t msg_cap,
		  size_t total_cap);
void content_free(struct content *c);

/* Set the role of message @slot (opening it). */
void content_role(struct content *c, unsigned int slot, const char *s, size_t len);
/* Append text to @slot, opening it with @role if needed; @cut: the source was cut. */
void content_text(struct content *c, unsigned int slot, const char *role, const char *s, size_t len,
		  bool cut);
void content_finish(struct content *c, unsigned int slot, const char *s, size_t len);
/* The message in @slot is complete: redact and add it (if it has text). */
void content_end(struct content *c, unsigned int slot);
void content_end_all(struct content *c);
/* The JSON array in a malloc'd string (the caller frees), or NULL if no message. */
char *content_take(struct content *c);

/* Append @s as the inside of a JSON string (escaped, invalid UTF-8 replaced). */
int json_escape_append(struct dbuf *b, const char *s, size_t len);

#endif /* SONDE_DECODE_CONTENT_H */
